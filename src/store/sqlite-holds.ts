import { DEFAULT_ENCRYPTION } from '../policy/encryption.js';
import type { DeadlineAction, HoldAttachment, HoldRecipient, HoldState } from '../hold/types.js';
import type { Finding } from '../policy/verdict.js';
import {
  type Decision,
  DuplicateHoldError,
  type ErasedBody,
  type Escalation,
  HOLD_STATES,
  type HoldFilter,
  type HoldStore,
  type NewHold,
  type ReleaseSettings,
  type StoredHold,
} from './hold-store.js';
import { KnownMessageError } from './known-message.js';
import { SealedDataError, open, seal } from './sealed.js';
import { SqliteChunks, type StoredRecord } from './sqlite-chunks.js';
import { BufferSource, type ByteSource } from '../message/source.js';
import { type Migration, type OpenDatabaseOptions, type SqliteDatabase, openOwned, SealedSqliteStore } from './sqlite.js';

export const HOLDS_COMPONENT = 'holds';

const MIGRATIONS: readonly Migration[] = [
  (db) =>
    db.exec(`
      CREATE TABLE holds (
        id            TEXT PRIMARY KEY,
        state         TEXT NOT NULL CHECK (state IN ('held', 'released', 'discarded', 'expired')),
        env_from      TEXT NOT NULL,
        env_to        TEXT NOT NULL,          -- JSON array of addresses
        subject       TEXT NOT NULL,
        recipients    TEXT NOT NULL,          -- JSON HoldRecipient[]
        attachments   TEXT NOT NULL,          -- JSON HoldAttachment[] (names, sizes, SHA-256)
        findings      TEXT NOT NULL,          -- JSON Finding[]
        created_at    INTEGER NOT NULL,
        deadline      INTEGER NOT NULL,
        on_deadline   TEXT NOT NULL,          -- JSON DeadlineAction
        approvers     TEXT NOT NULL,          -- JSON array of addresses
        release_with  TEXT NOT NULL,          -- JSON ReleaseSettings (policy settings at hold time)
        raw           BLOB,                   -- sealed (aad 'hold:<id>'); NULL once erased
        body_start    BLOB,                   -- sealed (aad 'hold:<id>:body-start'); NULL once erased
        notified_at   INTEGER,
        escalations   INTEGER NOT NULL DEFAULT 0,
        decided_at    INTEGER,
        decided_by    TEXT,
        decided_link  TEXT,                   -- the release link that decided: marks it used
        mistake       INTEGER,
        dispatched_at INTEGER,
        dispatch_error TEXT
      ) STRICT;
      CREATE INDEX holds_deadline ON holds (deadline) WHERE state = 'held';
      CREATE INDEX holds_state ON holds (state, created_at);
      CREATE INDEX holds_undispatched ON holds (decided_at) WHERE state = 'released' AND dispatched_at IS NULL;
    `),
  // retention: the body stays (sealed) for retention.bodyDays after the decision, then is erased
  (db) =>
    db.exec(`
      ALTER TABLE holds ADD COLUMN body_erased_at INTEGER;
      ALTER TABLE holds ADD COLUMN body_erased_days INTEGER;
      CREATE INDEX holds_retention ON holds (decided_at) WHERE state <> 'held' AND raw IS NOT NULL;
    `),
  // a message sent again is recognised; a release another process began is taken over when it is gone
  (db) =>
    db.exec(`
      ALTER TABLE holds ADD COLUMN digest TEXT;
      ALTER TABLE holds ADD COLUMN decided_runner TEXT;
      CREATE UNIQUE INDEX holds_digest ON holds (digest) WHERE digest IS NOT NULL;
    `),
  // messages sealed in chunks (sqlite-chunks.ts); raw keeps only what older versions stored whole
  (db) =>
    db.exec(`
      ALTER TABLE holds ADD COLUMN raw_size INTEGER;   -- bytes of the message in sealed_chunks; NULL once erased
      ALTER TABLE holds ADD COLUMN raw_key BLOB;       -- the message's own key, sealed (sqlite-chunks.ts); NULL once erased
      CREATE INDEX holds_retention_chunks ON holds (decided_at) WHERE state <> 'held' AND raw_size IS NOT NULL;
    `),
];

/** Every column but the message: listing holds never reads a message (raw only says whether an old-style one is there). */
const COLUMNS = `id, state, env_from, env_to, subject, recipients, attachments, findings, created_at, deadline, on_deadline, approvers, release_with,
  raw IS NOT NULL AS legacy_raw, raw_size, body_start, notified_at, escalations, decided_at, decided_by, decided_link, decided_runner, mistake,
  dispatched_at, dispatch_error, body_erased_at, body_erased_days`;

interface Row {
  id: string;
  state: HoldState;
  env_from: string;
  env_to: string;
  subject: string;
  recipients: string;
  attachments: string;
  findings: string;
  created_at: number;
  deadline: number;
  on_deadline: string;
  approvers: string;
  release_with: string;
  legacy_raw: number;
  raw_size: number | null;
  body_start: Buffer | null;
  notified_at: number | null;
  escalations: number;
  decided_at: number | null;
  decided_by: string | null;
  decided_link: string | null;
  decided_runner: string | null;
  mistake: number | null;
  dispatched_at: number | null;
  dispatch_error: string | null;
  body_erased_at: number | null;
  body_erased_days: number | null;
}

const rawAad = (id: string) => `hold:${id}`;
const bodyAad = (id: string) => `hold:${id}:body-start`;

/**
 * Holds in SQLite (DATA_DIR/outguard.db, table holds), next to the outbox. Several processes may
 * open the file (the gateway, `outguard held …`): decisions are single conditional UPDATEs, so
 * exactly one of two racing decisions changes the row.
 */
export class SqliteHoldStore extends SealedSqliteStore implements HoldStore {
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private readonly chunks: SqliteChunks;

  /** Opens DATA_DIR/outguard.db and brings the holds table up to date. */
  static open(dataDir: string, key: Buffer, options: OpenDatabaseOptions = {}): SqliteHoldStore {
    return openOwned(dataDir, options, (db) => new SqliteHoldStore(db, key, { ownsDb: true }));
  }

  /** Uses an open database (see openDatabase); close() closes it only when ownsDb. */
  constructor(db: SqliteDatabase, key: Buffer, options: { ownsDb?: boolean } = {}) {
    super(db, key, options, { what: 'hold store', component: HOLDS_COMPONENT, migrations: MIGRATIONS });
    this.chunks = new SqliteChunks(db, this.key);
    this.stmt = prepareStatements(db);
  }

  async create(hold: NewHold): Promise<void> {
    validate(hold);
    // the message is sealed into its chunks first: the transaction holds the write lock only for the row
    const record = await this.chunks.write(rawAad(hold.id), hold.raw);
    try {
      this.insert(hold, record);
    } catch (err) {
      // only what this call wrote: a hold of that id stored by another process keeps its message
      this.chunks.discard(record.name);
      throw err;
    }
  }

  private insert(hold: NewHold, record: StoredRecord): void {
    this.db
      .transaction(() => {
        if (this.stmt.exists.get(hold.id)) throw new DuplicateHoldError(hold.id);
        if (hold.digest !== undefined) {
          const known = this.stmt.byDigest.get(hold.digest) as { id: string } | undefined;
          if (known) throw new KnownMessageError(known.id);
        }
        this.stmt.insert.run({
          id: hold.id,
          env_from: hold.envelope.from,
          env_to: JSON.stringify(hold.envelope.to),
          subject: hold.subject,
          recipients: JSON.stringify(hold.recipients),
          attachments: JSON.stringify(hold.attachments),
          findings: JSON.stringify(hold.findings),
          created_at: hold.createdAt,
          deadline: hold.deadline,
          on_deadline: JSON.stringify(hold.onDeadline),
          approvers: JSON.stringify(hold.approvers),
          release_with: JSON.stringify(hold.releaseWith),
          raw_size: record.length,
          raw_key: record.key,
          body_start: seal(this.key, Buffer.from(hold.bodyStart, 'utf8'), bodyAad(hold.id)),
          digest: hold.digest ?? null,
        });
      })
      .immediate();
  }

  async findByDigest(digest: string): Promise<string | null> {
    return (this.stmt.byDigest.get(digest) as { id: string } | undefined)?.id ?? null;
  }

  async get(id: string): Promise<StoredHold | null> {
    const row = this.stmt.get.get(id) as Row | undefined;
    return row ? this.toHold(row) : null;
  }

  async message(id: string): Promise<ByteSource | null> {
    const row = this.stmt.raw.get(id) as { raw: Buffer | null; raw_size: number | null; raw_key: Buffer | null } | undefined;
    if (row?.raw_size != null && row.raw_key) return this.chunks.source(rawAad(id), { length: row.raw_size, key: row.raw_key }).verify();
    return row?.raw ? new BufferSource(open(this.key, row.raw, rawAad(id))) : null;
  }

  /** Erases chunks of holds that were never stored (a crash between writing and committing them), once an hour old. */
  async sweep(now = Date.now()): Promise<number> {
    return this.chunks.sweep('hold:', 'holds', 'raw_size', now - 3_600_000);
  }

  async list(filter: HoldFilter = {}): Promise<StoredHold[]> {
    const limit = positiveLimit(filter.limit ?? 1000);
    const rows = (filter.state === undefined ? this.stmt.listAll.all({ limit }) : this.stmt.listState.all({ state: filter.state, limit })) as Row[];
    return rows.map((r) => this.toHold(r));
  }

  async transition(id: string, to: Exclude<HoldState, 'held'>, decision: Decision): Promise<StoredHold | null> {
    if (!HOLD_STATES.includes(to) || (to as string) === 'held') throw new TypeError(`a hold cannot move to ${String(to)}`);
    return this.db
      .transaction(() => {
        const changed = this.stmt.decide.run({
          id,
          state: to,
          at: decision.at,
          by: decision.by,
          link: decision.link ?? null,
          runner: decision.runner ?? null,
          mistake: decision.mistake === undefined ? null : decision.mistake ? 1 : 0,
        }).changes;
        if (changed !== 1) return null;
        return this.toHold(this.stmt.get.get(id) as Row);
      })
      .immediate();
  }

  async eraseBodies(decidedBefore: number, erasure: { at: number; days: number }, limit = 100): Promise<ErasedBody[]> {
    return this.db
      .transaction(() => {
        const rows = this.stmt.retained.all({ before: decidedBefore, limit: positiveLimit(limit) }) as Pick<Row, 'id' | 'state' | 'decided_at'>[];
        for (const row of rows) {
          this.stmt.eraseBody.run({ id: row.id, at: erasure.at, days: erasure.days });
          this.chunks.erase(rawAad(row.id));
        }
        return rows.map((r) => ({ id: r.id, state: r.state as ErasedBody['state'], decidedAt: r.decided_at! }));
      })
      .immediate();
  }

  async markDispatched(id: string, at: number, error?: string): Promise<boolean> {
    return this.stmt.dispatched.run({ id, at, error: error?.slice(0, 2000) ?? null }).changes === 1;
  }

  async undispatched(limit = 100): Promise<StoredHold[]> {
    return (this.stmt.undispatched.all({ limit: positiveLimit(limit) }) as Row[]).map((r) => this.toHold(r));
  }

  async markNotified(id: string, at: number): Promise<void> {
    this.stmt.notified.run({ id, at });
  }

  async unnotified(createdBefore: number, limit = 100): Promise<StoredHold[]> {
    return (this.stmt.unnotified.all({ before: createdBefore, limit: positiveLimit(limit) }) as Row[]).map((r) => this.toHold(r));
  }

  async escalate(id: string, expectedDeadline: number, change: Escalation): Promise<StoredHold | null> {
    return this.db
      .transaction(() => {
        const changed = this.stmt.escalate.run({
          id,
          expected: expectedDeadline,
          deadline: change.deadline,
          on_deadline: JSON.stringify(change.onDeadline),
          approvers: JSON.stringify(change.approvers),
        }).changes;
        return changed === 1 ? this.toHold(this.stmt.get.get(id) as Row) : null;
      })
      .immediate();
  }

  async nextDeadline(): Promise<number | null> {
    return (this.stmt.nextDeadline.get() as { at: number | null }).at;
  }

  async due(now: number, limit = 100): Promise<StoredHold[]> {
    return (this.stmt.due.all({ now, limit: positiveLimit(limit) }) as Row[]).map((r) => this.toHold(r));
  }

  async counts(): Promise<Record<HoldState, number>> {
    const counts = Object.fromEntries(HOLD_STATES.map((s) => [s, 0])) as Record<HoldState, number>;
    for (const { state, n } of this.stmt.counts.all() as { state: HoldState; n: number }[]) counts[state] = n;
    return counts;
  }



  private toHold(row: Row): StoredHold {
    let bodyStart = '';
    try {
      if (row.body_start) bodyStart = open(this.key, row.body_start, bodyAad(row.id)).toString('utf8');
    } catch (err) {
      // listing must not fail for one unreadable row; raw() reports the problem where it matters
      if (!(err instanceof SealedDataError)) throw err;
    }
    return {
      id: row.id,
      state: row.state,
      envelope: { from: row.env_from, to: JSON.parse(row.env_to) as string[] },
      subject: row.subject,
      bodyStart,
      recipients: JSON.parse(row.recipients) as HoldRecipient[],
      attachments: JSON.parse(row.attachments) as HoldAttachment[],
      findings: JSON.parse(row.findings) as Finding[],
      createdAt: row.created_at,
      deadline: row.deadline,
      onDeadline: JSON.parse(row.on_deadline) as DeadlineAction,
      approvers: JSON.parse(row.approvers) as string[],
      ...(row.decided_at !== null ? { decidedAt: row.decided_at } : {}),
      ...(row.decided_by !== null ? { decidedBy: row.decided_by } : {}),
      ...(row.mistake !== null ? { mistake: row.mistake === 1 } : {}),
      hasRaw: row.legacy_raw === 1 || row.raw_size !== null,
      releaseWith: releaseSettings(row.release_with),
      ...(row.decided_link !== null ? { decidedWithLink: row.decided_link } : {}),
      ...(row.decided_runner !== null ? { decidedRunner: row.decided_runner } : {}),
      ...(row.dispatched_at !== null ? { dispatchedAt: row.dispatched_at } : {}),
      ...(row.dispatch_error !== null ? { dispatchError: row.dispatch_error } : {}),
      ...(row.notified_at !== null ? { notifiedAt: row.notified_at } : {}),
      ...(row.body_erased_at !== null ? { bodyErased: { at: row.body_erased_at, days: row.body_erased_days ?? 0 } } : {}),
      escalations: row.escalations,
    };
  }
}

function prepareStatements(db: SqliteDatabase) {
  // only raw reads the message; toHold opens body_start
  return {
    exists: db.prepare('SELECT 1 FROM holds WHERE id = ?'),
    byDigest: db.prepare('SELECT id FROM holds WHERE digest = ?'),
    insert: db.prepare(`INSERT INTO holds (id, state, env_from, env_to, subject, recipients, attachments, findings, created_at, deadline, on_deadline, approvers, release_with, raw_size, raw_key, body_start, digest)
      VALUES (@id, 'held', @env_from, @env_to, @subject, @recipients, @attachments, @findings, @created_at, @deadline, @on_deadline, @approvers, @release_with, @raw_size, @raw_key, @body_start, @digest)`),
    get: db.prepare(`SELECT ${COLUMNS} FROM holds WHERE id = ?`),
    raw: db.prepare('SELECT raw, raw_size, raw_key FROM holds WHERE id = ?'),
    listAll: db.prepare(`SELECT ${COLUMNS} FROM holds ORDER BY created_at, id LIMIT @limit`),
    listState: db.prepare(`SELECT ${COLUMNS} FROM holds WHERE state = @state ORDER BY created_at, id LIMIT @limit`),
    // a discarded or expired message is forgotten by its digest: sent again, it is a new message
    decide: db.prepare(`UPDATE holds SET state = @state, decided_at = @at, decided_by = @by, decided_link = @link, decided_runner = @runner, mistake = @mistake,
      digest = CASE WHEN @state = 'released' THEN digest ELSE NULL END
      WHERE id = @id AND state = 'held'`),
    dispatched: db.prepare(`UPDATE holds SET dispatched_at = @at, dispatch_error = @error
      WHERE id = @id AND state = 'released' AND dispatched_at IS NULL`),
    // a released hold keeps its body until its copies are in the outbox, however long that takes
    retained: db.prepare(`SELECT id, state, decided_at FROM holds
      WHERE state <> 'held' AND (raw_size IS NOT NULL OR raw IS NOT NULL) AND decided_at < @before AND (state <> 'released' OR dispatched_at IS NOT NULL)
      ORDER BY decided_at, id LIMIT @limit`),
    eraseBody: db.prepare('UPDATE holds SET raw = NULL, raw_size = NULL, raw_key = NULL, body_start = NULL, body_erased_at = @at, body_erased_days = @days WHERE id = @id'),
    undispatched: db.prepare(`SELECT ${COLUMNS} FROM holds WHERE state = 'released' AND dispatched_at IS NULL ORDER BY decided_at, id LIMIT @limit`),
    notified: db.prepare('UPDATE holds SET notified_at = @at WHERE id = @id AND notified_at IS NULL'),
    unnotified: db.prepare(`SELECT ${COLUMNS} FROM holds WHERE state = 'held' AND notified_at IS NULL AND created_at < @before ORDER BY created_at, id LIMIT @limit`),
    escalate: db.prepare(`UPDATE holds SET deadline = @deadline, on_deadline = @on_deadline, approvers = @approvers, escalations = escalations + 1
      WHERE id = @id AND state = 'held' AND deadline = @expected`),
    nextDeadline: db.prepare(`SELECT MIN(deadline) AS at FROM holds WHERE state = 'held'`),
    due: db.prepare(`SELECT ${COLUMNS} FROM holds WHERE state = 'held' AND deadline <= @now ORDER BY deadline, id LIMIT @limit`),
    counts: db.prepare('SELECT state, COUNT(*) AS n FROM holds GROUP BY state'),
  };
}

function positiveLimit(limit: number): number {
  return Number.isFinite(limit) && limit >= 1 ? Math.floor(limit) : 1;
}

function validate(hold: NewHold): void {
  if (typeof hold.id !== 'string' || hold.id === '') throw new TypeError('a hold needs an id');
  if (!hold.envelope || typeof hold.envelope.from !== 'string' || !Array.isArray(hold.envelope.to) || hold.envelope.to.length === 0) {
    throw new TypeError(`hold ${hold.id}: the envelope needs a sender ('' for <>) and at least one recipient`);
  }
  if (!hold.raw || typeof hold.raw !== 'object') throw new TypeError(`hold ${hold.id}: raw must be the message's bytes`);
  if (!Number.isFinite(hold.createdAt) || !Number.isFinite(hold.deadline)) throw new TypeError(`hold ${hold.id}: createdAt and deadline must be times in ms`);
}

/** Stored release settings, with the encryption keys a hold stored by an older build lacks at their defaults. */
function releaseSettings(json: string): ReleaseSettings {
  const stored = JSON.parse(json) as ReleaseSettings;
  return { ...stored, encryption: { ...DEFAULT_ENCRYPTION, ...stored.encryption } };
}
