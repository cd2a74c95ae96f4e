import { formatHead } from './anchor.js';
import { csvDocument } from './export.js';
import type { Count, MonthlyReport } from './report.js';
import { jstText } from '../util/japan-time.js';
import { INCIDENT_STATUS, REPORT_LABELS as L, periodText } from './report-labels.js';
import { eventType } from './event-names.js';
import type { Bilingual } from '../render/bilingual.js';

const both = (b: Bilingual) => `${b.ja} / ${b.en}`;

const HEADER = [
  '区分 / section',
  '項目 / item',
  '件数・値 / value',
  '発生（日本時間） / opened (JST)',
  '期限（日本時間） / deadline (JST)',
  '報告（日本時間） / reported (JST)',
  '報告までの分 / minutes to report',
  '期限内 / within limit',
  '備考 / note',
];

/**
 * The monthly report as one CSV table (UTF-8 with BOM, formula injection neutralised: export.ts):
 * a row per figure, sections named in the first column; incident rows also fill the time columns.
 */
export function renderReportCsv(r: MonthlyReport): string {
  const row = (section: Bilingual, item: string, value: string | number, note = '') => [both(section), item, value, '', '', '', '', '', note];
  const counts = (section: Bilingual, list: Count[], label: (key: string) => string = (k) => k) =>
    list.length === 0 ? [row(section, both(L.none), 0)] : list.map((c) => row(section, label(c.key), c.count));
  const yesNo = (v: boolean | null) => (v === null ? '' : v ? 'はい / yes' : 'いいえ / no');
  return csvDocument([
    HEADER,
    row(L.period, r.month, '', both(periodText(r.since, r.until, jstText))),
    row(L.generated, jstText(r.generatedAt), '', r.generatedAt),
    row(L.events, '', r.events),
    row(L.chainHead, formatHead(r.chainHead), '', both(L.chainHeadNote)),
    row(L.messages, '', r.messages),
    ...counts(L.byAction, r.byAction, (k) => both(eventType(k))),
    ...counts(L.byRule, r.byRule),
    ...counts(L.byClause, r.byClause),
    ...counts(L.bySenderDomain, r.bySenderDomain),
    row(L.holds, both(L.held), r.holds.held),
    row(L.holds, both(L.released), r.holds.released),
    row(L.holds, both(L.discarded), r.holds.discarded),
    row(L.holds, both(L.expired), r.holds.expired),
    row(L.holds, both(L.median), r.holds.medianMinutesToRelease ?? '', `${r.holds.releasesMeasured} releases measured`),
    ...r.incidents.map((i) => [
      both(L.incidents),
      i.id,
      both(INCIDENT_STATUS[i.status]),
      jstText(i.openedAt),
      jstText(i.deadline),
      i.reportedAt ? jstText(i.reportedAt) : '',
      i.minutesToReport ?? '',
      yesNo(i.withinLimit),
      [`trigger: ${i.trigger}`, `opened by: ${i.openedBy}`, i.reportedBy ? `reported by: ${i.reportedBy}` : '', i.messageId ? `message: ${i.messageId}` : '']
        .filter(Boolean)
        .join('; '),
    ]),
  ]);
}
