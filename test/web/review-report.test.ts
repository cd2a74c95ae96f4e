import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previousMonth } from '../../src/audit/report.js';
import { hashPassword } from '../../src/crypto/password-hash.js';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { DEFAULT_POLICY, type TestGateway, startGateway } from '../support/gateway.js';
import { type Sink, startSink } from '../support/sink.js';
import { WebClient } from '../support/web-client.js';
import { until } from '../support/wait.js';

/** The monthly report page (特記事項 第9) on the whole gateway, over real HTTP. */
const thisMonth = () => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Tokyo' }).format(new Date()).slice(0, 7);

describe('monthly report page on the gateway (特記事項 第9)', () => {
  let sink: Sink;
  let gw: TestGateway;
  let reviewer: WebClient;
  let incident: string;
  let page: string;

  beforeAll(async () => {
    sink = await startSink();
    gw = await startGateway({
      nextHop: `smtp://127.0.0.1:${sink.port}`,
      policy: DEFAULT_POLICY,
      organization: { internalDomains: ['example.co.jp'] },
      web: { listen: '127.0.0.1:0', users: [{ username: 'kansa', password: await hashPassword('kansa-pass-1', { N: 1024, r: 8, p: 1 }), role: 'reviewer' }] },
    });
    const t = client(gw.smtp.port);
    const sent = [
      await sendRaw(t, 'taro@example.co.jp', ['x@mailinator.com'], sampleMessage({ to: 'x@mailinator.com', subject: 'anonymous' })),
      await sendRaw(t, 'hanako@example.co.jp', ['colleague@example.co.jp'], sampleMessage({ to: 'colleague@example.co.jp', subject: 'internal' })),
    ];
    t.close();
    expect(sent.map((r) => r.code)).toEqual([550, 250]);
    const delivered = /(?:as|delivered as) (\S+)/.exec(sent[1]!.response)![1]!;
    reviewer = new WebClient(`http://127.0.0.1:${gw.web.port}`);
    expect((await reviewer.login('kansa', 'kansa-pass-1')).status).toBe(303);
    const messagePage = await until(async () => {
      const res = await reviewer.get(`/review/message/${delivered}`);
      return res.status === 200 ? res.text() : undefined;
    });
    const opened = await reviewer.post('/review/incidents', { csrf: WebClient.csrf(messagePage), message: delivered, reason: '社外秘の資料を添付した' });
    incident = /INC-[^?]+/.exec(opened.headers.get('location')!)![0];
    // the audit log is written in batches: wait until the incident is in the report
    page = await until(async () => {
      const p = await (await reviewer.get(`/review/report?month=${thisMonth()}`)).text();
      return p.includes(`data-incident="${incident}"`) ? p : undefined;
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sink?.close();
  });

  it("shows the month's figures in the reviewer layout, with links to the CSV and the printable HTML", () => {
    expect(page).toContain(`月次報告 ${thisMonth()}`);
    expect(page).toContain('id="who"');
    expect(page).toMatch(/<dd id="messages">2<\/dd>/);
    expect(page).toMatch(/<table id="by-rule">[\s\S]*?匿名・使い捨てのメールサービスへの送信<span class="en" lang="en">Anonymous or disposable mail service<\/span><span class="ident">anonymous-recipient<\/span>[\s\S]*?<td class="n">1<\/td>/);
    expect(page).toMatch(/<table id="by-sender-domain">[\s\S]*?example\.co\.jp[\s\S]*?<td class="n">2<\/td>/);
    expect(page).toMatch(new RegExp(`<tr data-incident="${incident}">[\\s\\S]*?担当者が登録<span class="en" lang="en">opened by a person</span> — 担当者 kansa（監査担当者の画面）[\\s\\S]*?web:kansa[\\s\\S]*?未報告（期限内）`));
    expect(page).toContain(`href="/review/report.csv?month=${thisMonth()}"`);
    expect(page).toContain(`href="/review/report.html?month=${thisMonth()}"`);
    // the navigation and the month picker stay off the printout
    expect(page).toContain('@media print{nav.review,.no-print{display:none}}');
  });

  it('on a fresh install opens on this month, where the events are, not on the empty previous month, and says which month it shows', async () => {
    const res = await reviewer.get('/review/report');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain(`月次報告 ${thisMonth()}`);
    expect(text).toContain(`data-incident="${incident}"`);
    expect(text).toContain(`<p id="shown-month">${thisMonth()}（今月）を表示しています。前月（${previousMonth()}）の記録はないため、記録のある最も新しい月を開きました。`);
    expect(text).toContain('この月はまだ終わっていません。作成日時までの集計です。');
    // a month asked for is shown as asked, and named
    const asked = await (await reviewer.get(`/review/report?month=${previousMonth()}`)).text();
    expect(asked).toContain(`<p id="shown-month">${previousMonth()}（前月）を表示しています。<span class="en" lang="en">Showing ${previousMonth()} (last month).</span></p>`);
    expect(asked).toContain('この期間のインシデントはありません。');
    expect(asked).not.toContain('この月はまだ終わっていません');
  });

  it('downloads the CSV (UTF-8 with BOM) and the standalone HTML of the month', async () => {
    const csv = await reviewer.get(`/review/report.csv?month=${thisMonth()}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="outguard-report-${thisMonth()}.csv"`);
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text.split('\r\n')[0]).toContain('区分 / section');
    expect(text).toContain('anonymous-recipient');
    expect(text).toContain(incident);

    const htmlFile = await reviewer.get(`/review/report.html?month=${thisMonth()}`);
    expect(htmlFile.headers.get('content-disposition')).toBe(`attachment; filename="outguard-report-${thisMonth()}.html"`);
    const standalone = await htmlFile.text();
    expect(standalone).toMatch(/^<!doctype html>/);
    expect(standalone).toContain(`data-incident="${incident}"`);
    expect(standalone).not.toContain('nav class="review"');
  });

  it('answers a bad month with a page that says how to write it (400), and asks for a login', async () => {
    for (const path of ['/review/report?month=2026-13', '/review/report.csv?month=2026-13', '/review/report.html?month=10-2026']) {
      const res = await reviewer.get(path);
      expect(res.status, path).toBe(400);
      const text = await res.text();
      expect(text).toMatch(/月「(2026-13|10-2026)」が正しくありません。2026-10 のように YYYY-MM で指定してください。/);
      expect(text).not.toMatch(/at \w+ \(|\.ts:\d+/);
    }
    expect((await new WebClient(reviewer.base).get('/review/report.csv')).status).toBe(303);
  });
});
