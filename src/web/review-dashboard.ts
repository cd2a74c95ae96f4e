import type { Count } from '../audit/counts.js';
import { eventType } from '../audit/event-names.js';
import { DAILY_TITLE, dailyChart, ruleLabel, TOP, topChart } from '../audit/report-charts.js';
import { REPORT_LABELS } from '../audit/report-labels.js';
import type { Hold } from '../hold/types.js';
import { CHART_STYLE } from '../render/chart.js';
import { type SafeHtml, html } from '../render/html.js';
import { bi, type Bilingual } from '../render/bilingual.js';
import { redirect } from './http.js';
import { type Dashboard, type DashboardSources, HOLDS_SHOWN, dashboardData } from './review-dashboard-data.js';
import { clockHtml, clockScript } from './review-incident-clock.js';
import type { ReviewRoute } from './review-router.js';
import { jstAndUtc } from './review-text.js';

export interface DashboardOptions extends DashboardSources {
  /** compliance.incidentMinutes, for the words above the incidents. */
  incidentMinutes: number;
  now: () => number;
}

/**
 * GET /review: the reviewer's landing page — today's and this month's counts by action, the
 * holds waiting, the unreported incidents with their clocks, the month's daily chart and its top
 * rules and sender domains. The search moved to /review/search; an old bookmark of /review with
 * a query goes there with the same query.
 */
export function dashboardRoutes(o: DashboardOptions): ReviewRoute[] {
  return [
    {
      method: 'GET',
      path: /^\/review\/?$/,
      async handle(ctx) {
        if (ctx.url.search !== '') return redirect(ctx.res, `/review/search${ctx.url.search}`);
        const d = await dashboardData(o, o.now());
        ctx.send(200, { ja: 'ダッシュボード', en: 'Dashboard' }, dashboardContent(d, o.incidentMinutes), {
          current: '/review',
          style: DASHBOARD_STYLE,
          ...(d.incidents && d.incidents.length > 0 ? { script: clockScript(d.now) } : {}),
        });
      },
    },
  ];
}

/** The counts the dashboard shows, in this order (the rest are in the monthly report). */
const ACTIONS = ['delivered', 'encrypted', 'rejected', 'held', 'released', 'discarded', 'expired', 'deferred'];

const DASHBOARD_STYLE = `${CHART_STYLE}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;margin:16px 0}
.tile{display:block;background:#fff;border:1px solid #d5d9e0;border-radius:8px;padding:10px 16px;color:inherit;text-decoration:none}
a.tile:hover{border-color:#1f5fbf}
.tile .en{display:block}
.tile .figure{display:block;font-size:2rem;font-weight:bold;line-height:1.3;font-variant-numeric:tabular-nums}
.tile.alarm{border:2px solid #d04040;background:#fde8e8;color:#8a1010}
.two{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(440px,100%),1fr));gap:0 16px}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.subject{overflow-wrap:anywhere}
.left{display:block;font-size:.85em;color:#566074}
td.who{overflow-wrap:anywhere;font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.88em}
`;

const en = (text: string) => html`<span class="en" lang="en">${text}</span>`;
const jst = (ms: number) => jstAndUtc(ms).jst;
const countOf = (counts: Count[], key: string) => counts.find((c) => c.key === key)?.count ?? 0;

/** A span of time in words: N 分, H 時間 M 分, D 日 H 時間. */
function span(ms: number): Bilingual {
  const minutes = Math.ceil(ms / 60_000);
  if (minutes < 60) return { ja: `${minutes} 分`, en: `${minutes} min` };
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return { ja: `${hours} 時間 ${minutes % 60} 分`, en: `${hours} h ${minutes % 60} min` };
  return { ja: `${Math.floor(hours / 24)} 日 ${hours % 24} 時間`, en: `${Math.floor(hours / 24)} d ${hours % 24} h` };
}

function tile(id: string, label: Bilingual, figure: number, o: { href?: string; alarm?: boolean; note?: Bilingual } = {}): SafeHtml {
  const body = html`${label.ja}${en(label.en)}<span class="figure" id="${id}">${figure}</span>${o.note ? bi(o.note) : ''}`;
  const cls = `tile${o.alarm ? ' alarm' : ''}`;
  return o.href ? html`<a class="${cls}" href="${o.href}">${body}</a>` : html`<div class="${cls}">${body}</div>`;
}

function tiles(d: Dashboard): SafeHtml {
  const overdue = d.incidents?.filter((i) => i.status === 'overdue').length ?? 0;
  return html`<section class="tiles" aria-label="概要 / At a glance">
${tile('today-messages', { ja: '今日の判定件数', en: 'Messages judged today' }, d.today.messages)}
${tile('month-messages', { ja: '今月の判定件数', en: 'Messages judged this month' }, d.thisMonth.messages, { href: `/review/report?month=${d.month}` })}
${d.holds ? tile('holds-total', { ja: '確認待ちの保留', en: 'Holds waiting' }, d.holds.total, { href: '#h-holds' }) : ''}
${
  d.incidents
    ? tile('incidents-open', { ja: '未報告のインシデント', en: 'Unreported incidents' }, d.incidents.length, {
        href: '/review/incidents?show=open',
        alarm: overdue > 0,
        ...(overdue > 0 ? { note: { ja: `うち ${overdue} 件は期限超過`, en: `${overdue} overdue` } } : {}),
      })
    : ''
}
</section>`;
}

function countsTable(d: Dashboard): SafeHtml {
  const row = (key: string, label: Bilingual, today: number, month: number) =>
    html`<tr data-action="${key}"><th scope="row">${label.ja} ${en(label.en)}</th><td class="n">${today}</td><td class="n">${month}</td></tr>`;
  return html`<table id="counts">
<thead><tr><th>処理 ${en('Action')}</th><th class="n">今日 ${en(`Today (${d.day})`)}</th><th class="n">今月 ${en(`This month (${d.month})`)}</th></tr></thead>
<tbody>
${row('messages', { ja: '判定したメール', en: 'Messages judged' }, d.today.messages, d.thisMonth.messages)}
${ACTIONS.map((a) => row(a, eventType(a), countOf(d.today.byAction, a), countOf(d.thisMonth.byAction, a)))}
</tbody>
</table>`;
}

function deadline(h: Hold, now: number): SafeHtml {
  const left = h.deadline - now;
  const words: Bilingual =
    left > 0 ? { ja: `残り ${span(left).ja}`, en: `${span(left).en} left` } : { ja: '期限を過ぎました（まもなく処理されます）', en: 'past its deadline (being handled)' };
  return html`${jst(h.deadline)}<span class="left">${words.ja} / ${words.en}</span>`;
}

function holdsSection(holds: NonNullable<Dashboard['holds']>, now: number): SafeHtml {
  const rest = holds.total - holds.oldest.length;
  return html`<section class="card" aria-labelledby="h-holds">
<h2 id="h-holds">確認待ちの保留（古い順）${en('Holds waiting, oldest first')}</h2>
${
  holds.oldest.length === 0
    ? html`<p id="holds-none">${bi({ ja: '確認待ちの保留はありません。', en: 'No held messages are waiting.' })}</p>`
    : html`<table class="results" id="holds-waiting">
<thead><tr><th>保留した日時 ${en('Held at')}</th><th>差出人 ${en('Sender')}</th><th>件名 ${en('Subject')}</th><th>期限 ${en('Deadline')}</th></tr></thead>
<tbody>
${holds.oldest.map(
  (h) => html`<tr data-hold="${h.id}">
<td class="time">${jst(h.createdAt)}</td>
<td class="who">${h.envelope.from === '' ? '<>' : h.envelope.from}</td>
<td class="subject"><a href="/review/message/${encodeURIComponent(h.id)}">${h.subject === '' ? '（件名なし / no subject）' : h.subject}</a></td>
<td class="time">${deadline(h, now)}</td>
</tr>`,
)}
</tbody>
</table>
${rest > 0 ? html`<p id="holds-more">${bi({ ja: `ほかに ${rest} 件あります（古い順に ${HOLDS_SHOWN} 件を表示）。`, en: `${rest} more (showing the oldest ${HOLDS_SHOWN}).` })}</p>` : ''}`
}
</section>`;
}

function incidentsSection(incidents: NonNullable<Dashboard['incidents']>, now: number, incidentMinutes: number): SafeHtml {
  return html`<section class="card" aria-labelledby="h-incidents">
<h2 id="h-incidents">未報告のインシデント ${en('Unreported incidents')}</h2>
<p>${bi({ ja: `遵守事項 第2：認識から ${incidentMinutes} 分以内に発注者へ報告します。`, en: `Clause 2: report to the client within ${incidentMinutes} minutes of recognising an incident.` })}</p>
${
  incidents.length === 0
    ? html`<p id="incidents-none">${bi({ ja: '未報告のインシデントはありません。', en: 'No unreported incidents.' })}</p>`
    : html`<table class="results" id="incidents-open-list">
<thead><tr><th>ID</th><th>状態 ${en('Status')}</th><th>認識 ${en('Recognised')}</th><th>概要 ${en('Summary')}</th></tr></thead>
<tbody>
${incidents.map(
  ({ incident: i, status }) => html`<tr class="incident" data-incident="${i.id}">
<td class="mono"><a href="/review/incidents/${encodeURIComponent(i.id)}">${i.id}</a></td>
<td>${clockHtml(i, status, now)}</td>
<td class="time">${jst(i.openedAt)}</td>
<td class="subject">${i.summary}</td>
</tr>`,
)}
</tbody>
</table>`
}
</section>`;
}

function monthTitle(t: Bilingual, month: string, top = false): Bilingual {
  return top ? { ja: `${t.ja}（${month}、上位 ${TOP}）`, en: `${t.en} (${month}, top ${TOP})` } : { ja: `${t.ja}（${month}）`, en: `${t.en} (${month})` };
}

const NOTHING_YET: Bilingual = { ja: '今月はまだ判定したメールがありません。', en: 'No messages judged this month yet.' };

function dashboardContent(d: Dashboard, incidentMinutes: number): SafeHtml {
  const rules = monthTitle(REPORT_LABELS.byRule, d.month, true);
  const domains = monthTitle(REPORT_LABELS.bySenderDomain, d.month, true);
  return html`<h1>ダッシュボード${en('Dashboard')}</h1>
<p id="as-of">${bi({ ja: `${jst(d.now)} 現在。日付と時刻は日本時間です。`, en: `As of ${jst(d.now)}. Days and times are Japan time.` })}</p>
${tiles(d)}
${d.incidents ? incidentsSection(d.incidents, d.now, incidentMinutes) : ''}
${d.holds ? holdsSection(d.holds, d.now) : ''}
<section class="card" aria-labelledby="h-counts">
<h2 id="h-counts">処理別件数 ${en('Counts by action')}</h2>
${countsTable(d)}
<p><a href="/review/report?month=${d.month}" id="month-report">${bi({ ja: `${d.month} の月次報告を開く（同じ数え方です）`, en: `Open the monthly report of ${d.month} (counted the same way)` })}</a></p>
</section>
<section class="card" aria-labelledby="h-daily">
<h2 id="h-daily">${bi(monthTitle(DAILY_TITLE, d.month))}</h2>
${dailyChart('chart-daily', d.byDay, NOTHING_YET)}
</section>
<div class="two">
<section class="card" aria-labelledby="h-rules">
<h2 id="h-rules">${bi(rules)}</h2>
${topChart('chart-rules', rules, d.thisMonth.byRule, { ja: '今月、ルールに該当したメールはありません。', en: 'No message matched a rule this month.' }, ruleLabel)}
</section>
<section class="card" aria-labelledby="h-domains">
<h2 id="h-domains">${bi(domains)}</h2>
${topChart('chart-domains', domains, d.thisMonth.bySenderDomain, NOTHING_YET)}
</section>
</div>`;
}
