import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newIncidentId } from '../../src/audit/incident-types.js';
import { hashPassword } from '../../src/crypto/password-hash.js';
import { SqliteIncidentStore } from '../../src/store/sqlite-incidents.js';
import { type Browser, expectFitsWidth, launchChromium } from '../support/browser.js';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { DEFAULT_POLICY, type TestGateway, startGateway } from '../support/gateway.js';
import { type Sink, startSink } from '../support/sink.js';
import { requireTool } from '../support/tools.js';
import { WebClient } from '../support/web-client.js';
import { until } from '../support/wait.js';

/**
 * The reviewer dashboard (/review) on the whole gateway: default policy, real SMTP in, the sink
 * as next hop, the real audit log, holds and incidents, over real HTTP and in Chromium.
 */
const FAST = { N: 1024, r: 8, p: 1 };
const MINUTE = 60_000;
const jaSubject = (s: string) => `=?UTF-8?B?${Buffer.from(s).toString('base64')}?=`;
const today = () => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Tokyo' }).format(new Date());
const haveChromium = requireTool('chromium', 'chromium');

async function reviewerGateway(sink?: Sink): Promise<{ gw: TestGateway; reviewer: WebClient }> {
  const gw = await startGateway({
    ...(sink ? { nextHop: `smtp://127.0.0.1:${sink.port}` } : {}),
    policy: DEFAULT_POLICY,
    organization: { internalDomains: ['example.co.jp'] },
    web: { listen: '127.0.0.1:0', users: [{ username: 'kansa', password: await hashPassword('kansa-pass-1', FAST), role: 'reviewer' }] },
  });
  const reviewer = new WebClient(`http://127.0.0.1:${gw.web.port}`);
  expect((await reviewer.login('kansa', 'kansa-pass-1')).status).toBe(303);
  return { gw, reviewer };
}

/** The figure of a row of the counts table: [today, this month]. */
const counts = (page: string, action: string) =>
  new RegExp(`<tr data-action="${action}">.*?<td class="n">(\\d+)</td><td class="n">(\\d+)</td></tr>`).exec(page)!.slice(1).map(Number);

describe('reviewer dashboard on a gateway with mail', () => {
  let sink: Sink;
  let gw: TestGateway;
  let reviewer: WebClient;
  let incidents: SqliteIncidentStore;
  let page: string;
  const held: string[] = [];
  const incident: Record<'overdue' | 'open', string> = { overdue: '', open: '' };

  async function send(from: string, to: string, subject: string): Promise<string | undefined> {
    const t = client(gw.smtp.port);
    const r = await sendRaw(t, from, [to], sampleMessage({ from, to, subject: jaSubject(subject) }));
    t.close();
    return /held for confirmation as (\S+)/.exec(r.response)?.[1];
  }

  async function incidentOpened(minutesAgo: number, summary: string): Promise<string> {
    const openedAt = Date.now() - minutesAgo * MINUTE;
    const id = newIncidentId(openedAt);
    await incidents.create({ id, openedAt, deadline: openedAt + 60 * MINUTE, trigger: 'manual', openedBy: 'web:kansa', summary });
    return id;
  }

  beforeAll(async () => {
    sink = await startSink();
    ({ gw, reviewer } = await reviewerGateway(sink));
    incidents = SqliteIncidentStore.open(gw.dataDir);
    await send('taro@example.co.jp', 'colleague@example.co.jp', '社内の連絡');
    await send('hanako@example.co.jp', 'buchou@example.co.jp', '議事録');
    await send('taro@example.co.jp', 'x@mailinator.com', '匿名宛て');
    await send('hanako@example.co.jp', 'someone@m.evernote.com', 'ノート登録');
    held.push((await send('jiro@example.co.jp', 'new@first-time.example', '見積 第1版'))!);
    held.push((await send('jiro.yamada-project-office@example.co.jp', 'new@first-time.example', '第2版の見積書と添付資料の送付についてのご確認のお願い（社外秘・取扱注意）'))!);
    // 29.5 minutes past the deadline (the page rounds up: 30), and one with 50 minutes left
    incident.overdue = await incidentOpened(89.5, '誤送信の疑い');
    incident.open = await incidentOpened(10, '宛先の確認中');
    // the audit log is written in batches: wait until the last message is counted
    page = await until(async () => {
      const p = await (await reviewer.get('/review')).text();
      return p.includes('id="today-messages">6<') ? p : undefined;
    });
  });
  afterAll(async () => {
    await incidents?.close();
    await gw?.stop();
    await sink?.close();
  });

  it("counts today's and this month's mail by action, the same as the monthly report", async () => {
    expect(counts(page, 'messages')).toEqual([6, 6]);
    expect(counts(page, 'delivered')).toEqual([2, 2]);
    expect(counts(page, 'rejected')).toEqual([2, 2]);
    expect(counts(page, 'held')).toEqual([2, 2]);
    expect(counts(page, 'released')).toEqual([0, 0]);
    expect(page).toContain(`<a href="/review/report?month=${today().slice(0, 7)}" id="month-report">`);
    const report = await (await reviewer.get(`/review/report?month=${today().slice(0, 7)}`)).text();
    expect(report).toContain('<dd id="messages">6</dd>');
    for (const [action, label] of [
      ['delivered', '配送'],
      ['rejected', '拒否（送信不可）'],
      ['held', '保留'],
    ]) {
      expect(report, action).toMatch(new RegExp(`<tr><td>${label.replace(/[()（）]/g, '\\$&')} <span class="en" lang="en">${action}</span></td><td class="n">${counts(page, action!)[1]}</td></tr>`));
    }
  });

  it('lists the holds waiting, oldest first, with their deadlines and a link to each message', () => {
    expect(page).toContain('id="holds-total">2<');
    const rows = [...page.matchAll(/<tr data-hold="([^"]+)">([\s\S]*?)<\/tr>/g)];
    expect(rows.map((r) => r[1])).toEqual(held);
    expect(rows[0]![2]).toContain(`<a href="/review/message/${held[0]}">見積 第1版</a>`);
    // the default policy holds a first-time domain for 24 hours
    expect(rows[0]![2]).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST<span class="left">残り (23 時間 \d+ 分|24 時間 0 分) \/ (23 h \d+ min|24 h 0 min) left<\/span>/);
  });

  it('shows the unreported incidents with their clocks, the overdue one first and in red', () => {
    const rows = [...page.matchAll(/<tr class="incident" data-incident="([^"]+)">([\s\S]*?)<\/tr>/g)];
    expect(rows.map((r) => r[1])).toEqual([incident.overdue, incident.open]);
    expect(rows[0]![2]).toContain('data-status="overdue"');
    expect(rows[0]![2]).toContain('期限を 30 分超過');
    expect(rows[1]![2]).toContain('data-status="open"');
    expect(rows[1]![2]).toMatch(/残り (50|51) 分/);
    expect(page).toMatch(/<a class="tile alarm" href="\/review\/incidents\?show=open">[\s\S]*?id="incidents-open">2<[\s\S]*?うち 1 件は期限超過/);
  });

  it('charts the month by day, and its top rules and sender domains, with the numbers as text', () => {
    const daily = /<figure class="chart" id="chart-daily">[\s\S]*?<\/figure>/.exec(page)![0];
    expect(daily).toContain('<svg class="chart columns"');
    // delivered, encrypted, held, rejected, total
    expect(daily).toContain(`<tr><th scope="row">${today()}</th><td>2</td><td>0</td><td>2</td><td>2</td><td>6</td></tr>`);
    expect(page).toMatch(/<desc id="chart-rules-desc">[^<]*初めて送信するドメイン：4 件、匿名・使い捨てのメールサービスへの送信：1 件、オンラインサービスへのメール投稿：1 件/);
    expect(page).toMatch(/<desc id="chart-domains-desc">example\.co\.jp：6 件 \/ example\.co\.jp: 6<\/desc>/);
  });

  it.skipIf(!haveChromium)('fits a 1280 px window without scrolling sideways, and runs without errors', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const tab = await browser.context.newPage();
      const errors: string[] = [];
      tab.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

      // the reviewer's session (the login itself is tested in review-login.test.ts)
      await browser.context.addCookies([{ name: 'og_session', value: reviewer.cookies.get('og_session')!, url: reviewer.base }]);
      await tab.setViewportSize({ width: 1280, height: 900 });
      await tab.goto(`${reviewer.base}/review`);
      await expect(tab.locator('#chart-daily svg.chart').isVisible()).resolves.toBe(true);
      await expectFitsWidth(tab, 1280);
      await expect(tab.locator('[data-status="overdue"] .clock-minutes .ja').textContent()).resolves.toMatch(/^期限を 3\d 分超過$/);
      expect(errors).toEqual([]);
    } finally {
      await browser?.close();
    }
  });
});

describe('reviewer dashboard on a fresh gateway', () => {
  let gw: TestGateway;
  let reviewer: WebClient;
  beforeAll(async () => {
    ({ gw, reviewer } = await reviewerGateway());
  });
  afterAll(() => gw?.stop());

  it('says there is nothing yet instead of drawing empty charts', async () => {
    const res = await reviewer.get('/review');
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('id="today-messages">0<');
    expect(page).toContain('<p class="chart-empty" id="chart-daily-empty">今月はまだ判定したメールがありません。');
    expect(page).toContain('id="chart-rules-empty"');
    expect(page).toContain('id="chart-domains-empty"');
    expect(page).not.toContain('<svg class="chart');
    expect(page).toContain('確認待ちの保留はありません。');
    expect(page).toContain('未報告のインシデントはありません。');
    expect(page).toMatch(/<a href="\/review" aria-current="page">ダッシュボード/);
  });
});
