import { type Migration, type OpenDatabaseOptions, type SqliteDatabase, migrate, openOwned } from '../store/sqlite.js';
import type { AuditFilter, AuditStore, AuditVerification } from './audit-store.js';
import { type AuditAttachment, type AuditEvent, GENESIS_HASH, type NewAuditEvent, type UnhashedAuditEvent, computeHash, normalizeEvent } from './events.js';

export const AUDIT_COMPONENT = 'audit';

const MIGRATIONS: readonly Migration[] = [
  (db) =>
    db.exec(`
      CREATE TABLE audit_events (
        seq         INTEGER PRIMARY KEY,    -- 1, 2, 3, … assigned by append()
        time        TEXT NOT NULL,          -- ISO 8601 UTC, toISOString(): compares as text
        type        TEXT NOT NULL,
        message_id  TEXT,
        sender      TEXT,
        recipients  TEXT,                   -- JSON array of strings; NULL when absent
        subject     TEXT,
        attachments TEXT,                   -- JSON array of {name, sha256}
        rules       TEXT,                   -- JSON array of rule ids
        clauses     TEXT,                   -- JSON array of clauses
        action      TEXT,
        actor       TEXT,
        detail      TEXT,
        prev_hash   TEXT NOT NULL,
        hash        TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_events_time ON audit_events (time);
      CREATE INDEX audit_events_type ON audit_events (type, time);
      CREATE INDEX audit_events_message ON audit_events (message_id) WHERE message_id IS NOT NULL;
      -- Append-only. This stops mistakes, not an attacker (who can drop the triggers): the hash
      -- chain is what finds tampering.
      CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
      CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
      -- The last appended event, so that cutting off the tail of the chain is found as well.
      CREATE TABLE audit_head (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        seq  INTEGER NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
      INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${GENESIS_HASH}');
      CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head WHEN NEW.seq <= OLD.seq
        BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward'); END;
      CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
        BEGIN SELECT RAISE(ABORT, 'audit_head cannot be deleted'); END;
    `),
  // the reviewer pages look messages up by exact sender
  (db) => db.exec('CREATE INDEX audit_events_sender ON audit_events (sender COLLATE NOCASE) WHERE sender IS NOT NULL;'),
];

interface Row {
  seq: number;
  time: string;
  type: string;
  message_id: string | null;
  sender: string | null;
  recipients: string | null;
  subject: string | null;
  attachments: string | null;
  rules: string | null;
  clauses: string | null;
  action: string | null;
  actor: string | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

interface Head {
  seq: number;
  hash: string;
}

/** The stored form of an event as a row; the inverse of toEvent. */
function toRow(e: AuditEvent): Row {
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
  return {
    seq: e.seq,
    time: e.time,
    type: e.type,
    message_id: e.messageId ?? null,
    sender: e.sender ?? null,
    recipients: json(e.recipients),
    subject: e.subject ?? null,
    attachments: json(e.attachments),
    rules: json(e.rules),
    clauses: json(e.clauses),
    action: e.action ?? null,
    actor: e.actor ?? null,
    detail: e.detail ?? null,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

/** The event a row holds, exactly as it was hashed. Throws on a row whose JSON columns were damaged. */
function toEvent(row: Row): AuditEvent {
  const list = (col: string, v: string | null): string[] | undefined => {
    if (v === null) return undefined;
    const parsed = JSON.parse(v) as unknown;
    if (!Array.isArray(parsed) || parsed.some((s) => typeof s !== 'string')) throw new Error(`${col} is not a JSON array of strings`);
    return parsed as string[];
  };
  let attachments: AuditAttachment[] | undefined;
  if (row.attachments !== null) {
    const parsed = JSON.parse(row.attachments) as unknown;
    if (!Array.isArray(parsed)) throw new Error('attachments is not a JSON array');
    attachments = parsed as AuditAttachment[];
  }
  const e: Record<string, unknown> = { seq: row.seq, time: row.time, type: row.type };
  const optional: [string, unknown][] = [
    ['messageId', row.message_id ?? undefined],
    ['sender', row.sender ?? undefined],
    ['recipients', list('recipients', row.recipients)],
    ['subject', row.subject ?? undefined],
    ['attachments', attachments],
    ['rules', list('rules', row.rules)],
    ['clauses', list('clauses', row.clauses)],
    ['action', row.action ?? undefined],
    ['actor', row.actor ?? undefined],
    ['detail', row.detail ?? undefined],
  ];
  for (const [k, v] of optional) if (v !== undefined) e[k] = v;
  e.prevHash = row.prev_hash;
  e.hash = row.hash;
  return e as unknown as AuditEvent;
}

function toTime(value: string | number | Date, option: string): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw new TypeError(`${option} must be an ISO 8601 date or time, got ${JSON.stringify(String(value))}`);
  return d.toISOString();
}

const asList = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v);

function wholeNumber(n: number, option: string, min: number): number {
  if (!Number.isInteger(n) || n < min) throw new TypeError(`${option} must be a whole number ≥ ${min}, got ${n}`);
  return n;
}

/** `text` for a LIKE pattern with `\\` as the escape character: % and _ match themselves. */
const likeText = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Whether a JSON list column has an element matching `test` (SQL over `value`); a damaged column matches nothing. */
const listHas = (column: string, test: string) =>
  `CASE WHEN json_valid(${column}) THEN EXISTS (SELECT 1 FROM json_each(audit_events.${column}) WHERE ${test}) ELSE 0 END`;

/**
 * The WHERE clause of a filter. The time range and message id use indexes; sender, recipient
 * domain, rule and clause are tested on the rows the other conditions leave (the JSON lists are
 * short), so a reviewer's search stays quick when it has a date range.
 */
function whereOf(filter: AuditFilter): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.since !== undefined) {
    where.push('time >= ?');
    params.push(toTime(filter.since, 'since'));
  }
  if (filter.until !== undefined) {
    where.push('time < ?');
    params.push(toTime(filter.until, 'until'));
  }
  if (filter.type !== undefined) {
    const types = asList(filter.type);
    where.push(`type IN (${types.map(() => '?').join(',') || 'NULL'})`);
    params.push(...types);
  }
  if (filter.action !== undefined) {
    const actions = asList(filter.action);
    const marks = actions.map(() => '?').join(',') || 'NULL';
    where.push(`(type IN (${marks}) OR action IN (${marks}))`);
    params.push(...actions, ...actions);
  }
  if (filter.rule !== undefined) {
    where.push(listHas('rules', 'value = ?'));
    params.push(filter.rule);
  }
  if (filter.messageId !== undefined) {
    where.push('message_id = ?');
    params.push(filter.messageId);
  }
  if (filter.messagesOnly) where.push('message_id IS NOT NULL');
  if (filter.sender !== undefined) {
    // LIKE is case-insensitive for ASCII; addresses are ASCII or compared as typed
    if (filter.senderExact) {
      where.push('sender = ? COLLATE NOCASE');
      params.push(filter.sender);
    } else {
      where.push("sender LIKE ? ESCAPE '\\'");
      params.push(`%${likeText(filter.sender)}%`);
    }
  }
  if (filter.recipientDomain !== undefined) {
    const domain = likeText(filter.recipientDomain.trim().replace(/^@/, '').toLowerCase());
    where.push(listHas('recipients', "(value LIKE ? ESCAPE '\\' OR value LIKE ? ESCAPE '\\')"));
    params.push(`%@${domain}`, `%@%.${domain}`);
  }
  if (filter.clause !== undefined) {
    where.push(listHas('clauses', "value LIKE ? ESCAPE '\\'"));
    params.push(`%${likeText(filter.clause)}%`);
  }
  return { sql: where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '', params };
}

/**
 * The audit log in SQLite (DATA_DIR/outguard.db, tables audit_events and audit_head). Several
 * processes may append: each append reads the head and writes the next event in one IMMEDIATE
 * transaction, so two appends never take the same seq or chain to the same predecessor.
 */
export class SqliteAuditStore implements AuditStore {
  private readonly db: SqliteDatabase;
  private readonly ownsDb: boolean;
  private readonly now: () => Date;
  private readonly stmt: ReturnType<typeof prepareStatements>;

  /** Opens DATA_DIR/outguard.db and brings the audit tables up to date. */
  static open(dataDir: string, options: OpenDatabaseOptions & { now?: () => Date } = {}): SqliteAuditStore {
    return openOwned(dataDir, options, (db) => new SqliteAuditStore(db, { ownsDb: true, ...(options.now ? { now: options.now } : {}) }));
  }

  /** Uses an open database (see openDatabase); close() closes it only when ownsDb. */
  constructor(db: SqliteDatabase, options: { ownsDb?: boolean; now?: () => Date } = {}) {
    this.db = db;
    this.ownsDb = options.ownsDb ?? false;
    this.now = options.now ?? (() => new Date());
    migrate(db, AUDIT_COMPONENT, MIGRATIONS);
    this.stmt = prepareStatements(db);
  }

  async append(input: NewAuditEvent): Promise<AuditEvent> {
    return (await this.appendMany([input]))[0]!;
  }

  async appendMany(inputs: NewAuditEvent[]): Promise<AuditEvent[]> {
    const bodies = inputs.map((input) => normalizeEvent(input, this.now));
    return this.db
      .transaction(() => {
        const head = this.stmt.head.get() as Head | undefined;
        const last = this.stmt.last.get() as Head | undefined;
        // Normally head = last. If the tail was cut off (head ahead), chain to the head so the gap
        // stays visible; if rows were added behind our back (last ahead), chain to the last row
        // rather than fail on its seq: verify reports either.
        let prev: Head = last && (!head || last.seq >= head.seq) ? last : (head ?? { seq: 0, hash: GENESIS_HASH });
        // the transaction holds the write lock: chain the whole batch, then move the head once
        const events = bodies.map((body) => {
          const unhashed: UnhashedAuditEvent = { seq: prev.seq + 1, ...body, prevHash: prev.hash };
          const event: AuditEvent = { ...unhashed, hash: computeHash(unhashed) };
          this.stmt.insert.run(toRow(event));
          prev = { seq: event.seq, hash: event.hash };
          return event;
        });
        if (events.length > 0) {
          if (head) this.stmt.moveHead.run({ seq: prev.seq, hash: prev.hash });
          else this.stmt.insertHead.run({ seq: prev.seq, hash: prev.hash });
        }
        return events;
      })
      .immediate();
  }

  async list(filter: AuditFilter = {}): Promise<AuditEvent[]> {
    const { sql: where, params } = whereOf(filter);
    let sql = `SELECT * FROM audit_events${where} ORDER BY seq${filter.order === 'desc' ? ' DESC' : ''}`;
    if (filter.limit !== undefined || filter.offset !== undefined) {
      sql += ' LIMIT ? OFFSET ?';
      params.push(filter.limit === undefined ? -1 : wholeNumber(filter.limit, 'limit', 1), filter.offset === undefined ? 0 : wholeNumber(filter.offset, 'offset', 0));
    }
    const rows = this.db.prepare(sql).all(...params) as Row[];
    return rows.map((row) => {
      try {
        return toEvent(row);
      } catch (err) {
        throw new Error(`audit event ${row.seq} is damaged (${(err as Error).message}); run: outguard audit verify`);
      }
    });
  }

  async count(filter: AuditFilter = {}): Promise<number> {
    const { sql: where, params } = whereOf(filter);
    return (this.db.prepare(`SELECT count(*) AS n FROM audit_events${where}`).get(...params) as { n: number }).n;
  }

  async verify(): Promise<AuditVerification> {
    // one read transaction: a consistent snapshot while the gateway keeps appending
    return this.db.transaction(() => this.walk())();
  }

  async close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close();
  }

  /**
   * Walks the chain in seq order; at position k (expected seq k, predecessor hash p):
   *
   * 1. no row with seq k (a gap, or the rows stop before the head) → removed at k;
   * 2. the row's content does not hash to its stored hash:
   *    - it is an intact event from position j ≠ k (it hashes correctly with seq j):
   *      if j > k and the event of position k is nowhere in the table, the rows after a removed
   *      event were renumbered → removed at k; otherwise → reordered at k;
   *    - otherwise → altered at k;
   * 3. the row is intact but its prevHash is not p: the event before it is not the one it was
   *    chained to (it was removed and something with a recomputed hash put in its place)
   *    → removed at k−1 (altered at 1 when k = 1: the first event names a predecessor).
   * After the last row, the head (the last event append() wrote) must be that row.
   */
  private walk(): AuditVerification {
    const head = this.stmt.head.get() as Head | undefined;
    let prevSeq = 0;
    let prevHash = GENESIS_HASH;
    // a content mismatch is examined after the loop: the iterator must be closed to run other queries
    let mismatch: { k: number; event: AuditEvent | null; hash: string } | undefined;
    for (const row of this.stmt.all.iterate() as Iterable<Row>) {
      const k = prevSeq + 1;
      if (row.seq < k) return { ok: false, seq: row.seq, problem: 'altered', detail: `an event with seq ${row.seq} was inserted before the first event` };
      if (row.seq > k) {
        const missing = row.seq - 1 > k ? `events ${k}–${row.seq - 1} are` : `event ${k} is`;
        return { ok: false, seq: k, problem: 'removed', detail: `${missing} missing: seq jumps from ${prevSeq} to ${row.seq}` };
      }
      let event: AuditEvent | null;
      try {
        event = toEvent(row);
      } catch {
        event = null;
      }
      if (event === null || computeHash(event) !== row.hash) {
        mismatch = { k, event, hash: row.hash };
        break;
      }
      if (event.prevHash !== prevHash) {
        if (k === 1) return { ok: false, seq: 1, problem: 'altered', detail: 'event 1 names a previous event (its prevHash is not 64 zeros): it was not written by outguard' };
        return {
          ok: false,
          seq: k - 1,
          problem: 'removed',
          detail: `event ${k} was chained to an event that is no longer at seq ${k - 1}: the original event ${k - 1} was removed and replaced by one with a recomputed hash`,
        };
      }
      prevSeq = row.seq;
      prevHash = row.hash;
    }
    if (mismatch) return this.misplaced(mismatch.k, mismatch.event, mismatch.hash, head);
    if (!head) {
      return prevSeq === 0
        ? { ok: true, count: 0, lastHash: GENESIS_HASH }
        : { ok: false, seq: prevSeq + 1, problem: 'removed', detail: 'the chain head record was deleted, so events after the last one may have been removed' };
    }
    if (head.seq > prevSeq) {
      const missing = head.seq > prevSeq + 1 ? `events ${prevSeq + 1}–${head.seq} are` : `event ${head.seq} is`;
      return { ok: false, seq: prevSeq + 1, problem: 'removed', detail: `${missing} missing: the log ends at ${prevSeq} but ${head.seq} events were appended` };
    }
    if (head.seq < prevSeq) {
      return { ok: false, seq: head.seq + 1, problem: 'altered', detail: `events ${head.seq + 1}–${prevSeq} were not appended by outguard (the last event it appended is ${head.seq})` };
    }
    if (head.hash !== prevHash) {
      return { ok: false, seq: prevSeq, problem: 'removed', detail: `event ${prevSeq} is not the last event outguard appended: it was replaced by one with a recomputed hash` };
    }
    return { ok: true, count: prevSeq, lastHash: prevHash };
  }

  /** Position k holds content that does not match its hash: moved, shifted after a removal, or edited. */
  private misplaced(k: number, event: AuditEvent | null, hash: string, head: Head | undefined): AuditVerification {
    const altered: AuditVerification = { ok: false, seq: k, problem: 'altered', detail: `event ${k} does not match its hash: its content was changed` };
    if (event === null) return { ...altered, detail: `event ${k} is damaged: its stored JSON cannot be read` };
    const last = (this.stmt.last.get() as Head | undefined)?.seq ?? 0;
    const upTo = Math.max(last, head?.seq ?? 0) + 1;
    let from: number | undefined;
    for (let j = 1; j <= upTo && from === undefined; j++) if (j !== k && computeHash({ ...event, seq: j }) === hash) from = j;
    if (from === undefined) return altered;
    if (from > k && !this.presentAnywhere(k)) {
      return { ok: false, seq: k, problem: 'removed', detail: `event ${k} is missing: the events after it were renumbered (seq ${k} holds event ${from})` };
    }
    return { ok: false, seq: k, problem: 'reordered', detail: `seq ${k} holds the intact event that belongs at seq ${from}` };
  }

  /** Whether the original event of position k is stored in any row. */
  private presentAnywhere(k: number): boolean {
    for (const row of this.stmt.all.iterate() as Iterable<Row>) {
      try {
        if (computeHash({ ...toEvent(row), seq: k }) === row.hash) return true;
      } catch {
        // a damaged row holds no intact event
      }
    }
    return false;
  }
}

function prepareStatements(db: SqliteDatabase) {
  return {
    head: db.prepare('SELECT seq, hash FROM audit_head WHERE id = 1'),
    last: db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1'),
    insert: db.prepare(`INSERT INTO audit_events (seq, time, type, message_id, sender, recipients, subject, attachments, rules, clauses, action, actor, detail, prev_hash, hash)
      VALUES (@seq, @time, @type, @message_id, @sender, @recipients, @subject, @attachments, @rules, @clauses, @action, @actor, @detail, @prev_hash, @hash)`),
    moveHead: db.prepare('UPDATE audit_head SET seq = @seq, hash = @hash WHERE id = 1'),
    insertHead: db.prepare('INSERT INTO audit_head (id, seq, hash) VALUES (1, @seq, @hash)'),
    all: db.prepare('SELECT * FROM audit_events ORDER BY seq'),
  };
}
