import {
  DuplicateIncidentError,
  INCIDENT_TRIGGERS,
  type Incident,
  type IncidentFilter,
  type IncidentMessage,
  type IncidentStore,
  type IncidentTrigger,
  type NewIncident,
} from '../audit/incident-types.js';
import { type Migration, type OpenDatabaseOptions, type SqliteDatabase, migrate, openOwned } from './sqlite.js';

export const INCIDENTS_COMPONENT = 'incidents';

const MIGRATIONS: readonly Migration[] = [
  (db) =>
    db.exec(`
      CREATE TABLE incidents (
        id            TEXT PRIMARY KEY,
        message_id    TEXT,
        opened_at     INTEGER NOT NULL,       -- ms since the epoch: when it was recognised
        deadline      INTEGER NOT NULL,
        trigger       TEXT NOT NULL CHECK (trigger IN ('manual', 'mistake', 'rule')),
        opened_by     TEXT NOT NULL,
        summary       TEXT NOT NULL,
        message       TEXT,                   -- JSON IncidentMessage (no body, no password)
        notice_id     TEXT,
        notified_at   INTEGER,
        notified_to   TEXT,                   -- JSON array of addresses
        notice_error  TEXT,
        reported_at   INTEGER,
        reported_by   TEXT,
        reported_how  TEXT CHECK (reported_how IN ('notified', 'recorded')),
        report_note   TEXT,
        overdue_at    INTEGER
      ) STRICT;
      CREATE INDEX incidents_opened ON incidents (opened_at);
      CREATE INDEX incidents_unreported ON incidents (deadline) WHERE reported_at IS NULL;
      CREATE INDEX incidents_message ON incidents (message_id) WHERE message_id IS NOT NULL;
    `),
];

interface Row {
  id: string;
  message_id: string | null;
  opened_at: number;
  deadline: number;
  trigger: IncidentTrigger;
  opened_by: string;
  summary: string;
  message: string | null;
  notice_id: string | null;
  notified_at: number | null;
  notified_to: string | null;
  notice_error: string | null;
  reported_at: number | null;
  reported_by: string | null;
  reported_how: 'notified' | 'recorded' | null;
  report_note: string | null;
  overdue_at: number | null;
}

/**
 * Incidents in SQLite (DATA_DIR/outguard.db, table incidents), beside the audit log. They hold
 * what the audit events hold (addresses, subject, attachment names and hashes), never a body or
 * a password, so they are stored in clear like the audit log. Several processes may open the
 * file (the gateway, `outguard incident …`): every change is one conditional UPDATE.
 */
export class SqliteIncidentStore implements IncidentStore {
  private readonly db: SqliteDatabase;
  private readonly ownsDb: boolean;
  private readonly stmt: ReturnType<typeof prepareStatements>;

  /** Opens DATA_DIR/outguard.db and brings the incidents table up to date. */
  static open(dataDir: string, options: OpenDatabaseOptions = {}): SqliteIncidentStore {
    return openOwned(dataDir, options, (db) => new SqliteIncidentStore(db, { ownsDb: true }));
  }

  /** Uses an open database (see openDatabase); close() closes it only when ownsDb. */
  constructor(db: SqliteDatabase, options: { ownsDb?: boolean } = {}) {
    this.db = db;
    this.ownsDb = options.ownsDb ?? false;
    migrate(db, INCIDENTS_COMPONENT, MIGRATIONS);
    this.stmt = prepareStatements(db);
  }

  async create(incident: NewIncident): Promise<void> {
    validate(incident);
    this.db
      .transaction(() => {
        if (this.stmt.exists.get(incident.id)) throw new DuplicateIncidentError(incident.id);
        this.stmt.insert.run({
          id: incident.id,
          message_id: incident.messageId ?? null,
          opened_at: incident.openedAt,
          deadline: incident.deadline,
          trigger: incident.trigger,
          opened_by: incident.openedBy,
          summary: incident.summary,
          message: incident.message ? JSON.stringify(incident.message) : null,
        });
      })
      .immediate();
  }

  async get(id: string): Promise<Incident | null> {
    const row = this.stmt.get.get(id) as Row | undefined;
    return row ? toIncident(row) : null;
  }

  async list(filter: IncidentFilter = {}): Promise<Incident[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: Math.max(1, Math.floor(filter.limit ?? 1000)) };
    if (filter.open) where.push('reported_at IS NULL');
    if (filter.messageId !== undefined) {
      where.push('message_id = @message_id');
      params.message_id = filter.messageId;
    }
    const sql = `SELECT * FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at DESC, id DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as Row[]).map(toIncident);
  }

  async setNotice(id: string, noticeId: string): Promise<void> {
    this.stmt.setNotice.run({ id, notice_id: noticeId });
  }

  async markNotified(id: string, at: number, to: string[]): Promise<void> {
    this.stmt.notified.run({ id, at, to: JSON.stringify(to) });
  }

  async markNoticeFailed(id: string, error: string): Promise<void> {
    this.stmt.noticeFailed.run({ id, error: error.slice(0, 2000) });
  }

  async markReported(id: string, report: { at: number; by: string; how: 'notified' | 'recorded'; note?: string }): Promise<boolean> {
    return this.stmt.reported.run({ id, at: report.at, by: report.by, how: report.how, note: report.note ?? null }).changes === 1;
  }

  async overdueUnwarned(now: number, limit: number): Promise<Incident[]> {
    return (this.stmt.overdue.all({ now, limit: Math.max(1, Math.floor(limit)) }) as Row[]).map(toIncident);
  }

  async markOverdueWarned(id: string, at: number): Promise<boolean> {
    return this.stmt.warned.run({ id, at }).changes === 1;
  }

  async nextDeadline(): Promise<number | null> {
    return (this.stmt.nextDeadline.get() as { at: number | null }).at;
  }

  async close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close();
  }
}

function prepareStatements(db: SqliteDatabase) {
  return {
    exists: db.prepare('SELECT 1 FROM incidents WHERE id = ?'),
    insert: db.prepare(`INSERT INTO incidents (id, message_id, opened_at, deadline, trigger, opened_by, summary, message)
      VALUES (@id, @message_id, @opened_at, @deadline, @trigger, @opened_by, @summary, @message)`),
    get: db.prepare('SELECT * FROM incidents WHERE id = ?'),
    setNotice: db.prepare('UPDATE incidents SET notice_id = @notice_id WHERE id = @id'),
    notified: db.prepare('UPDATE incidents SET notified_at = @at, notified_to = @to, notice_error = NULL WHERE id = @id AND notified_at IS NULL'),
    noticeFailed: db.prepare('UPDATE incidents SET notice_error = @error WHERE id = @id AND notified_at IS NULL'),
    reported: db.prepare(`UPDATE incidents SET reported_at = @at, reported_by = @by, reported_how = @how, report_note = @note
      WHERE id = @id AND reported_at IS NULL`),
    overdue: db.prepare(`SELECT * FROM incidents WHERE reported_at IS NULL AND overdue_at IS NULL AND deadline < @now
      ORDER BY deadline, id LIMIT @limit`),
    warned: db.prepare('UPDATE incidents SET overdue_at = @at WHERE id = @id AND overdue_at IS NULL AND reported_at IS NULL'),
    nextDeadline: db.prepare('SELECT MIN(deadline) AS at FROM incidents WHERE reported_at IS NULL AND overdue_at IS NULL'),
  };
}

function toIncident(row: Row): Incident {
  return {
    id: row.id,
    ...(row.message_id !== null ? { messageId: row.message_id } : {}),
    openedAt: row.opened_at,
    deadline: row.deadline,
    trigger: row.trigger,
    openedBy: row.opened_by,
    summary: row.summary,
    ...(row.message !== null ? { message: JSON.parse(row.message) as IncidentMessage } : {}),
    ...(row.notice_id !== null ? { noticeId: row.notice_id } : {}),
    ...(row.notified_at !== null ? { notifiedAt: row.notified_at } : {}),
    ...(row.notified_to !== null ? { notifiedTo: JSON.parse(row.notified_to) as string[] } : {}),
    ...(row.notice_error !== null ? { noticeError: row.notice_error } : {}),
    ...(row.reported_at !== null ? { reportedAt: row.reported_at } : {}),
    ...(row.reported_by !== null ? { reportedBy: row.reported_by } : {}),
    ...(row.reported_how !== null ? { reportedHow: row.reported_how } : {}),
    ...(row.report_note !== null ? { reportNote: row.report_note } : {}),
    ...(row.overdue_at !== null ? { overdueAt: row.overdue_at } : {}),
  };
}

function validate(i: NewIncident): void {
  if (typeof i.id !== 'string' || i.id === '') throw new TypeError('an incident needs an id');
  if (!INCIDENT_TRIGGERS.includes(i.trigger)) throw new TypeError(`incident ${i.id}: unknown trigger ${String(i.trigger)}`);
  if (!Number.isFinite(i.openedAt) || !Number.isFinite(i.deadline) || i.deadline < i.openedAt) {
    throw new TypeError(`incident ${i.id}: openedAt and deadline must be times (ms), the deadline not before openedAt`);
  }
  if (typeof i.openedBy !== 'string' || i.openedBy === '') throw new TypeError(`incident ${i.id}: openedBy is required`);
  if (typeof i.summary !== 'string') throw new TypeError(`incident ${i.id}: summary must be a string`);
}
