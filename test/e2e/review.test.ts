import fs from 'node:fs';
import type { BrowserContext } from 'playwright-core';
import { type Browser, launchChromium } from '../support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/crypto/password-hash.js';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { DEFAULT_POLICY, type TestGateway, startGateway } from '../support/gateway.js';
import { freePort } from '../support/net.js';
import { type Sink, startSink } from '../support/sink.js';
import { requireTool } from '../support/tools.js';

const haveChromium = requireTool('chromium', 'chromium');
const jaSubject = (s: string) => `=?UTF-8?B?${Buffer.from(s).toString('base64')}?=`;

describe.skipIf(!haveChromium)('reviewer pages in Chromium (特記事項 第9・第10)', () => {
  let sink: Sink;
  let gw: TestGateway;
  let context: BrowserContext;
  let browser: Browser | undefined;
  let base: string;

  beforeAll(async () => {
    sink = await startSink();
    const webPort = await freePort();
    base = `http://127.0.0.1:${webPort}`;
    gw = await startGateway({
      nextHop: `smtp://127.0.0.1:${sink.port}`,
      policy: DEFAULT_POLICY,
      organization: { internalDomains: ['example.co.jp'] },
      web: {
        listen: `127.0.0.1:${webPort}`,
        publicUrl: base,
        users: [{ username: 'kansa', password: await hashPassword('kansa-pass-1', { N: 1024, r: 8, p: 1 }), role: 'reviewer' }],
      },
    });
    const t = client(gw.smtp.port);
    const sent = [
      await sendRaw(t, 'taro@example.co.jp', ['x@mailinator.com'], sampleMessage({ to: 'x@mailinator.com', subject: jaSubject('匿名アドレスへの見積書') })),
      await sendRaw(t, 'hanako@example.co.jp', ['someone@m.evernote.com'], sampleMessage({ to: 'someone@m.evernote.com', subject: jaSubject('議事録をノートへ') })),
      await sendRaw(t, 'taro@example.co.jp', ['colleague@example.co.jp'], sampleMessage({ to: 'colleague@example.co.jp', subject: jaSubject('社内の連絡') })),
    ];
    t.close();
    expect(sent.map((r) => r.code)).toEqual([550, 550, 250]);
    browser = await launchChromium({ acceptDownloads: true });
    context = browser.context;
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await sink?.close();
  });

  it('logs in, filters blocked mail by rule, opens a message and its timeline, exports the filtered CSV', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

    await page.goto(`${base}/review/search`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.getByLabel('ユーザー名').fill('kansa');
    await page.getByLabel('パスワード').fill('kansa-pass-1');
    await page.getByRole('button', { name: /ログイン/ }).click();
    await page.waitForURL(`${base}/review/search`);
    await expect(page.locator('#who').textContent()).resolves.toContain('kansa');

    // the audit log is written in batches: search until both rejections are there
    await page.locator('#type').selectOption('rejected');
    await page.getByRole('button', { name: /検索/ }).click();
    for (let i = 0; i < 100 && !(await page.locator('#count').textContent())!.startsWith('2 件中'); i++) {
      await page.waitForTimeout(100);
      await page.reload();
    }
    await expect(page.locator('#results tbody tr').count()).resolves.toBe(2);

    await page.locator('#rule').fill('anonymous-recipient');
    await page.getByRole('button', { name: /検索/ }).click();
    await page.waitForURL(/rule=anonymous-recipient/);
    const rows = page.locator('#results tbody tr');
    await expect(rows.count()).resolves.toBe(1);
    await expect(rows.first().textContent()).resolves.toContain('x@mailinator.com');
    await expect(rows.first().textContent()).resolves.toContain('匿名アドレスへの見積書');

    // the CSV of exactly this filter
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export').click()]);
    expect(download.suggestedFilename()).toMatch(/^outguard-audit-\d{8}-\d{6}\.csv$/);
    const csv = fs.readFileSync((await download.path())!);
    expect([...csv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = csv.toString('utf8').slice(1).trim().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('匿名アドレスへの見積書');
    expect(lines[1]).toContain('anonymous-recipient');
    expect(csv.toString('utf8')).not.toContain('議事録をノートへ');

    // the message page and its timeline
    await rows.first().getByRole('link', { name: /詳細/ }).click();
    await page.waitForURL(/\/review\/message\//);
    await expect(page.locator('#sender').textContent()).resolves.toBe('taro@example.co.jp');
    await expect(page.locator('#subject').textContent()).resolves.toBe('匿名アドレスへの見積書');
    await expect(page.locator('#rules').textContent()).resolves.toContain('宛先が匿名・使い捨てのメールサービスです。');
    const timeline = page.locator('#timeline tbody tr');
    await expect(timeline.count()).resolves.toBe(1);
    await expect(timeline.first().textContent()).resolves.toMatch(/JST[\s\S]*拒否/);
    expect(errors).toEqual([]);
    await page.close();
  });
});
