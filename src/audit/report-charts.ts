import { type Count, DECISION_TYPES, type DayCount } from './counts.js';
import { eventType } from './event-names.js';
import { ruleName } from '../policy/rule-names.js';
import { horizontalBarChart, stackedBarChart } from '../render/chart.js';
import type { SafeHtml } from '../render/html.js';
import type { Bilingual } from '../render/bilingual.js';

/** The charts the monthly report and the reviewer dashboard share, made from the same counts (counts.ts). */

/** How many rules or domains a top chart shows. */
export const TOP = 10;

export const DAILY_TITLE: Bilingual = { ja: '日別の判定件数', en: 'Messages judged per day' };

/** The month's message decisions per day (JST), stacked by verdict. */
export function dailyChart(id: string, byDay: DayCount[], empty: Bilingual): SafeHtml {
  return stackedBarChart({
    id,
    title: DAILY_TITLE,
    category: { ja: '日（日本時間）', en: 'Day (JST)' },
    series: DECISION_TYPES.map(eventType),
    bars: byDay.map((d) => ({ tick: String(Number(d.day.slice(8))), name: d.day, values: DECISION_TYPES.map((t) => d[t]) })),
    empty,
  });
}

/** The first TOP counts as horizontal bars, each labelled by `label` (the key itself unless given). */
export function topChart(id: string, title: Bilingual, counts: Count[], empty: Bilingual, label: (key: string) => string = (key) => key): SafeHtml {
  return horizontalBarChart({ id, title, items: counts.slice(0, TOP).map((c) => ({ label: label(c.key), value: c.count })), empty });
}

/** A rule in a chart: its name in words (Japanese; the table beside it gives the English and the id). */
export const ruleLabel = (id: string): string => ruleName(id).ja;
