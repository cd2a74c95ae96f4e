import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLANK, noticeForm } from '../../src/audit/notice-form.js';
import { renderNoticeFormHtml, renderNoticeFormText } from '../../src/audit/notice-form-render.js';
import { loadConfig } from '../../src/config/load.js';
import { run } from '../support/client.js';
import { tempDir, writeConfig } from '../support/gateway.js';
import { type Browser, launchChromium } from '../support/browser.js';

// Runs the built CLI (npm run build, as `npm test` does).
const BIN = path.resolve('bin/outguard.js');
const outguard = (...args: string[]) => run('node', [BIN, ...args]);

const FILLED = {
  compliance: {
    contractor: { name: '株式会社サンプル', address: '東京都千代田区霞が関1-1' },
    contract: { date: '2026-04-01', title: '<b>庁内ネットワーク保守</b>業務委託契約', client: '〇〇省大臣官房会計課長' },
    storage: {
      medium: '社内サーバ内ストレージ',
      location: '東京都内のデータセンター（A社）',
      onlyInJapan: false,
      countries: ['米国'],
      overseasData: 'バックアップ',
      cloudServices: [{ service: 'Amazon S3', provider: 'Amazon Web Services, Inc.', location: '<script>alert(1)</script>' }],
      subcontractors: [{ name: '株式会社保守', work: 'サーバの監視' }],
    },
  },
};

const configOf = (tree: Record<string, unknown>) => loadConfig({ file: writeConfig(tree), env: {} });

/** The text of one item: from its number to the next blank line. */
const item = (text: string, n: number) => new RegExp(`^${n} [^\\n]*\\n(?:[^\\n]+\\n)*`, 'm').exec(text)![0];

describe('届出書 (notice-form)', () => {
  it('with cloud services, subcontractors and data abroad: the four items with ☑ on 有 and 日本国外', () => {
    const form = noticeForm(configOf(FILLED), { date: '2026-11-26', env: {} });
    expect(form.warnings).toEqual([]);
    const text = renderNoticeFormText(form);
    expect(text).toMatch(/^電子データの保存等に関する届出書\n\n2026年11月26日\n/);
    expect(text).toContain('2026年11月26日\n〇〇省大臣官房会計課長 殿\n\n（住所） 東京都千代田区霞が関1-1\n（氏名又は法人名等） 株式会社サンプル\n');
    expect(text).toContain('2026年4月1日付け「<b>庁内ネットワーク保守</b>業務委託契約」に係る業務について');
    expect(item(text, 1)).toContain('1 電子データの保存に使用する媒体等の名称\n   社内サーバ内ストレージ\n');
    expect(item(text, 2)).toContain('☐ 日本国内のみ　☑ 日本国外（全部又は一部）');
    expect(item(text, 2)).toContain('(国名) 米国');
    expect(item(text, 2)).toContain('(日本国外に保存する電子データの概要) バックアップ');
    expect(item(text, 3)).toContain('☑ 有　☐ 無');
    expect(item(text, 3)).toContain('ア サービス名称 Amazon S3\n       イ 利用契約先の名称 Amazon Web Services, Inc.\n');
    expect(item(text, 4)).toContain('☑ 有　☐ 無\n     (再委託先等の名称) 株式会社保守\n     (再委託先等に委託する具体的な業務内容) サーバの監視');
  });

  it('on the defaults: ☑ 日本国内のみ, ☑ 無 twice, and every missing fact blank and warned about', () => {
    const config = configOf({});
    const form = noticeForm(config, { date: '2026-11-26', env: {} });
    const text = renderNoticeFormText(form);
    expect(item(text, 2)).toContain(`   ${BLANK}\n   ☑ 日本国内のみ　☐ 日本国外（全部又は一部）\n`);
    expect(item(text, 2)).not.toContain('(国名)');
    expect(item(text, 3)).toContain('☐ 有　☑ 無');
    expect(item(text, 4)).toContain('☐ 有　☑ 無');
    expect(text).toContain(`（氏名又は法人名等） ${BLANK}`);
    expect(text).toContain(`${BLANK}付け「${BLANK}」に係る業務について`);
    // no addressee: a line to write it on, with 殿
    expect(text).toMatch(/^2026年11月26日\n＿+ 殿\n/m);
    expect(form.warnings.map((w) => w.split(' ')[0])).toEqual([
      'compliance.contract.client',
      'compliance.contractor.address',
      'compliance.contractor.name',
      'compliance.contract.date',
      'compliance.contract.title',
      'compliance.storage.location',
    ]);
    // the note under item 1: what outguard itself keeps, by file name (no path of the server)
    const dataDir = config.dataDir;
    expect(item(text, 1)).toContain('- outguard.db（SQLite データベース）：保留中のメール（本文・添付ファイルを 1 通ごとの鍵で AES-256-GCM 暗号化、判断から 7 日後に鍵ごと消去）');
    expect(item(text, 1)).toContain('- spool フォルダ：受信中・処理中の大きなメール');
    expect(item(text, 1)).toContain('- secret.key：保存時暗号化の鍵');
    expect(item(text, 1)).toContain('- 配送先フォルダ（outbox）：配送したメール');
    expect(path.isAbsolute(dataDir)).toBe(true);
    expect(text).not.toContain(dataDir);
    expect(text).not.toMatch(/(^|[\s（(])\/[a-z]/m); // no absolute path anywhere
    const keyFromEnv = renderNoticeFormText(noticeForm(config, { date: '2026-11-26', env: { OUTGUARD_SECRET: 'x'.repeat(40) } }));
    expect(keyFromEnv).toContain('環境変数 OUTGUARD_SECRET から与えられ、データディレクトリには保存しない');
    expect(keyFromEnv).not.toContain('secret.key');
  });

  it('HTML: a printable A4 form with the boxes, blanks marked, and config text escaped', () => {
    const page = renderNoticeFormHtml(noticeForm(configOf(FILLED), { date: '2026-11-26', env: {} }));
    expect(page).toMatch(/^<!doctype html>\n<html lang="ja">/);
    expect(page).toContain('@page{size:A4');
    expect(page).not.toContain('<script>alert(1)</script>');
    expect(page).not.toContain('<b>庁内');
    expect(page).toContain('「&lt;b&gt;庁内ネットワーク保守&lt;/b&gt;業務委託契約」');
    expect(page).toContain('ウ 電子データの物理的保存先に係る情報等 &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toMatch(/<tr id="item-2">[\s\S]*?<span class="box">☐<\/span> 日本国内のみ　<span class="box">☑<\/span> 日本国外/);
    expect(page).toMatch(/<tr id="item-3">[\s\S]*?<span class="box">☑<\/span> 有　<span class="box">☐<\/span> 無/);
    expect(page).toContain('<p class="addressee" id="addressee">〇〇省大臣官房会計課長 殿</p>');
    const blankConfig = configOf({});
    const blank = renderNoticeFormHtml(noticeForm(blankConfig, { date: '2026-11-26', env: {} }));
    expect(blank).toContain(`<dd id="name" class="keep"><span class="blank">${BLANK}</span></dd>`);
    expect(blank).toContain('<p class="addressee" id="addressee"><span class="fill"></span> 殿</p>');
    expect(blank).not.toContain(blankConfig.dataDir);
    expect(blank).toMatch(/<tr id="item-4">[\s\S]*?<span class="box">☐<\/span> 有　<span class="box">☑<\/span> 無/);
  });

  it('is Japanese only: no English subtitle or note on the form, on paper or as text', () => {
    const form = noticeForm(configOf(FILLED), { date: '2026-11-26', env: {} });
    const text = renderNoticeFormText(form);
    // a line with English words is English (the config's own values, such as Amazon S3, stand after a Japanese label)
    const english = text.split('\n').filter((line) => /[A-Za-z]{3,}/.test(line) && !/^\s*(ア|イ|ウ) /.test(line) && !/outguard|SQLite|AES|SHA|secret\.key|known-domains|spool|outbox/.test(line));
    expect(english).toEqual([]);
    for (const en of ['Declaration', 'Media used', 'Where the media', 'Online storage', 'Subcontracting', 'What outguard itself stores', 'declare it again']) expect(text).not.toContain(en);
    const page = renderNoticeFormHtml(form);
    expect(page).not.toContain('lang="en"');
    expect(page).not.toContain('class="en"');
  });

  it('an addressee already ending in 殿, 様 or 御中 gets no second 殿', () => {
    for (const client of ['〇〇省大臣官房会計課長 殿', '山田太郎様', '〇〇省会計課 御中']) {
      const form = noticeForm(configOf({ compliance: { contract: { client } } }), { date: '2026-11-26', env: {} });
      expect(renderNoticeFormText(form)).toContain(`\n${client}\n`);
    }
  });

  it('outguard notice-form prints the form, warns about missing facts on stderr, and refuses a bad date', async () => {
    const file = writeConfig({ compliance: { contractor: { name: '株式会社サンプル' } } });
    const out = await outguard('notice-form', '--date', '2026-11-26', '--config', file);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('（氏名又は法人名等） 株式会社サンプル');
    expect(out.stdout).toContain('4 再委託等の有無');
    expect(out.stderr).toContain(`outguard: warning: compliance.contractor.address is not set: （住所） is printed as ${BLANK}\n`);
    expect(out.stderr).not.toContain('contractor.name');

    const target = path.join(tempDir(), 'form.html');
    const html = await outguard('notice-form', '--format', 'html', '--output', target, '--config', writeConfig(FILLED));
    expect(html.code, html.stderr).toBe(0);
    expect(html.stderr).toBe('');
    expect(fs.readFileSync(target, 'utf8')).toContain('<h1>電子データの保存等に関する届出書');

    const bad = await outguard('notice-form', '--date', '2026-02-30', '--config', file);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('outguard: --date must be a date written YYYY-MM-DD, such as 2026-11-26, got "2026-02-30"\n');
  });

  describe('in Chromium at the print width of the form (A4 less the margins, 178 mm)', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser.close();
    });

    /** The lines (distinct tops) each of the words takes in the element, and under '' its height. */
    async function linesOf(page: string, selector: string, words: string[]): Promise<Record<string, number>> {
      const tab = await browser.context.newPage();
      try {
        await tab.setViewportSize({ width: Math.round((178 / 25.4) * 96), height: 1200 });
        await tab.emulateMedia({ media: 'print' });
        await tab.setContent(page);
        return await tab.evaluate(
          ({ selector, words }) => {
            // runs in the page (this project's TypeScript has no DOM types)
            const doc = (globalThis as unknown as { document: any }).document;
            const el = doc.querySelector(selector);
            const walker = doc.createTreeWalker(el, 4 /* NodeFilter.SHOW_TEXT */);
            const nodes: { data: string }[] = [];
            for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n);
            const text = nodes.map((n) => n.data).join('');
            const at = (offset: number): [unknown, number] => {
              for (const n of nodes) {
                if (offset <= n.data.length) return [n, offset];
                offset -= n.data.length;
              }
              throw new Error('offset past the end');
            };
            const out: Record<string, number> = { '': Math.round(el.getBoundingClientRect().height) };
            for (const word of words) {
              const start = text.indexOf(word);
              if (start < 0) throw new Error(`${word} is not in ${text}`);
              const range = doc.createRange();
              range.setStart(...at(start));
              range.setEnd(...at(start + word.length));
              out[word] = new Set([...range.getClientRects()].filter((r: { width: number }) => r.width > 0).map((r: { top: number }) => Math.round(r.top))).size;
            }
            return out;
          },
          { selector, words },
        );
      } finally {
        await tab.close();
      }
    }

    it('wraps a long address between its units, never inside a name such as 霞が関', async () => {
      const address = '東京都千代田区霞が関一丁目1番1号 中央合同庁舎第2号館 情報システム課分室';
      const page = renderNoticeFormHtml(noticeForm(configOf({ compliance: { ...FILLED.compliance, contractor: { name: '株式会社サンプル', address } } }), { date: '2026-11-26', env: {} }));
      const words = ['東京都', '千代田区', '霞が関一丁目1番1号', '中央合同庁舎第2号館', '情報システム課分室'];
      const lines = await linesOf(page, '#address', words);
      const oneLine = (await linesOf(page, '#name', []))['']!;
      // the address does wrap at this width (else the test would prove nothing)…
      expect(lines['']!).toBeGreaterThan(oneLine * 1.5);
      // …but each unit stays on one line
      for (const word of words) expect(lines[word], word).toBe(1);
    });
  });
});
