import type { BrowserContext } from 'playwright-core';
import { type Browser, launchChromium } from '../support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newIncidentId } from '../../src/audit/incident-types.js';
import { hashPassword } from '../../src/crypto/password-hash.js';
import { SqliteIncidentStore } from '../../src/store/sqlite-incidents.js';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { type TestGateway, startGateway } from '../support/gateway.js';
import { freePort } from '../support/net.js';
import { type Sink, startSink } from '../support/sink.js';
import { requireTool } from '../support/tools.js';

const haveChromium = requireTool('chromium', 'chromium');
/** The browser's getComputedStyle, typed without the DOM library. */
type Styled = { getComputedStyle(el: unknown): { backgroundColor: string } };

describe.skipIf(!haveChromium)('incident pages in Chromium (遵守事項 第2)', () => {
  let sink: Sink;
  let gw: TestGateway;
  let store: SqliteIncidentStore;
  let context: BrowserContext;
  let browser: Browser | undefined;
  let base: string;
  let messageId: string;

  beforeAll(async () => {
    sink = await startSink();
    const webPort = await freePort();
    base = `http://127.0.0.1:${webPort}`;
    // no client contact: the incident stays open, so its clock keeps running
    gw = await startGateway({
      nextHop: `smtp://127.0.0.1:${sink.port}`,
      organization: { internalDomains: ['example.co.jp'] },
      web: {
        listen: `127.0.0.1:${webPort}`,
        publicUrl: base,
        users: [{ username: 'kansa', password: await hashPassword('kansa-pass-1', { N: 1024, r: 8, p: 1 }), role: 'reviewer' }],
      },
    });
    store = SqliteIncidentStore.open(gw.dataDir);
    const t = client(gw.smtp.port);
    const sent = await sendRaw(t, 'taro@example.co.jp', ['suzuki@partner.example'], sampleMessage({ to: 'suzuki@partner.example', subject: 'wrong recipient' }));
    t.close();
    messageId = /(?:as|delivered as) (\S+)/.exec(sent.response)![1]!;
    browser = await launchChromium();
    context = browser.context;
  });
  afterAll(async () => {
    await browser?.close();
    await store?.close();
    await gw?.stop();
    await sink?.close();
  });

  it('opens an incident from a message page and shows its 60-minute clock, which turns red once the deadline passes', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.clock.install();

    await page.goto(`${base}/login`);
    await page.getByLabel('ユーザー名').fill('kansa');
    await page.getByLabel('パスワード').fill('kansa-pass-1');
    await page.getByRole('button', { name: /ログイン/ }).click();
    await page.waitForURL(`${base}/review`);

    // the audit log is written in batches: reload until the message has its page
    for (let i = 0; i < 100; i++) {
      const res = await page.goto(`${base}/review/message/${messageId}`);
      if (res?.status() === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await expect(page.locator('#subject').textContent()).resolves.toBe('wrong recipient');
    await expect(page.locator('#message-incidents').textContent()).resolves.toContain('このメールのインシデントはありません。');
    // no client contact: the form says the report will not be sent, and what to do instead
    await expect(page.locator('#open-incident-note').textContent()).resolves.toMatch(/^登録すると 60 分の報告期限が始まります。発注者の窓口（compliance.clientContact）が設定されていないため報告は自動では送られません。/);

    // a required reason: the browser will not submit without one
    await page.getByRole('button', { name: /インシデントとして報告/ }).click();
    expect(new URL(page.url()).pathname).toBe(`/review/message/${messageId}`);
    await page.getByLabel('何が起きたか（必須）').fill('宛先を誤って送信した');
    await page.getByRole('button', { name: /インシデントとして報告/ }).click();
    await page.waitForURL(/\/review\/incidents\/INC-\d{8}-[a-z2-9]{6}\?done=opened$/);
    const id = (await page.locator('#incident-id').textContent())!;
    await expect(page.locator('#done').textContent()).resolves.toContain('インシデントを登録しました。');
    await expect(page.locator('#clock').textContent()).resolves.toMatch(/未報告（期限内）[\s\S]*残り 60 分/);
    await expect(page.locator('#opened-by').textContent()).resolves.toBe('担当者 kansa（監査担当者の画面）kansa (reviewer pages)web:kansa');
    await expect(page.locator('#report-text').textContent()).resolves.toMatch(/宛先を誤って送信した[\s\S]*認識から60分以内[\s\S]*suzuki@partner\.example/);
    // nothing was sent: the page says so and what to do; the report does not claim it was sent
    await expect(page.locator('#notice-none').textContent()).resolves.toMatch(/^報告は送られていません。[\s\S]*電話やメールで発注者の窓口に報告し/);
    await expect(page.locator('#h-report-text').textContent()).resolves.toContain('報告の文面（発注者の窓口に伝える内容）');
    const report = (await page.locator('#report-text').textContent())!;
    expect(report).toContain('この報告は outguard（送信メールの検査ゲートウェイ）が作成しました。');
    expect(report).not.toMatch(/自動で作成・送信|written and sent|\/review\//);

    // an incident 5 s before its deadline: open, then overdue and red as the clock ticks on
    const openedAt = Date.now() - 60 * 60_000 + 5_000;
    const soon = newIncidentId(openedAt);
    await store.create({ id: soon, openedAt, deadline: openedAt + 60 * 60_000, trigger: 'manual', openedBy: 'hanako', summary: '期限間近' });
    await page.goto(`${base}/review/incidents`);
    await expect(page.locator('#reports-by-hand').textContent()).resolves.toContain('インシデントの報告は自動では送られません');
    const clock = page.locator(`tr[data-incident="${soon}"] .clock`);
    await expect(clock.getAttribute('data-status')).resolves.toBe('open');
    await expect(clock.textContent()).resolves.toContain('残り 1 分未満');
    await page.clock.fastForward(20_000);
    await expect(clock.getAttribute('data-status')).resolves.toBe('overdue');
    await expect(clock.textContent()).resolves.toMatch(/期限超過・未報告[\s\S]*期限を超過（1 分未満）/);
    await page.clock.fastForward(60_000);
    await expect(clock.textContent()).resolves.toMatch(/期限を 2 分超過[\s\S]*overdue by 2 min/);
    const label = clock.locator('.clock-status .ja');
    await expect(label.evaluate((el) => (globalThis as unknown as Styled).getComputedStyle(el).backgroundColor)).resolves.toBe('rgb(138, 16, 16)');
    await expect(page.locator(`tr[data-incident="${soon}"]`).evaluate((el) => (globalThis as unknown as Styled).getComputedStyle(el).backgroundColor)).resolves.toBe('rgb(253, 232, 232)');
    // the one opened from the message page is still open
    await expect(page.locator(`tr[data-incident="${id}"] .clock`).getAttribute('data-status')).resolves.toBe('open');

    // the message page links to its incident
    await page.goto(`${base}/review/message/${messageId}`);
    await page.locator('#message-incidents').getByRole('link', { name: id }).click();
    await page.waitForURL(`${base}/review/incidents/${id}`);
    expect(errors).toEqual([]);
    await page.close();
  });
});
