import type { AuditHead, AuditStore } from './audit-store.js';
import { type Count, type DayCount, countEvents, decisionsByDay } from './counts.js';
import { type AuditEvent, GENESIS_HASH } from './events.js';
import { JST_OFFSET_MS } from '../util/japan-time.js';


export type { Count } from './counts.js';

/**
 * The monthly report (特記事項 第9: the client may ask for reports on how the clauses are kept),
 * computed from the audit log alone, so it shows exactly what the tamper-evident log holds.
 *
 * - The month is a calendar month in Japan time (JST, UTC+9, no daylight saving): 2026-10 is
 *   2026-10-01 00:00 JST (2026-09-30T15:00Z) up to, not including, 2026-11-01 00:00 JST.
 * - Messages, events by action, rules, clauses and sender domains are counted as counts.ts says
 *   (the reviewer dashboard counts the same way): a message is the gateway's decision on it; a
 *   451 (deferred) is no decision: the client sends the message again, and that try is counted;
 *   deferrals show only among the events by action. A decision followed by a deferred event of
 *   the same id (the next hop did not take the message after all) is not counted.
 * - Messages by day: the decisions of each day of the month (JST), by verdict, for the chart.
 * - Holds: held / released / discarded / expired events of the month. The time to release is
 *   measured per message from its 'held' event to its 'released' event, counted in the month of
 *   the release (a message held in September and released in October counts in October).
 * - Incidents (遵守事項 第2): 'incident-opened' (detail = incident id, time = opened, action =
 *   trigger, actor = opener) and 'incident-reported' (detail = incident id, time = reported,
 *   actor = reporter). Listed: those opened in the month, and those opened earlier and reported
 *   in it. Each is measured against its own deadline, as the incident pages measure it (the
 *   incident's record: incidentMinutes as it was when the incident was opened); only an incident
 *   whose record is gone falls back to today's incidentMinutes. Reported in time when reported
 *   by the deadline; overdue when unreported and the deadline has passed when the report is made.
 */

export const REPORT_TIME_ZONE = 'Asia/Tokyo (JST, UTC+9)';
const MONTH_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

export type IncidentStatus = 'reported-in-time' | 'reported-late' | 'overdue' | 'open';

export interface IncidentLine {
  id: string;
  /** ISO 8601 UTC. */
  openedAt: string;
  /** What opened it: the 'incident-opened' event's action (rule, mistake, manual, …). */
  trigger: string;
  openedBy: string;
  messageId?: string;
  subject?: string;
  reportedAt?: string;
  reportedBy?: string;
  /** The incident's own deadline, ISO 8601 UTC. */
  deadline: string;
  /** Minutes from opened to reported, one decimal. */
  minutesToReport?: number;
  /** Reported by the deadline; null while unreported. */
  withinLimit: boolean | null;
  status: IncidentStatus;
}

export interface MonthlyReport {
  /** YYYY-MM. */
  month: string;
  timeZone: string;
  /** The month's bounds as ISO 8601 UTC instants: since ≤ time < until. */
  since: string;
  until: string;
  generatedAt: string;
  /** compliance.incidentMinutes: the limit incidents are measured against. */
  incidentMinutes: number;
  /**
   * The audit chain's head at the end of the period (COUNT:MAC): kept with the printed report, it
   * is an anchor no one with access to the server can change (`outguard audit verify --expect`).
   */
  chainHead: AuditHead;
  /** Audit events in the month. */
  events: number;
  /** Message decisions in the month (see the top of this file). */
  messages: number;
  /** Every event of the month by type (delivered, rejected, held, released, …), most first. */
  byAction: Count[];
  /** Message decisions that named each rule, most first. */
  byRule: Count[];
  byClause: Count[];
  /** Message decisions by the envelope sender's domain ('<>' for the null sender). */
  bySenderDomain: Count[];
  /** Message decisions on each day of the month (JST), by verdict, oldest first. */
  byDay: DayCount[];
  holds: {
    held: number;
    released: number;
    discarded: number;
    expired: number;
    /** Releases whose 'held' event was found, i.e. the ones the median is over. */
    releasesMeasured: number;
    /** Median minutes from held to released, one decimal; null without releases. */
    medianMinutesToRelease: number | null;
  };
  incidents: IncidentLine[];
}

export interface MonthlyReportOptions {
  /** compliance.incidentMinutes (default 60): the deadline of an incident whose record is gone. */
  incidentMinutes?: number;
  /** An incident's own deadline (ms) from its record (IncidentStore.get); undefined when there is none. */
  deadlineOf?: (incidentId: string) => Promise<number | undefined>;
  /** When the report is made (overdue is judged at this time); default now. */
  now?: () => number;
}

/** MonthlyReportOptions.deadlineOf over the incidents' records (the incident store, or the pages' IncidentActions). */
export function deadlinesFrom(incidents: { get(id: string): Promise<{ deadline: number } | null> }): (incidentId: string) => Promise<number | undefined> {
  return async (id) => (await incidents.get(id))?.deadline;
}

/** The bounds of a month in JST; throws RangeError naming the expected form for anything but YYYY-MM. */
export function monthBounds(month: string): { since: Date; until: Date } {
  const m = MONTH_PATTERN.exec(month);
  const year = Number(m?.[1]);
  // Date.UTC reads years below 100 as 19xx; no audit log is older than 1970 anyway
  if (!m || year < 1970) throw new RangeError(`a month must be written YYYY-MM, such as 2026-10, got "${month}"`);
  const index = Number(m[2]) - 1;
  return { since: new Date(Date.UTC(year, index, 1) - JST_OFFSET_MS), until: new Date(Date.UTC(year, index + 1, 1) - JST_OFFSET_MS) };
}

/** The month (YYYY-MM) an instant falls in, in JST, or `offset` months from it. */
export function monthOf(time: number | string, offset = 0): string {
  const jst = new Date(new Date(time).getTime() + JST_OFFSET_MS);
  const month = new Date(Date.UTC(jst.getUTCFullYear(), jst.getUTCMonth() + offset, 1));
  return `${month.getUTCFullYear()}-${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The month before the one `now` falls in, in JST: the default of `outguard report`. */
export function previousMonth(now: number = Date.now()): string {
  return monthOf(now, -1);
}

/**
 * The month the report page opens on: the previous month, the one to hand in — unless it has no
 * events (the first days of use), then the most recent month that has any (this month, so far),
 * or this month when the log is empty.
 */
export async function defaultReportMonth(store: Pick<AuditStore, 'list'>, now: number): Promise<string> {
  const previous = previousMonth(now);
  const { since, until } = monthBounds(previous);
  if ((await store.list({ since, until, limit: 1 })).length > 0) return previous;
  const [latest] = await store.list({ until: monthBounds(monthOf(now)).until, order: 'desc', limit: 1 });
  return monthOf(latest?.time ?? now);
}

export async function monthlyReport(store: Pick<AuditStore, 'list'>, month: string, options: MonthlyReportOptions = {}): Promise<MonthlyReport> {
  const { since, until } = monthBounds(month);
  const now = (options.now ?? Date.now)();
  const incidentMinutes = options.incidentMinutes ?? 60;
  const events = await store.list({ since, until });
  const counts = countEvents(events);
  const ofType = (type: string) => events.filter((e) => e.type === type);
  // the last event before the period's end (the head now, for a month still running)
  const [last] = await store.list({ until, order: 'desc', limit: 1 });

  return {
    month,
    chainHead: last ? { count: last.seq, mac: last.hash } : { count: 0, mac: GENESIS_HASH },
    timeZone: REPORT_TIME_ZONE,
    since: since.toISOString(),
    until: until.toISOString(),
    generatedAt: new Date(now).toISOString(),
    incidentMinutes,
    events: events.length,
    ...counts,
    byDay: decisionsByDay(events, since, until),
    holds: {
      held: ofType('held').length,
      ...(await releaseTimes(store, ofType('released'))),
      discarded: ofType('discarded').length,
      expired: ofType('expired').length,
    },
    incidents: await incidentLines(store, events, since, now, options.deadlineOf ?? (() => Promise.resolve(undefined)), incidentMinutes),
  };
}

async function releaseTimes(store: Pick<AuditStore, 'list'>, released: AuditEvent[]): Promise<{ released: number; releasesMeasured: number; medianMinutesToRelease: number | null }> {
  const minutes: number[] = [];
  for (const r of released) {
    if (r.messageId === undefined) continue;
    const [held] = await store.list({ messageId: r.messageId, type: 'held', until: r.time, limit: 1 });
    if (held) minutes.push((Date.parse(r.time) - Date.parse(held.time)) / 60_000);
  }
  return { released: released.length, releasesMeasured: minutes.length, medianMinutesToRelease: minutes.length === 0 ? null : oneDecimal(median(minutes)) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const oneDecimal = (n: number) => Math.round(n * 10) / 10;

async function incidentLines(
  store: Pick<AuditStore, 'list'>,
  monthEvents: AuditEvent[],
  since: Date,
  now: number,
  deadlineOf: (id: string) => Promise<number | undefined>,
  fallbackMinutes: number,
): Promise<IncidentLine[]> {
  // opened in the month, or opened earlier and reported in it
  const openedHere = monthEvents.filter((e) => e.type === 'incident-opened' && e.detail);
  const ids = new Set(openedHere.map((e) => e.detail!));
  const reportedHere = monthEvents.filter((e) => e.type === 'incident-reported' && e.detail && !ids.has(e.detail));
  const openedBefore = reportedHere.length === 0 ? [] : (await store.list({ type: 'incident-opened', until: since })).filter((e) => reportedHere.some((r) => r.detail === e.detail));
  const opened = [...openedBefore, ...openedHere];
  // the first report of each, also when it came after the month ended
  const reports = new Map<string, AuditEvent>();
  if (opened.length > 0) {
    for (const r of await store.list({ type: 'incident-reported', since: opened[0]!.time })) if (r.detail && !reports.has(r.detail)) reports.set(r.detail, r);
  }
  const lines: IncidentLine[] = [];
  for (const o of opened) {
    const openedMs = Date.parse(o.time);
    const deadline = (await deadlineOf(o.detail!)) ?? openedMs + fallbackMinutes * 60_000;
    const r = reports.get(o.detail!);
    const line: IncidentLine = {
      id: o.detail!,
      openedAt: o.time,
      trigger: o.action ?? '',
      openedBy: o.actor ?? '',
      ...(o.messageId !== undefined ? { messageId: o.messageId } : {}),
      ...(o.subject !== undefined ? { subject: o.subject } : {}),
      deadline: new Date(deadline).toISOString(),
      withinLimit: null,
      status: now > deadline ? 'overdue' : 'open',
    };
    if (!r) {
      lines.push(line);
      continue;
    }
    const reportedMs = Date.parse(r.time);
    const inTime = reportedMs <= deadline;
    lines.push({
      ...line,
      reportedAt: r.time,
      reportedBy: r.actor ?? '',
      minutesToReport: oneDecimal((reportedMs - openedMs) / 60_000),
      withinLimit: inTime,
      status: inTime ? 'reported-in-time' : 'reported-late',
    });
  }
  return lines;
}
