import type { AuditStore } from '../audit/audit-store.js';
import { type MonthlyReport, defaultReportMonth, monthBounds, monthOf, monthlyReport, previousMonth } from '../audit/report.js';
import { renderReportCsv } from '../audit/report-csv.js';
import { REPORT_STYLE, renderReportHtml, reportContent } from '../audit/report-html.js';
import { sendDownload } from './http.js';
import { type ReviewContext, ReviewError, type ReviewRoute } from './review-router.js';
import { html } from '../render/html.js';
import { type Bilingual, bi } from '../render/bilingual.js';

export interface ReportPagesOptions {
  store: Pick<AuditStore, 'list'>;
  /** compliance.incidentMinutes: the deadline of an incident whose record is gone. */
  incidentMinutes: number;
  /** An incident's own deadline, from its record (the incident pages' clock). */
  deadlineOf?: (incidentId: string) => Promise<number | undefined>;
  now: () => number;
}

/** The reviewer navigation and the month picker stay off the printout. */
const PRINT_STYLE = `${REPORT_STYLE}
form.month{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:end}
form.month label{display:flex;flex-direction:column;font-weight:bold}
form.month label .en{display:inline;font-weight:normal}
form.month input{font:inherit;padding:5px 8px;border:1px solid #8a93a3;border-radius:4px}
@media print{nav.review,.no-print{display:none}}
`;

/** Which month the page shows, and why when no month was asked for. */
function shownMonth(month: string, now: number, chosen: boolean): Bilingual {
  const which = month === monthOf(now) ? { ja: '今月', en: 'this month' } : month === previousMonth(now) ? { ja: '前月', en: 'last month' } : null;
  const shown = { ja: `${month}${which ? `（${which.ja}）` : ''}を表示しています。`, en: `Showing ${month}${which ? ` (${which.en})` : ''}.` };
  if (chosen || month === previousMonth(now)) return shown;
  return {
    ja: `${shown.ja}前月（${previousMonth(now)}）の記録はないため、記録のある最も新しい月を開きました。`,
    en: `${shown.en} Last month (${previousMonth(now)}) has no events, so the most recent month with events was opened.`,
  };
}

/**
 * The monthly report (特記事項 第9) in the reviewer pages: GET /review/report?month=YYYY-MM
 * shows it inside the reviewer layout, printable as it is — without a month, the previous month
 * in Japan time, or the most recent month with events when that one has none (the first days of
 * use); /review/report.csv and /review/report.html download the same report as CSV (UTF-8 with
 * BOM) and as the standalone page to hand to the client.
 */
export function reportRoutes(o: ReportPagesOptions): ReviewRoute[] {
  const report = async (ctx: ReviewContext): Promise<MonthlyReport> => {
    const month = ctx.url.searchParams.get('month') || (await defaultReportMonth(o.store, o.now()));
    try {
      monthBounds(month);
    } catch {
      throw new ReviewError(
        400,
        { ja: '月の指定が正しくありません', en: 'Bad month' },
        { ja: `月「${month}」が正しくありません。2026-10 のように YYYY-MM で指定してください。`, en: `The month "${month}" is not valid: write it as YYYY-MM, such as 2026-10.` },
      );
    }
    return monthlyReport(o.store, month, { incidentMinutes: o.incidentMinutes, now: o.now, ...(o.deadlineOf ? { deadlineOf: o.deadlineOf } : {}) });
  };
  return [
    {
      method: 'GET',
      path: /^\/review\/report\/?$/,
      async handle(ctx) {
        const r = await report(ctx);
        const q = `month=${encodeURIComponent(r.month)}`;
        const content = html`<section class="card no-print" aria-label="表示する月 / Month">
<form class="month" method="get" action="/review/report">
<label for="month">月（日本時間）<span class="en" lang="en">Month (JST)</span><input type="month" id="month" name="month" value="${r.month}" required pattern="\\d{4}-\\d{2}"></label>
<button type="submit" id="show-month">表示 <span lang="en">(Show)</span></button>
<a href="/review/report.csv?${q}" id="download-csv">CSV をダウンロード <span lang="en">(Download CSV)</span></a>
<a href="/review/report.html?${q}" id="download-html">HTML をダウンロード（提出用） <span lang="en">(Download HTML, to hand in)</span></a>
</form>
<p id="shown-month">${bi(shownMonth(r.month, o.now(), Boolean(ctx.url.searchParams.get('month'))))}</p>
</section>
${reportContent(r)}`;
        ctx.send(200, { ja: `月次報告 ${r.month}`, en: `Monthly report ${r.month}` }, content, { current: '/review/report', style: PRINT_STYLE });
      },
    },
    {
      method: 'GET',
      path: /^\/review\/report\.csv$/,
      async handle(ctx) {
        const r = await report(ctx);
        sendDownload(ctx.res, renderReportCsv(r), 'text/csv; charset=utf-8', `outguard-report-${r.month}.csv`);
      },
    },
    {
      method: 'GET',
      path: /^\/review\/report\.html$/,
      async handle(ctx) {
        const r = await report(ctx);
        sendDownload(ctx.res, renderReportHtml(r), 'text/html; charset=utf-8', `outguard-report-${r.month}.html`);
      },
    },
  ];
}
