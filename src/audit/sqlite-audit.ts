import { deriveKey } from '../store/secret-key.js';
import { type Migration, type OpenDatabaseOptions, type SqliteDatabase, migrate, openOwned } from '../store/sqlite.js';
import { type Anchor, AnchorFile } from './anchor.js';
import type { JournalEntry } from './journal.js';
import type { AuditFilter, AuditHead, AuditStore, AuditVerification, VerifyOptions } from './audit-store.js';
import { type AuditAttachment, type AuditEvent, GENESIS_HASH, type NewAuditEvent, type UnhashedAuditEvent, computeHash, computeMac, normalizeEvent } from './events.js';

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
  // The switch point: from keyed_from on, every event carries a MAC instead of a plain hash.
  // Written once, by the first process that opens the chain with the key.
  (db) =>
    db.exec(`
      CREATE TABLE audit_chain (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        keyed_from  INTEGER NOT NULL,
        switched_at TEXT NOT NULL
      ) STRICT;
      CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
        BEGIN SELECT RAISE(ABORT, 'audit_chain is written once'); END;
      CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
        BEGIN SELECT RAISE(ABORT, 'audit_chain is written once'); END;
    `),
  // the highest audit journal number the chain holds (journal.ts)
  (db) => db.exec('CREATE TABLE audit_journal (id INTEGER PRIMARY KEY CHECK (id = 1), held INTEGER NOT NULL) STRICT;'),
];

/** The subkey of the data-at-rest key that MACs the chain. */
export const chainKey = (dataAtRestKey: Buffer) => deriveKey(dataAtRestKey, 'audit-chain');

export interface AuditStoreOptions {
  ownsDb?: boolean;
  now?: () => Date;
  /**
   * The data-at-rest key. With it, the chain is keyed (events get MACs; an older chain hashed
   * without a key is continued keyed from a recorded switch point) and can be appended to and
   * verified; without it, a keyed chain can only be read.
   */
  key?: Buffer;
  /** `audit.anchorFile`: where the head is appended after every commit and read by verify. */
  anchorFile?: string;
  /** An anchor that could not be written: the events are stored, the next commit anchors them. */
  onAnchorError?: (err: Error) => void;
  /** Only read and verify: never record the switch point or refuse a missing anchor at open (`audit verify`). */
  readOnly?: boolean;
}

/** A keyed chain whose anchor file is gone: appending would start a new anchor and hide what came before. */
export class AnchorMissingError extends Error {
  constructor(readonly file: string) {
    super(`the audit anchor file ${file} is missing, but the chain has been anchored there: restore the file (from its other disk or host, or a backup); if it is lost for good, run \`outguard audit re-anchor\` to start a new one (recorded in the chain)`);
    this.name = 'AnchorMissingError';
  }
}

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
  if (filter.excludeTypes !== undefined && filter.excludeTypes.length > 0) {
    where.push(`type NOT IN (${filter.excludeTypes.map(() => '?').join(',')})`);
    params.push(...filter.excludeTypes);
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
  private readonly key: Buffer | undefined;
  private readonly anchor: AnchorFile | undefined;
  private readonly onAnchorError: (err: Error) => void;
  private readonly readOnly: boolean;
  private switchPoint: number | undefined;

  /** Opens DATA_DIR/outguard.db and brings the audit tables up to date. */
  static open(dataDir: string, options: OpenDatabaseOptions & Omit<AuditStoreOptions, 'ownsDb'> = {}): SqliteAuditStore {
    return openOwned(dataDir, options, (db) => new SqliteAuditStore(db, { ...options, ownsDb: true }));
  }

  /** Uses an open database (see openDatabase); close() closes it only when ownsDb. */
  constructor(db: SqliteDatabase, options: AuditStoreOptions = {}) {
    this.db = db;
    this.ownsDb = options.ownsDb ?? false;
    this.now = options.now ?? (() => new Date());
    this.key = options.key ? chainKey(options.key) : undefined;
    this.anchor = options.anchorFile ? new AnchorFile(options.anchorFile) : undefined;
    this.onAnchorError = options.onAnchorError ?? (() => undefined);
    migrate(db, AUDIT_COMPONENT, MIGRATIONS);
    this.stmt = prepareStatements(db);
    this.readOnly = options.readOnly ?? false;
    if (this.readOnly || !this.key) return;
    if (this.keyedFrom() === undefined) this.startKeyed();
    else if (this.anchor && !this.anchor.exists()) throw new AnchorMissingError(this.anchor.file);
  }

  /** Starts a new anchor file after the old one was lost for good, with an event that says so. */
  static reanchor(dataDir: string, options: Omit<AuditStoreOptions, 'ownsDb' | 'readOnly'> & { anchorFile: string; key: Buffer; actor: string }): Promise<AuditEvent> {
    const store = SqliteAuditStore.open(dataDir, { ...options, readOnly: true });
    const event = { type: 'anchor-restarted', actor: options.actor, detail: `the anchor file ${options.anchorFile} was lost; a new one starts at this event` };
    return store.appendWritable([event]).then(async ([stored]) => {
      await store.close();
      return stored!;
    });
  }

  /** The first keyed event, once the switch point is recorded (written once: kept once read). */
  private keyedFrom(): number | undefined {
    this.switchPoint ??= (this.stmt.chain.get() as { keyed_from: number } | undefined)?.keyed_from;
    return this.switchPoint;
  }

  /**
   * Records the switch point: a new chain is keyed from its first event; an older chain, hashed
   * without a key, is verified and continued keyed with a `chain-keyed` event that says how it
   * was found. Then the first anchor, so that from now on a missing anchor file is noticed.
   */
  private startKeyed(): void {
    const anchored = this.anchor?.newest();
    if (anchored) {
      throw new Error(`the audit anchor file ${this.anchor!.file} names a chain of ${anchored.count} events with MACs from event ${anchored.keyedFrom}, but the database has no switch point: it was replaced or edited (run \`outguard audit verify\`)`);
    }
    this.db
      .transaction(() => {
        if (this.keyedFrom() !== undefined) return; // another process was first
        const before = this.walk(undefined);
        const end = this.end();
        this.stmt.insertChain.run({ keyed_from: end.seq + 1, switched_at: this.now().toISOString() });
        if (end.seq > 0) {
          const found = before.ok ? 'verified: intact' : `verified: NOT intact at event ${before.seq} (${before.problem}: ${before.detail})`;
          this.appendInTransaction([{ type: 'chain-keyed', actor: 'outguard', detail: `events 1–${end.seq} were hashed without a key and ${found}; from event ${end.seq + 1} on every event carries a MAC` }]);
        }
      })
      .immediate();
    this.anchorHead();
  }

  /**
   * The event to chain to. Normally head = last row. If the tail was cut off (head ahead), chain to
   * the head so the gap stays visible; if rows were added behind outguard's back (last row ahead),
   * chain to the last row rather than fail on its seq: verify reports either.
   */
  private end(head = this.stmt.head.get() as Head | undefined): Head {
    const last = this.stmt.last.get() as Head | undefined;
    return last && (!head || last.seq >= head.seq) ? last : (head ?? { seq: 0, hash: GENESIS_HASH });
  }

  /** The stored hash of an event: its MAC from the switch point on, else its plain SHA-256. */
  private hashOf(event: UnhashedAuditEvent, keyedFrom: number | undefined): string {
    if (keyedFrom === undefined || event.seq < keyedFrom) return computeHash(event);
    if (!this.key) throw new Error(`the audit chain carries MACs from event ${keyedFrom} on: appending to it or verifying it needs the data-at-rest key`);
    return computeMac(this.key, event);
  }

  async append(input: NewAuditEvent): Promise<AuditEvent> {
    return (await this.appendMany([input]))[0]!;
  }

  async appendMany(inputs: NewAuditEvent[]): Promise<AuditEvent[]> {
    if (this.readOnly) throw new Error('this audit log was opened to read only');
    return this.appendWritable(inputs);
  }

  private async appendWritable(inputs: NewAuditEvent[]): Promise<AuditEvent[]> {
    const events = this.db.transaction(() => this.appendInTransaction(inputs)).immediate();
    const last = events.at(-1);
    if (last) this.anchorHead({ seq: last.seq, hash: last.hash });
    return events;
  }

  /** The highest audit journal number the chain holds (0: none). */
  journalHeld(): number {
    return (this.stmt.journalHeld.get() as { held: number } | undefined)?.held ?? 0;
  }

  /**
   * Appends the journal entries the chain does not hold yet, and records that it holds them, in
   * one transaction: an entry is taken once, however often it is offered (journal.ts).
   */
  holdJournaled(entries: JournalEntry[]): void {
    const last = this.db.transaction(() => this.holdJournaledInTransaction(entries)).immediate();
    if (last) this.anchorHead({ seq: last.seq, hash: last.hash });
  }

  /** holdJournaled inside the caller's transaction (the caller anchors after its commit); returns the last event appended. */
  holdJournaledInTransaction(entries: JournalEntry[]): AuditEvent | undefined {
    const held = this.journalHeld();
    const fresh = entries.filter((x) => x.j > held);
    if (fresh.length === 0) return undefined;
    const last = this.appendInTransaction(fresh.map((x) => x.e)).at(-1);
    this.stmt.holdJournal.run(Math.max(...fresh.map((x) => x.j)));
    return last;
  }

  async applyJournaled(entries: JournalEntry[]): Promise<void> {
    this.holdJournaled(entries);
  }

  async head(): Promise<AuditHead> {
    const end = this.end();
    return { count: end.seq, mac: end.hash };
  }

  /**
   * Appends inside the caller's transaction on this connection, so an event is stored exactly
   * when the change it records is (a notice marked sent and its notice-sent event). The caller
   * calls anchorHead() once it has committed.
   */
  appendInTransaction(inputs: NewAuditEvent[]): AuditEvent[] {
    const bodies = inputs.map((input) => normalizeEvent(input, this.now));
    return this.db
      .transaction(() => {
        const keyedFrom = this.keyedFrom();
        const head = this.stmt.head.get() as Head | undefined;
        let prev = this.end(head);
        // the transaction holds the write lock: chain the whole batch, then move the head once
        const events = bodies.map((body) => {
          const unhashed: UnhashedAuditEvent = { seq: prev.seq + 1, ...body, prevHash: prev.hash };
          const event: AuditEvent = { ...unhashed, hash: this.hashOf(unhashed, keyedFrom) };
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

  /** Appends the head to the anchor file (after a commit). A failure is reported, not thrown: the events are stored. */
  anchorHead(head?: Head): void {
    const keyedFrom = this.keyedFrom();
    if (!this.anchor || keyedFrom === undefined) return;
    const end = head ?? this.end();
    try {
      this.anchor.append({ count: end.seq, mac: end.hash, keyedFrom, time: this.now().toISOString() });
    } catch (err) {
      this.onAnchorError(err as Error);
    }
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

  /**
   * Walks the chain, then holds its head against the newest anchor in the anchor file (read
   * first: the chain only grows after it) and against `expect`: a chain shorter than what was
   * anchored, or whose event at the anchored count is another, fails; so does a missing anchor
   * file once the chain is keyed.
   */
  async verify(options: VerifyOptions = {}): Promise<AuditVerification> {
    const anchored = this.anchor?.newest();
    // one read transaction: a consistent snapshot while the gateway keeps appending
    return this.db.transaction((): AuditVerification => {
      // read afresh, not the kept value: verify trusts nothing it read before
      const keyedFrom = (this.stmt.chain.get() as { keyed_from: number } | undefined)?.keyed_from;
      const walked = this.walk(keyedFrom);
      if (!walked.ok) return walked;
      if (this.anchor && keyedFrom === undefined && anchored) {
        return { ok: false, seq: anchored.keyedFrom, problem: 'altered', detail: `the anchor file says the chain carries MACs from event ${anchored.keyedFrom} on, but the database has no switch point: it was replaced or edited` };
      }
      if (this.anchor && keyedFrom !== undefined) {
        if (anchored === null) return { ok: false, seq: walked.count + 1, problem: 'anchor-missing', detail: `the anchor file ${this.anchor.file} is missing (the chain has been anchored since event ${keyedFrom}): restore it, or the chain cannot be checked for a cut or rewritten tail` };
        if (anchored === undefined) return { ok: false, seq: walked.count + 1, problem: 'anchor-missing', detail: `the anchor file ${this.anchor.file} holds no anchor that can be read` };
        if (anchored.keyedFrom !== keyedFrom) return { ok: false, seq: Math.min(anchored.keyedFrom, keyedFrom), problem: 'altered', detail: `the chain says its MACs start at event ${keyedFrom}, the anchor file says ${anchored.keyedFrom}: the switch point was changed` };
        const against = this.against(walked.count, anchored, `the anchor of ${anchored.time}`);
        if (against) return against;
      }
      if (options.expect) {
        const against = this.against(walked.count, options.expect, `the expected head ${options.expect.count}`);
        if (against) return against;
      }
      return { ...walked, ...(anchored ? { anchor: { count: anchored.count, time: anchored.time } } : {}) };
    })();
  }

  /** Whether the chain of `count` events holds `head` (an anchor, or what the admin wrote down); the failure if not. */
  private against(count: number, head: Pick<Anchor, 'count' | 'mac'>, what: string): AuditVerification | undefined {
    if (head.count > count) {
      return {
        ok: false,
        seq: count + 1,
        problem: 'removed',
        detail: `${what} names ${head.count} events but the chain holds ${count}: ${count === 0 ? 'the log was emptied' : `events ${count + 1}–${head.count} were cut off`}`,
      };
    }
    const stored = head.count === 0 ? GENESIS_HASH : (this.stmt.hashAt.get(head.count) as { hash: string }).hash;
    if (stored !== head.mac) {
      return { ok: false, seq: head.count, problem: 'altered', detail: `event ${head.count} is not the one in ${what}: the chain up to it was rewritten` };
    }
    return undefined;
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
  private walk(keyedFrom: number | undefined): Extract<AuditVerification, { ok: true }> | Extract<AuditVerification, { ok: false }> {
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
      if (event === null || this.hashOf(event, keyedFrom) !== row.hash) {
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
    if (mismatch) return this.misplaced(mismatch.k, mismatch.event, mismatch.hash, head, keyedFrom);
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
  private misplaced(k: number, event: AuditEvent | null, hash: string, head: Head | undefined, keyedFrom: number | undefined): Extract<AuditVerification, { ok: false }> {
    const keyed = keyedFrom !== undefined && k >= keyedFrom;
    const altered = {
      ok: false as const,
      seq: k,
      problem: 'altered' as const,
      detail: keyed ? `event ${k} does not match its MAC: its content was changed, or its MAC was computed without outguard's key` : `event ${k} does not match its hash: its content was changed`,
    };
    if (event === null) return { ...altered, detail: `event ${k} is damaged: its stored JSON cannot be read` };
    const last = (this.stmt.last.get() as Head | undefined)?.seq ?? 0;
    const upTo = Math.max(last, head?.seq ?? 0) + 1;
    let from: number | undefined;
    for (let j = 1; j <= upTo && from === undefined; j++) if (j !== k && this.hashOf({ ...event, seq: j }, keyedFrom) === hash) from = j;
    if (from === undefined) return altered;
    if (from > k && !this.presentAnywhere(k, keyedFrom)) {
      return { ok: false, seq: k, problem: 'removed', detail: `event ${k} is missing: the events after it were renumbered (seq ${k} holds event ${from})` };
    }
    return { ok: false, seq: k, problem: 'reordered', detail: `seq ${k} holds the intact event that belongs at seq ${from}` };
  }

  /** Whether the original event of position k is stored in any row. */
  private presentAnywhere(k: number, keyedFrom: number | undefined): boolean {
    for (const row of this.stmt.all.iterate() as Iterable<Row>) {
      try {
        if (this.hashOf({ ...toEvent(row), seq: k }, keyedFrom) === row.hash) return true;
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
    hashAt: db.prepare('SELECT hash FROM audit_events WHERE seq = ?'),
    chain: db.prepare('SELECT keyed_from FROM audit_chain WHERE id = 1'),
    journalHeld: db.prepare('SELECT held FROM audit_journal WHERE id = 1'),
    holdJournal: db.prepare('INSERT INTO audit_journal (id, held) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET held = excluded.held'),
    insertChain: db.prepare('INSERT INTO audit_chain (id, keyed_from, switched_at) VALUES (1, @keyed_from, @switched_at)'),
  };
}
