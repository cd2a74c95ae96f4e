import type { AuditStore } from '../audit/audit-store.js';
import { type DayCount, type EventCounts, countEvents, decisionsByDay, jstDay, jstDayStart } from '../audit/counts.js';
import type { Incident, IncidentActions, IncidentStatus } from '../audit/incident-types.js';
import { monthBounds } from '../audit/report.js';
import type { Hold, HoldAdmin } from '../hold/types.js';

/** Where the dashboard reads from; without holds or incidents it leaves those parts out. */
export interface DashboardSources {
  audit: Pick<AuditStore, 'list'>;
  holds?: Pick<HoldAdmin, 'waiting'>;
  incidents?: Pick<IncidentActions, 'list' | 'status'>;
}

/** The reviewer's day at a glance, as of `now`. */
export interface Dashboard {
  now: number;
  /** Today and this month in Japan time: YYYY-MM-DD, YYYY-MM. */
  day: string;
  month: string;
  today: EventCounts;
  thisMonth: EventCounts;
  /** Every day of this month, by verdict (the days still to come are 0). */
  byDay: DayCount[];
  /** Holds waiting for a decision, oldest first (at most HOLDS_SHOWN), and how many there are. */
  holds?: { total: number; oldest: Hold[] };
  /** Incidents not reported yet, the nearest (or longest passed) deadline first. */
  incidents?: { incident: Incident; status: IncidentStatus }[];
}

export const HOLDS_SHOWN = 20;

/**
 * The dashboard's figures, counted as the monthly report counts them (counts.ts) over the same
 * month in Japan time, so the two never disagree.
 */
export async function dashboardData(s: DashboardSources, now: number): Promise<Dashboard> {
  const day = jstDay(now);
  const month = day.slice(0, 7);
  const { since, until } = monthBounds(month);
  const [events, holds, open] = await Promise.all([
    s.audit.list({ since, until }),
    s.holds?.waiting(HOLDS_SHOWN),
    s.incidents?.list({ open: true }),
  ]);
  return {
    now,
    day,
    month,
    today: countEvents(events, jstDayStart(now)),
    thisMonth: countEvents(events),
    byDay: decisionsByDay(events, since, until),
    ...(holds ? { holds } : {}),
    ...(open && s.incidents
      ? { incidents: open.sort((a, b) => a.deadline - b.deadline).map((incident) => ({ incident, status: s.incidents!.status(incident, now) })) }
      : {}),
  };
}
