import { formatHead } from './anchor.js';
import type { Count, MonthlyReport } from './report.js';
import { jstText } from '../util/japan-time.js';
import { INCIDENT_STATUS, REPORT_LABELS as L, periodText } from './report-labels.js';
import { type SafeHtml, html } from '../render/html.js';
import { STYLE } from '../render/style.js';
import { bi, type Bilingual, named } from '../render/bilingual.js';
import { ruleName } from '../policy/rule-names.js';
import { actorName } from './actor-names.js';
import { eventType } from './event-names.js';
import { htmlDocument } from '../render/document.js';
import { CHART_STYLE } from '../render/chart.js';
import { DAILY_TITLE, TOP, dailyChart, ruleLabel, topChart } from './report-charts.js';
import { triggerLabel } from './incident-report.js';

/** What the report adds to the pages' style: figures right-aligned, the charts, and a clean A4 printout. */
export const REPORT_STYLE = `${CHART_STYLE}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.time{white-space:nowrap}
code.head{overflow-wrap:anywhere}
#incidents td .en{display:block}
.status-reported-in-time{color:#24502a;font-weight:bold}
.status-reported-late,.status-overdue{color:#8a1010;font-weight:bold}
.status-open{color:#7a4a00;font-weight:bold}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:0 16px}
@page{size:A4;margin:14mm}
@media print{body{background:#fff;font-size:10pt}main{max-width:none;padding:0}.grid{display:block}section.card{border:none;padding:0;margin:10px 0;break-inside:avoid}footer{margin-top:12px}}
`;

/** The report's sections, for a page of its own (renderReportHtml) or inside the reviewer pages. */
export function reportContent(r: MonthlyReport): SafeHtml {
  const h = r.holds;
  return html`
<header>
<h1>${L.title.ja} ${r.month}<span class="en" lang="en">${L.title.en} ${r.month}</span></h1>
<p>${bi(L.clause)}</p>
</header>
<section class="card" aria-labelledby="h-summary">
<h2 id="h-summary">概要<span class="en" lang="en">Summary</span></h2>
<dl class="summary">
<dt>${L.period.ja} <span class="en" lang="en">${L.period.en}</span></dt><dd id="period">${bi(periodText(r.since, r.until, jstText))}${Date.parse(r.generatedAt) < Date.parse(r.until) ? html`<br><span id="running">${bi(L.running)}</span>` : ''}</dd>
<dt>${L.generated.ja} <span class="en" lang="en">${L.generated.en}</span></dt><dd>${jstText(r.generatedAt)} JST</dd>
<dt>${L.events.ja} <span class="en" lang="en">${L.events.en}</span></dt><dd id="events">${r.events}</dd>
<dt>${L.messages.ja} <span class="en" lang="en">${L.messages.en}</span></dt><dd id="messages">${r.messages}</dd>
<dt>${L.chainHead.ja} <span class="en" lang="en">${L.chainHead.en}</span></dt><dd><code id="chain-head" class="head">${formatHead(r.chainHead)}</code><br>${bi(L.chainHeadNote)}</dd>
</dl>
</section>
<section class="card" aria-labelledby="h-daily">
<h2 id="h-daily">${bi(DAILY_TITLE)}</h2>
${dailyChart('chart-daily', r.byDay, L.noMessages)}
</section>
<section class="card" aria-labelledby="h-actions">
<h2 id="h-actions">${bi(L.byAction)}</h2>
${countTable('by-action', r.byAction, { ja: '処理', en: 'Action' }, (k) => html`${eventType(k).ja} <span class="en" lang="en">${k}</span>`)}
</section>
<div class="grid">
<section class="card" aria-labelledby="h-rules">
<h2 id="h-rules">${bi(L.byRule)}</h2>
${r.byRule.length > 0 ? topChart('chart-rules', topTitle(L.byRule), r.byRule, L.none, ruleLabel) : ''}
${countTable('by-rule', r.byRule, { ja: 'ルール', en: 'Rule' }, (k) => named(ruleName(k), k))}
</section>
<section class="card" aria-labelledby="h-clauses">
<h2 id="h-clauses">${bi(L.byClause)}</h2>
${countTable('by-clause', r.byClause, { ja: '条項', en: 'Clause' })}
</section>
</div>
<section class="card" aria-labelledby="h-domains">
<h2 id="h-domains">${bi(L.bySenderDomain)}</h2>
${r.bySenderDomain.length > 0 ? topChart('chart-domains', topTitle(L.bySenderDomain), r.bySenderDomain, L.none) : ''}
${countTable('by-sender-domain', r.bySenderDomain, { ja: 'ドメイン', en: 'Domain' }, (k) => html`<span class="addr">${k}</span>`)}
</section>
<section class="card" aria-labelledby="h-holds">
<h2 id="h-holds">${bi(L.holds)}</h2>
<table id="holds">
<tbody>
${([['held', L.held, h.held], ['released', L.released, h.released], ['discarded', L.discarded, h.discarded], ['expired', L.expired, h.expired]] as const).map(
  ([id, label, n]) => html`<tr><th>${label.ja} <span class="en" lang="en">${label.en}</span></th><td class="n" id="holds-${id}">${n}</td></tr>`,
)}
<tr><th>${L.median.ja} <span class="en" lang="en">${L.median.en}</span></th><td class="n" id="median">${minutesCell(h.medianMinutesToRelease)}</td></tr>
</tbody>
</table>
<p>${bi({ ja: `送信までの時間は、この期間に送信された ${h.releasesMeasured} 件について、保留された時刻から送信された時刻までを測っています。`, en: `Measured over the ${h.releasesMeasured} releases of this period, from the time each message was held to the time it was released.` })}</p>
</section>
<section class="card" aria-labelledby="h-incidents">
<h2 id="h-incidents">${bi(L.incidents)}</h2>
<p>${bi(L.incidentLimit(r.incidentMinutes))}</p>
${r.incidents.length === 0 ? html`<p id="incidents">${bi(L.noIncidents)}</p>` : incidentTable(r)}
</section>
`;
}

/** A standalone, printable page (no external resources); pass the CSP nonce when serving it. */
export function renderReportHtml(r: MonthlyReport, options: { nonce?: string } = {}): string {
  return htmlDocument({
    title: `${L.title.ja} ${r.month} / ${L.title.en}`,
    styles: [STYLE, REPORT_STYLE],
    nonce: options.nonce,
    body: html`<main>
${reportContent(r)}
<footer>outguard — ${bi({ ja: '監査ログ（ハッシュチェーン）から作成', en: 'made from the hash-chained audit log' })}</footer>
</main>`,
  });
}

const topTitle = (t: Bilingual): Bilingual => ({ ja: `${t.ja}（上位 ${TOP}）`, en: `${t.en} (top ${TOP})` });
/** Minutes as the report shows them; under one in words (not 0 or 0.2 for a report sent in the same second). */
function minutesCell(minutes: number | null | undefined): SafeHtml | string {
  if (minutes === null || minutes === undefined) return '—';
  return minutes < 1 ? html`${L.underAMinute.ja}<span class="en" lang="en">${L.underAMinute.en}</span>` : String(minutes);
}

function countTable(id: string, counts: Count[], head: Bilingual, label: (key: string) => SafeHtml | string = (k) => k): SafeHtml {
  if (counts.length === 0) return html`<p id="${id}">${bi(L.none)}</p>`;
  return html`<table id="${id}">
<thead><tr><th>${head.ja} <span class="en" lang="en">${head.en}</span></th><th class="n">件数 <span class="en" lang="en">Count</span></th></tr></thead>
<tbody>
${counts.map((c) => html`<tr><td>${label(c.key)}</td><td class="n">${c.count}</td></tr>`)}
</tbody>
</table>`;
}

function incidentTable(r: MonthlyReport): SafeHtml {
  return html`<table id="incidents">
<thead><tr><th>ID</th><th>発生 <span class="en" lang="en">Opened</span></th><th>期限 <span class="en" lang="en">Deadline</span></th><th>報告 <span class="en" lang="en">Reported</span></th><th class="n">報告までの分 <span class="en" lang="en">Minutes</span></th><th>期限内 <span class="en" lang="en">In time</span></th><th>状態 <span class="en" lang="en">Status</span></th></tr></thead>
<tbody>
${r.incidents.map(
  (i) => html`<tr data-incident="${i.id}">
<td><span class="mono">${i.id}</span><div>${bi(triggerLabel(i.trigger))}${i.openedBy ? html` — ${named(actorName(i.openedBy), i.openedBy)}` : ''}</div>${i.subject ? html`<div>${i.subject}</div>` : ''}</td>
<td class="time">${jstText(i.openedAt)}</td>
<td class="time">${jstText(i.deadline)}</td>
<td class="time">${i.reportedAt ? html`${jstText(i.reportedAt)}${i.reportedBy ? html`<div>${named(actorName(i.reportedBy), i.reportedBy)}</div>` : ''}` : '—'}</td>
<td class="n">${minutesCell(i.minutesToReport)}</td>
<td>${i.withinLimit === null ? '—' : i.withinLimit ? html`はい <span class="en" lang="en">yes</span>` : html`いいえ <span class="en" lang="en">no</span>`}</td>
<td class="status-${i.status}">${INCIDENT_STATUS[i.status].ja}<span class="en" lang="en">${INCIDENT_STATUS[i.status].en}</span></td>
</tr>`,
)}
</tbody>
</table>`;
}
