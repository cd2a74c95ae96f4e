import { randomFillSync } from 'node:crypto';

/**
 * Incidents (遵守事項 第2: report to the client's contact within 60 minutes of first recognising
 * an incident). An incident records what happened to which message, when it was recognised, the
 * deadline, and when and by whom it was reported. Its status is computed from those times.
 */

/** What opened the incident: a person (page or CLI), the sender's 間違いだった button, or a rule marked `incident: true`. */
export type IncidentTrigger = 'manual' | 'mistake' | 'rule';
export const INCIDENT_TRIGGERS: readonly IncidentTrigger[] = ['manual', 'mistake', 'rule'];

/**
 * - open: not reported, the deadline has not passed;
 * - overdue: not reported, the deadline has passed;
 * - reported: reported by the deadline;
 * - reported-late: reported, but after the deadline (still overdue as far as 第2 is concerned).
 */
export type IncidentStatus = 'open' | 'overdue' | 'reported' | 'reported-late';

/** Whether the password of the message's encrypted ZIP(s) went out, when the incident was opened. */
export type PasswordState =
  /** a password notice was accepted by the next hop */
  | 'sent'
  /** a password notice is queued and has not gone out yet */
  | 'pending'
  /** the password notice failed or was cancelled */
  | 'not-sent'
  /** nothing of the message was encrypted (or it was never sent) */
  | 'not-applicable'
  /** the message was encrypted, but its notices are no longer on record */
  | 'unknown';

/** What became of the message, as far as outguard knows. */
export type MessageState = 'sent' | 'held' | 'not-sent' | 'unknown';

/** The message an incident is about, as it stood when the incident was opened. Never a body or a password. */
export interface IncidentMessage {
  sender: string;
  recipients: string[];
  subject: string;
  attachments: { name: string; sha256: string }[];
  rules: string[];
  clauses: string[];
  state: MessageState;
  password: PasswordState;
}

export interface Incident {
  /** INC-YYYYMMDD-xxxxxx (the date in Japan time). */
  id: string;
  /** The outguard id of the message (X-Outguard-Id), when the incident is about one. */
  messageId?: string;
  /** The moment the incident was recognised (ms): the 60 minutes count from here. */
  openedAt: number;
  /** openedAt + compliance.incidentMinutes. */
  deadline: number;
  trigger: IncidentTrigger;
  /** A reviewer's login, a sender's address, `policy:<rule-id>`, or the CLI user. */
  openedBy: string;
  /** What happened, in the words of whoever opened it (or the rule's message). */
  summary: string;
  /** The message as it stood when the incident was opened. */
  message?: IncidentMessage;
  /** The outbox job of the notification to the client's contact, once queued. */
  noticeId?: string;
  /** When the next hop accepted the notification, and to whom it went. */
  notifiedAt?: number;
  notifiedTo?: string[];
  /** Why the notification could not be sent (it failed for good): someone must report by hand. */
  noticeError?: string;
  /** When it was reported and by whom (`outguard (for <openedBy>)` when the notification did it). */
  reportedAt?: number;
  reportedBy?: string;
  /** notified: the notification went out; recorded: a person recorded a report made another way. */
  reportedHow?: 'notified' | 'recorded';
  reportNote?: string;
  /** When the overdue warning was written (once). */
  overdueAt?: number;
}

export type NewIncident = Omit<Incident, 'noticeId' | 'notifiedAt' | 'notifiedTo' | 'noticeError' | 'reportedAt' | 'reportedBy' | 'reportedHow' | 'reportNote' | 'overdueAt'>;

export interface IncidentFilter {
  /** Only incidents not reported yet (open and overdue). */
  open?: boolean;
  messageId?: string;
  /** At most this many, newest first. Default 1000. */
  limit?: number;
}

/** The storage of incidents; the SQLite backend is src/store/sqlite-incidents.ts. */
export interface IncidentStore {
  /** Stores a new incident; throws DuplicateIncidentError if the id exists. */
  create(incident: NewIncident): Promise<void>;
  get(id: string): Promise<Incident | null>;
  /** Newest first. */
  list(filter?: IncidentFilter): Promise<Incident[]>;
  /** Records the outbox job of the notification. */
  setNotice(id: string, noticeId: string): Promise<void>;
  /** The next hop accepted the notification. */
  markNotified(id: string, at: number, to: string[]): Promise<void>;
  /** The notification failed for good. */
  markNoticeFailed(id: string, error: string): Promise<void>;
  /** Records the report; false (and nothing changes) when it was reported already. */
  markReported(id: string, report: { at: number; by: string; how: 'notified' | 'recorded'; note?: string }): Promise<boolean>;
  /** Unreported incidents past their deadline whose overdue warning was not written yet, oldest deadline first. */
  overdueUnwarned(now: number, limit: number): Promise<Incident[]>;
  /** Marks the overdue warning written; false when another process did it first. */
  markOverdueWarned(id: string, at: number): Promise<boolean>;
  /** The earliest deadline of an unreported incident without an overdue warning; null if none. */
  nextDeadline(): Promise<number | null>;
  close(): Promise<void>;
}

export class DuplicateIncidentError extends Error {
  constructor(readonly id: string) {
    super(`incident ${id} already exists`);
    this.name = 'DuplicateIncidentError';
  }
}

/** What a person opening an incident gives. */
export interface OpenRequest {
  messageId: string;
  reason: string;
  /** A reviewer's login or the CLI user. */
  by: string;
}

/** Why an action on an incident did not happen. */
export type IncidentProblem = 'unknown-incident' | 'unknown-message' | 'already-reported' | 'invalid';

/**
 * What the reviewer pages and the CLI may do with incidents (IncidentService implements it), so
 * they stay a thin layer.
 */
export interface IncidentActions {
  list(filter?: IncidentFilter): Promise<Incident[]>;
  get(id: string): Promise<Incident | null>;
  /** Opens a manual incident about a message and notifies the client's contact at once. */
  open(request: OpenRequest): Promise<{ incident: Incident } | { problem: IncidentProblem; detail: string }>;
  /** Records a report made another way (phone, in person). */
  markReported(id: string, by: string, note?: string): Promise<{ incident: Incident } | { problem: IncidentProblem; detail: string }>;
  /** The status now (or at `now`). */
  status(incident: Incident, now?: number): IncidentStatus;
  /** The prefilled report, Japanese then English, as sent (or to be given by hand) to the client's contact. */
  reportText(incident: Incident): string;
  /** Whether a new incident's report is mailed to the client's contact (compliance.clientContact is set). */
  readonly mailsReports: boolean;
}

export function incidentStatus(incident: Pick<Incident, 'deadline' | 'reportedAt'>, now: number): IncidentStatus {
  if (incident.reportedAt !== undefined) return incident.reportedAt > incident.deadline ? 'reported-late' : 'reported';
  return now > incident.deadline ? 'overdue' : 'open';
}

export const STATUS_LABELS: Record<IncidentStatus, { ja: string; en: string }> = {
  open: { ja: '未報告（期限内）', en: 'open' },
  overdue: { ja: '期限超過・未報告', en: 'overdue, not reported' },
  reported: { ja: '報告済み', en: 'reported' },
  'reported-late': { ja: '報告済み（期限超過）', en: 'reported late' },
};

const ID_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const ID_PATTERN = /^INC-\d{8}-[a-z2-9]{6}$/;

export function isIncidentId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** INC-YYYYMMDD-xxxxxx: the date in Japan time (the client's), then 6 random characters. */
export function newIncidentId(at: number): string {
  const day = new Date(at + 9 * 3_600_000).toISOString().slice(0, 10).replace(/-/g, '');
  const bytes = randomFillSync(Buffer.alloc(6));
  return `INC-${day}-${[...bytes].map((b) => ID_ALPHABET[b & 31]).join('')}`;
}
