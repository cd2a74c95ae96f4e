import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BLANK, noticeForm } from '../../src/audit/notice-form.js';
import { renderNoticeFormHtml, renderNoticeFormText } from '../../src/audit/notice-form-render.js';
import { loadConfig } from '../../src/config/load.js';
import { run } from '../support/client.js';
import { tempDir, writeConfig } from '../support/gateway.js';

// Runs the built CLI (npm run build, as `npm test` does).
const BIN = path.resolve('bin/outguard.js');
const outguard = (...args: string[]) => run('node', [BIN, ...args]);

const FILLED = {
  compliance: {
    contractor: { name: '株式会社サンプル', address: '東京都千代田区霞が関1-1' },
    contract: { date: '2026-04-01', title: '<b>庁内ネットワーク保守</b>業務委託契約' },
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
    expect(text).toMatch(/^電子データの保存等に関する届出書\n/);
    expect(text).toContain('2026年11月26日\n（住所） 東京都千代田区霞が関1-1\n（氏名又は法人名等） 株式会社サンプル\n');
    expect(text).toContain('2026年4月1日付け「<b>庁内ネットワーク保守</b>業務委託契約」に係る業務について');
    expect(item(text, 1)).toContain('1 電子データの保存に使用する媒体等の名称 / Media used to store the data\n   社内サーバ内ストレージ\n');
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
    expect(form.warnings.map((w) => w.split(' ')[0])).toEqual([
      'compliance.contractor.address',
      'compliance.contractor.name',
      'compliance.contract.date',
      'compliance.contract.title',
      'compliance.storage.location',
    ]);
    // the note under item 1: what outguard itself keeps, from the data dir
    const dataDir = config.dataDir;
    expect(item(text, 1)).toContain(`- ${path.join(dataDir, 'outguard.db')}（SQLite）：保留中のメール（本文・添付ファイルを 1 通ごとの鍵で AES-256-GCM 暗号化、判断から 7 日後に鍵ごと消去）`);
    expect(item(text, 1)).toContain(`- ${path.join(dataDir, 'spool')}：受信中・処理中の大きなメール`);
    expect(item(text, 1)).toContain(`- ${path.join(dataDir, 'secret.key')}：保存時暗号化の鍵`);
    expect(item(text, 1)).toContain(`- ${path.join(dataDir, 'outbox')}：配送したメール`);
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
    const blank = renderNoticeFormHtml(noticeForm(configOf({}), { date: '2026-11-26', env: {} }));
    expect(blank).toContain(`<dd id="name"><span class="blank">${BLANK}</span></dd>`);
    expect(blank).toMatch(/<tr id="item-4">[\s\S]*?<span class="box">☐<\/span> 有　<span class="box">☑<\/span> 無/);
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
});
