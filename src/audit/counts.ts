import type { AuditEvent } from './events.js';

/**
 * How the gateway's work is counted, in one place, so that the monthly report and the reviewer
 * dashboard never disagree (特記事項 第9).
 *
 * - A message decision is one event of type delivered, encrypted, rejected or held that names the
 *   sender (the outbox's delivery events of released copies and notices name none). Rules,
 *   clauses and sender domains are counted over decisions, once per message.
 * - A decision followed by a deferred or next-hop-refused event of the same id (the next hop did not take the message
 *   after its event was written) was not carried out: it is counted neither as a message nor
 *   among the events by action; the client's next try is. The deferral itself is counted by action.
 * - Days are calendar days in Japan time (JST, UTC+9, no daylight saving).
 */

export const DECISION_TYPES = ['delivered', 'encrypted', 'held', 'rejected'] as const;
export type DecisionType = (typeof DECISION_TYPES)[number];

export interface Count {
  key: string;
  count: number;
}

export interface EventCounts {
  /** Message decisions. */
  messages: number;
  /** Events by type (delivered, rejected, held, released, …), most first. */
  byAction: Count[];
  /** Message decisions that named each rule, most first. */
  byRule: Count[];
  byClause: Count[];
  /** Message decisions by the envelope sender's domain ('<>' for the null sender). */
  bySenderDomain: Count[];
}

/** One day's message decisions by verdict. */
export type DayCount = { day: string } & Record<DecisionType, number>;

const JST_OFFSET_MS = 9 * 3_600_000;
const DAY_MS = 86_400_000;
const DECISIONS = new Set<string>(DECISION_TYPES);

/** The calendar day in Japan time, YYYY-MM-DD, of an instant. */
export function jstDay(time: string | number | Date): string {
  return new Date(new Date(time).getTime() + JST_OFFSET_MS).toISOString().slice(0, 10);
}

/** Midnight in Japan starting the day `time` falls in, as ms. */
export function jstDayStart(time: number): number {
  return Math.floor((time + JST_OFFSET_MS) / DAY_MS) * DAY_MS - JST_OFFSET_MS;
}

/** The events that count: `events` without the decisions their own deferred or next-hop-refused event undid. */
function counted(events: readonly AuditEvent[]): { all: AuditEvent[]; decisions: AuditEvent[] } {
  const undone = new Set(events.filter((e) => e.type === 'deferred' || e.type === 'next-hop-refused').map((e) => e.messageId));
  const isDecision = (e: AuditEvent) => DECISIONS.has(e.type) && e.sender !== undefined;
  const all = events.filter((e) => !(isDecision(e) && undone.has(e.messageId)));
  return { all, decisions: all.filter(isDecision) };
}

const within = (e: AuditEvent, since: number) => Date.parse(e.time) >= since;

/**
 * The counts of `events` (a period read from the log); with `since`, only of those at or after it
 * (today within the month: a deferral anywhere in `events` still undoes its decision).
 */
export function countEvents(events: readonly AuditEvent[], since = -Infinity): EventCounts {
  const c = counted(events);
  const all = c.all.filter((e) => within(e, since));
  const decisions = c.decisions.filter((e) => within(e, since));
  return {
    messages: decisions.length,
    byAction: tally(all.map((e) => [e.type])),
    byRule: tally(decisions.map((e) => e.rules ?? [])),
    byClause: tally(decisions.map((e) => e.clauses ?? [])),
    bySenderDomain: tally(decisions.map((e) => [senderDomain(e.sender!)])),
  };
}

/** Message decisions by verdict for every day (Japan time) from `since` up to, not including, `until`. */
export function decisionsByDay(events: readonly AuditEvent[], since: Date, until: Date): DayCount[] {
  const days = new Map<string, DayCount>();
  for (let t = jstDayStart(since.getTime()); t < until.getTime(); t += DAY_MS) {
    const day = jstDay(t);
    days.set(day, { day, delivered: 0, encrypted: 0, held: 0, rejected: 0 });
  }
  for (const e of counted(events).decisions) {
    const row = days.get(jstDay(e.time));
    if (row) row[e.type as DecisionType]++;
  }
  return [...days.values()];
}

/** Counts each key once per entry; most first, then by key. */
function tally(entries: string[][]): Count[] {
  const counts = new Map<string, number>();
  for (const keys of entries) for (const key of new Set(keys)) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function senderDomain(sender: string): string {
  if (sender === '') return '<>';
  const at = sender.lastIndexOf('@');
  return at < 0 ? sender.toLowerCase() : sender.slice(at + 1).toLowerCase();
}
