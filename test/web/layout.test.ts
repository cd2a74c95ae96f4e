import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, expectFitsWidth, launchChromium } from '../support/browser.js';
import { SAMPLE_LOGIN, type SampleGateway, startSampleGateway } from '../support/sample-gateway.js';
import { requireTool } from '../support/tools.js';

/**
 * Every page at the width it is read at, in headless Chromium, on a gateway full of realistic data
 * (long addresses and subjects, a lookalike domain, several recipients, long Japanese and ASCII
 * file names, many rules): the sender's pages on a 390 px phone, the reviewer pages at a 1280 px
 * desk. None may need horizontal scrolling.
 */
const haveChromium = requireTool('chromium', 'chromium');
const PHONE = 390;
const DESK = 1280;

describe.skipIf(!haveChromium)('pages fit the screens they are read on', () => {
  let sample: SampleGateway;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [sample, browser] = await Promise.all([startSampleGateway(), launchChromium()]);
    page = await browser.context.newPage();
    page.setDefaultTimeout(10_000);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await sample?.stop();
  });

  const open = async (path: string, width: number) => {
    await page.setViewportSize({ width, height: 900 });
    const res = await page.goto(path.startsWith('http') ? path : `${sample.base}${path}`);
    expect(res?.status(), path).toBe(200);
  };

  it(`release page at ${PHONE} px: every recipient, the lookalike warning, the long address and the file names on screen`, async () => {
    await open(sample.showcase.link, PHONE);
    await expectFitsWidth(page, PHONE);
    expect(await page.locator('#recipients td.addr').count()).toBe(5);
    expect(await page.getByText('「example.co.jp」に類似したドメイン').isVisible()).toBe(true);
    // a file name wraps where the line is full, not every few characters
    const name = page.locator('td.filename').first();
    const box = (await name.boundingBox())!;
    const lineHeight = await name.evaluate((el) => parseFloat((globalThis as unknown as { getComputedStyle(e: unknown): { lineHeight: string } }).getComputedStyle(el).lineHeight));
    expect(box.width).toBeGreaterThan(PHONE / 2);
    expect(Math.round(box.height / lineHeight)).toBeLessThanOrEqual(3);
    // and at a desk it is still a table
    await expectFitsWidth(page, DESK);
    expect(await page.locator('#recipients thead').isVisible()).toBe(true);
  });

  it(`間違いだった's confirmation and the result pages at ${PHONE} px`, async () => {
    const { link } = await sample.hold();
    await open(link, PHONE);
    await Promise.all([page.waitForNavigation(), page.locator('#mistake').click()]);
    expect(await page.locator('h1').textContent()).toContain('間違いとして破棄しますか？');
    await expectFitsWidth(page, PHONE);
    await Promise.all([page.waitForNavigation(), page.locator('#confirm-mistake').click()]);
    expect(await page.locator('h1').textContent()).toContain('破棄しました');
    await expectFitsWidth(page, PHONE);
  });

  it(`login at ${PHONE} px, then every reviewer page at ${DESK} px`, async () => {
    await open('/login', PHONE);
    await expectFitsWidth(page, PHONE);
    await page.fill('input[name=username]', SAMPLE_LOGIN.username);
    await page.fill('input[name=password]', SAMPLE_LOGIN.password);
    await Promise.all([page.waitForNavigation(), page.locator('form.login button[type=submit]').click()]);

    for (const path of ['/review', '/review/search', '/review/search?type=mail', '/review/search?type=all', `/review/message/${sample.showcase.id}`, '/review/incidents', `/review/incidents/${sample.incidentId}`, `/review/report?month=${sample.month}`]) {
      await open(path, DESK);
      await expectFitsWidth(page, DESK);
    }
  });

  it(`the search at ${DESK} px: the type drop-down whole, subjects and clauses on lines of readable length`, async () => {
    await open('/review/search', DESK);
    const select = (await page.locator('#type').boundingBox())!;
    const form = (await page.locator('#search').boundingBox())!;
    expect(select.x + select.width).toBeLessThanOrEqual(form.x + form.width);
    const subject = page.locator('#results td:nth-child(3)').filter({ hasText: '【要確認】' }).first();
    expect((await subject.boundingBox())!.width).toBeGreaterThan(200);
    const rules = page.locator('#results td:nth-child(4)').filter({ hasText: 'lookalike-domain' }).first();
    expect((await rules.boundingBox())!.width).toBeGreaterThan(150);
  });

  it('the search leaves notice-sent rows out by default, says so, and shows them when asked', async () => {
    await open('/review/search', DESK);
    const types = () => page.locator('#results tr[data-seq] .type').allTextContents();
    expect(await types()).not.toContain('通知送信');
    expect(await page.locator('#notices-left-out').textContent()).toContain('「通知送信」の記録を省いています');
    await Promise.all([page.waitForNavigation(), page.locator('#show-notices').click()]);
    expect(new URL(page.url()).searchParams.get('type')).toBe('mail');
    expect(await types()).toContain('通知送信');
    expect(await page.locator('#notices-left-out').count()).toBe(0);
  });
});
