import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, type Dialog, type Page, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHROMIUM } from '../support/browser.js';
import { requireTool } from '../support/tools.js';
import { CAN_UNZIP, type HoldBackend, type RunningWeb, createHoldBackend, discardedOnly, sampleRelease, startWeb } from './fixture.js';

/**
 * The release page in real headless Chromium (Debian's `chromium`, driven by playwright-core;
 * no browser is ever downloaded). Skipped with a note where chromium is missing, an error under CI.
 */
const haveChromium = requireTool('chromium', 'chromium');

export const SCREENSHOT = '/tmp/outguard-release-page.png';

describe.skipIf(!haveChromium)('release page in headless Chromium', () => {
  let backend: HoldBackend;
  let web: RunningWeb;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  let dialogs: string[];

  beforeAll(async () => {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-chromium-'));
    context = await chromium.launchPersistentContext(profile, { ...CHROMIUM, viewport: { width: 1100, height: 900 }, locale: 'ja-JP' });
  });
  afterAll(async () => {
    await context?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  beforeEach(async () => {
    backend = await createHoldBackend();
    web = await startWeb(backend.actions);
    await context.clearCookies();
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    dialogs = [];
    page.on('dialog', (dialog: Dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  });
  afterEach(async () => {
    await page?.close();
    await web.close();
    await backend.close();
  });

  async function textOf(selector: string): Promise<string> {
    return ((await page.locator(selector).first().textContent()) ?? '').trim();
  }

  it('shows subject and recipients; 送信 stays disabled until all three boxes are ticked', async () => {
    const { token, id } = await backend.create();
    const res = await page.goto(web.pageUrl(token));
    expect(res?.status()).toBe(200);
    expect(await textOf('#subject')).toBe('【要確認】第3四半期 作業報告書の送付');
    expect(await page.locator('#subject').isVisible()).toBe(true);
    const recipients = await page.locator('#recipients td.addr').allTextContents();
    expect(recipients).toEqual(['suzuki@partner.example', 'sato@examp1e.co.jp', 'hanako@example.co.jp']);
    expect(await page.getByText('「example.co.jp」に類似したドメイン').isVisible()).toBe(true);
    // the inline script ran (CSP nonce accepted): the button waits for the ticks, with a message
    const send = page.locator('#send');
    expect(await send.isDisabled()).toBe(true);
    expect(await textOf('#send-status')).toContain('3つの確認項目すべてにチェックを入れると送信できます。');
    await page.locator('input[name=confirm_recipients]').check();
    await page.locator('input[name=confirm_body]').check();
    expect(await send.isDisabled()).toBe(true);
    await page.locator('input[name=confirm_attachments]').check();
    expect(await send.isEnabled()).toBe(true);
    expect(await textOf('#send-status')).toContain('3項目すべて確認済みです。送信できます。');
    await page.locator('input[name=confirm_body]').uncheck();
    expect(await send.isDisabled()).toBe(true);
    // clicking the disabled button does nothing
    await send.click({ force: true });
    await page.waitForTimeout(300);
    expect(page.url()).toBe(web.pageUrl(token));
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(backend.calls.release).toBe(0);
    expect(await backend.state(id)).toBe('held');
    expect(dialogs).toEqual([]);
  });

  it('送信 without the ticks, past the page\'s own checks: the server refuses, shows why, releases nothing', async () => {
    const { token, id } = await backend.create();
    await page.goto(web.pageUrl(token));
    await page.locator('input[name=confirm_recipients]').check();
    // a client that ignores `disabled` and `required`
    await page.evaluate(() => {
      const doc = (globalThis as unknown as { document: any }).document;
      doc.getElementById('send').disabled = false;
      for (const box of doc.querySelectorAll('input[type=checkbox]')) box.required = false;
    });
    const [response] = await Promise.all([page.waitForNavigation(), page.locator('#send').click()]);
    expect(response?.status()).toBe(422);
    expect(await textOf('#problem')).toContain('確認が完了していません');
    expect(await page.getByText('送信されていません。宛先・本文・添付ファイルの3項目すべてを確認し').isVisible()).toBe(true);
    // what was ticked stays ticked
    expect(await page.locator('input[name=confirm_recipients]').isChecked()).toBe(true);
    expect(await page.locator('input[name=confirm_body]').isChecked()).toBe(false);
    expect(backend.calls.release).toBe(0);
    expect(await backend.state(id)).toBe('held');
  });

  it.skipIf(!CAN_UNZIP)('tick the three boxes, press 送信: 送信しました', async () => {
    const { token, id } = await backend.create();
    await page.goto(web.pageUrl(token));
    await page.getByLabel('宛先を確認した').check();
    await page.getByLabel('本文を確認した').check();
    await page.getByLabel('添付ファイルの中身を確認した').check();
    const [response] = await Promise.all([page.waitForNavigation(), page.locator('#send').click()]);
    expect(response?.status()).toBe(200);
    expect(await textOf('h1')).toContain('送信しました');
    expect(await page.locator('#result').isVisible()).toBe(true);
    expect(await backend.state(id)).toBe('released');
    expect(await backend.sent(id)).toEqual(sampleRelease(id));
    // the link now works no more
    const again = await page.goto(web.pageUrl(token));
    expect(again?.status()).toBe(410);
    expect(await textOf('h1')).toContain('このリンクは使用済みです');
  });

  it('間違いだった: a confirmation page first (戻る leads back, nothing discarded), then discarded and the mistake recorded; 破棄: discarded', async () => {
    const a = await backend.create();
    await page.goto(web.pageUrl(a.token));
    await Promise.all([page.waitForNavigation(), page.locator('#mistake').click()]);
    expect(await textOf('h1')).toContain('間違いとして破棄しますか？');
    expect(await textOf('#mistake-report')).toContain('インシデントとしては扱いません');
    expect(await backend.state(a.id)).toBe('held');
    await Promise.all([page.waitForNavigation(), page.locator('#back').click()]);
    expect(page.url()).toBe(web.pageUrl(a.token));
    expect(await page.locator('#release-form').isVisible()).toBe(true);
    await Promise.all([page.waitForNavigation(), page.locator('#mistake').click()]);
    expect(await backend.state(a.id)).toBe('held');
    await Promise.all([page.waitForNavigation(), page.locator('#confirm-mistake').click()]);
    expect(await textOf('h1')).toContain('破棄しました（間違いとして記録しました）');
    expect(await backend.state(a.id)).toBe('discarded');
    expect(await backend.mistake(a.id)).toBe(true);

    const b = await backend.create();
    await page.goto(web.pageUrl(b.token));
    await Promise.all([page.waitForNavigation(), page.locator('#discard').click()]);
    expect(await textOf('h1')).toContain('破棄しました');
    expect(await textOf('h1')).not.toContain('間違い');
    expect(await backend.state(b.id)).toBe('discarded');
    expect(await backend.mistake(b.id)).toBe(false);
    expect(await backend.sent(a.id)).toEqual(discardedOnly());
    expect(await backend.sent(b.id)).toEqual(discardedOnly());
    expect(backend.calls.release).toBe(0);
  });

  it('renders a <script> subject and an <img onerror> file name as visible text; nothing runs', async () => {
    const subject = '<script>alert(1)</script>';
    const fileName = '"><img src=x onerror=alert(1)>';
    const { token } = await backend.create({
      subject,
      attachments: [{ name: fileName, content: Buffer.from('x') }],
      body: 'before </pre><script>alert(2)</script><img src=x onerror=alert(3)> after',
    });
    await page.goto(web.pageUrl(token));
    expect(await textOf('#subject')).toBe(subject);
    expect(await page.getByText(subject, { exact: true }).isVisible()).toBe(true);
    expect(await textOf('td.filename')).toBe(fileName);
    expect(await page.getByText(fileName, { exact: true }).isVisible()).toBe(true);
    expect(await textOf('#body')).toBe('before </pre><script>alert(2)</script><img src=x onerror=alert(3)> after');
    const dom = await page.evaluate(() => {
      const doc = (globalThis as unknown as { document: any }).document;
      return {
        images: doc.querySelectorAll('img').length,
        scripts: [...doc.querySelectorAll('script')].map((s: any) => s.textContent.slice(0, 80)),
      };
    });
    expect(dom.images).toBe(0);
    expect(dom.scripts).toHaveLength(1);
    expect(dom.scripts[0]).toContain("document.getElementById('release-form')");
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
  });

  it('a forged link shows a clear page in Japanese and English', async () => {
    const { token } = await backend.create();
    const res = await page.goto(web.pageUrl(backend.forge(token)));
    expect(res?.status()).toBe(403);
    expect(await textOf('h1')).toBe('このリンクは無効ですThis link is not valid');
    expect(await page.locator('form').count()).toBe(0);
  });
});
