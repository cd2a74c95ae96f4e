import {
  type ClaimedJob,
  DuplicateJobError,
  JOB_KINDS,
  JOB_STATES,
  type Job,
  type JobFilter,
  type JobInfo,
  type JobKind,
  type JobMeta,
  type JobState,
  type EnqueueOptions,
  type NewJob,
  type NewJobIn,
  type OutboxStore,
  type Transition,
} from './outbox-store.js';
import { KnownMessageError } from './known-message.js';
import { BufferSource, type ByteSource } from '../message/source.js';
import { open } from './sealed.js';
import type { SealedChunkSource } from './sealed-chunks.js';
import { SqliteChunks, type WrittenRecord } from './sqlite-chunks.js';
import { type Migration, type OpenDatabaseOptions, type SqliteDatabase, openOwned, SealedSqliteStore } from './sqlite.js';

export const OUTBOX_COMPONENT = 'outbox';

const MIGRATIONS: readonly Migration[] = [
  (db) =>
    db.exec(`
      CREATE TABLE outbox_jobs (
        id          TEXT PRIMARY KEY,
        kind        TEXT NOT NULL CHECK (kind IN ('password-notice', 'notice', 'message')),
        ref         TEXT NOT NULL,
        env_from    TEXT NOT NULL,
        env_to      TEXT NOT NULL,          -- JSON array of addresses
        raw         BLOB,                   -- sealed (sealed.ts, aad 'outbox:<id>'); NULL once erased
        state       TEXT NOT NULL CHECK (state IN ('waiting', 'ready', 'sent', 'failed', 'cancelled')),
        not_before  INTEGER NOT NULL,       -- ms since the epoch
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT,
        created_at  INTEGER NOT NULL,
        ready_at    INTEGER,
        sent_at     INTEGER,
        finished_at INTEGER,
        after_id    TEXT,                   -- job this one waits for (no foreign key: that one may be purged first)
        lease_owner TEXT,
        lease_until INTEGER
      ) STRICT;
      CREATE INDEX outbox_jobs_due ON outbox_jobs (state, not_before);
      CREATE INDEX outbox_jobs_ref ON outbox_jobs (ref);
      CREATE INDEX outbox_jobs_after ON outbox_jobs (after_id) WHERE after_id IS NOT NULL;
      CREATE INDEX outbox_jobs_finished ON outbox_jobs (finished_at) WHERE finished_at IS NOT NULL;
    `),
  // one plan per message: a notice's delay after its copy, what a copy carries, retries recognised
  (db) =>
    db.exec(`
      ALTER TABLE outbox_jobs ADD COLUMN delay_ms INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE outbox_jobs ADD COLUMN meta TEXT;     -- JSON (JobMeta): file names and digests, no secrets
      ALTER TABLE outbox_jobs ADD COLUMN digest TEXT;   -- keyed digest of the message, on its first copy
      CREATE UNIQUE INDEX outbox_jobs_digest ON outbox_jobs (digest) WHERE digest IS NOT NULL;
    `),
  // messages sealed in chunks (sqlite-chunks.ts); raw keeps only what older versions stored whole
  (db) =>
    db.exec(`
      ALTER TABLE outbox_jobs ADD COLUMN raw_size INTEGER;   -- bytes of the message in sealed_chunks; NULL once erased
      ALTER TABLE outbox_jobs ADD COLUMN raw_key BLOB;       -- the message's own key, sealed (sqlite-chunks.ts); NULL once erased
    `),
];

interface Row {
  id: string;
  kind: JobKind;
  ref: string;
  env_from: string;
  env_to: string;
  raw: Buffer | null;
  raw_size: number | null;
  raw_key: Buffer | null;
  state: JobState;
  not_before: number;
  attempts: number;
  last_error: string | null;
  created_at: number;
  ready_at: number | null;
  sent_at: number | null;
  finished_at: number | null;
  after_id: string | null;
  lease_owner: string | null;
  lease_until: number | null;
  delay_ms: number;
  meta: string | null;
  digest: string | null;
}

const aadFor = (id: string) => `outbox:${id}`;
const noChange: Transition = Object.freeze({ changed: false, released: [], cancelled: [] }) as Transition;

/**
 * The outbox in SQLite (DATA_DIR/outguard.db, table outbox_jobs). Several processes may open the
 * same file: claims run in IMMEDIATE transactions, so a job is leased to one runner at a time.
 * The calls are synchronous underneath (better-sqlite3) and short; they are async to match the
 * OutboxStore contract.
 */
export class SqliteOutboxStore extends SealedSqliteStore implements OutboxStore {
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private readonly chunks: SqliteChunks;

  /** Opens DATA_DIR/outguard.db and brings the outbox tables up to date. */
  static open(dataDir: string, key: Buffer, options: OpenDatabaseOptions = {}): SqliteOutboxStore {
    return openOwned(dataDir, options, (db) => new SqliteOutboxStore(db, key, { ownsDb: true }));
  }

  /** Uses an open database (see openDatabase); close() closes it only when ownsDb. */
  constructor(db: SqliteDatabase, key: Buffer, options: { ownsDb?: boolean } = {}) {
    super(db, key, options, { what: 'outbox', component: OUTBOX_COMPONENT, migrations: MIGRATIONS });
    this.chunks = new SqliteChunks(db, this.key);
    this.stmt = prepareStatements(db);
  }

  async enqueue(job: NewJob, state: 'ready' | 'waiting' = 'ready'): Promise<void> {
    return this.enqueueAll([{ ...job, state }]);
  }

  async enqueueAll(jobs: readonly NewJobIn[], options: EnqueueOptions = {}): Promise<void> {
    jobs.forEach(validateNewJob);
    const now = Date.now();
    // the messages are sealed into their chunks first, a few at a time (a copy with a ZIP is made
    // as it is written): the transaction that names them holds the write lock only for the rows
    const records: WrittenRecord[] = [];
    try {
      for (const job of jobs) records.push(await this.chunks.write(aadFor(job.id), job.raw));
      this.db
        .transaction(() => {
          if (options.digest !== undefined) {
            // two sessions delivering the same message at once: the second one learns of the first
            const known = this.stmt.byDigest.get(options.digest) as { ref: string } | undefined;
            if (known) throw new KnownMessageError(known.ref);
          }
          jobs.forEach((job, i) => this.insert(job, records[i]!, now, i === 0 ? options : { ...options, digest: undefined }));
        })
        .immediate();
    } catch (err) {
      // only what this call wrote: a job of that id stored by another process keeps its message
      for (const record of records) this.chunks.discard(record.name);
      throw err;
    }
  }

  /** Erases chunks of jobs that were never stored (a crash between writing and committing them), once an hour old. */
  async sweep(now = Date.now()): Promise<number> {
    return this.chunks.sweep('outbox:', 'outbox_jobs', 'raw_size', now - 3_600_000);
  }

  private insert(job: NewJobIn, record: WrittenRecord, now: number, options: EnqueueOptions): void {
    if (this.stmt.state.get(job.id)) throw new DuplicateJobError(job.id);
    const createdAt = job.createdAt ?? now;
    const notBefore = job.notBefore ?? createdAt;
    const delay = Math.max(0, Math.round(job.delayMs ?? 0));
    let effective: JobState = job.state;
    let lastError: string | null = null;
    let due = notBefore;
    if (job.after !== undefined && job.state === 'waiting') {
      // the job it waits for may have finished already
      const parent = this.stmt.state.get(job.after) as Pick<Row, 'state' | 'sent_at'> | undefined;
      if (!parent) throw new Error(`outbox job ${job.id} waits for job ${job.after}, which does not exist`);
      if (parent.state === 'sent') {
        effective = 'ready';
        due = Math.max(notBefore, (parent.sent_at ?? now) + delay);
      } else if (parent.state === 'failed' || parent.state === 'cancelled') {
        effective = 'cancelled';
        lastError = `job ${job.after} it waits for was ${parent.state}`;
      }
    }
    const leased = effective === 'ready' && options.lease !== undefined;
    if (effective === 'cancelled') this.chunks.discard(record.name);
    this.stmt.insert.run({
      id: job.id,
      kind: job.kind,
      ref: job.ref,
      env_from: job.envelope.from,
      env_to: JSON.stringify(job.envelope.to),
      raw: null,
      raw_size: effective === 'cancelled' ? null : record.length,
      raw_key: effective === 'cancelled' ? null : record.key,
      state: effective,
      not_before: due,
      last_error: lastError,
      created_at: createdAt,
      ready_at: effective === 'ready' ? now : null,
      finished_at: effective === 'cancelled' ? now : null,
      after_id: job.after ?? null,
      lease_owner: leased ? options.lease!.owner : null,
      lease_until: leased ? options.lease!.until : null,
      delay_ms: delay,
      meta: job.meta ? JSON.stringify(job.meta) : null,
      digest: job.kind === 'message' ? (options.digest ?? null) : null,
    });
  }

  async findByDigest(digest: string): Promise<string | null> {
    return (this.stmt.byDigest.get(digest) as { ref: string } | undefined)?.ref ?? null;
  }

  async leaseOwners(): Promise<string[]> {
    return (this.stmt.leaseOwners.all() as { owner: string }[]).map((r) => r.owner);
  }

  async releaseLeases(owner: string): Promise<number> {
    return this.stmt.releaseLeases.run(owner).changes;
  }

  async due(now: number, limit: number): Promise<JobInfo[]> {
    return (this.stmt.due.all({ now, limit: positiveLimit(limit) }) as Row[]).map(toInfo);
  }

  async claimDue(owner: string, now: number, limit: number, leaseMs: number): Promise<ClaimedJob[]> {
    const until = now + leaseMs;
    return this.db
      .transaction(() => {
        const rows = this.stmt.due.all({ now, limit: positiveLimit(limit) }) as Row[];
        const claimed: ClaimedJob[] = [];
        for (const row of rows) {
          if (this.stmt.lease.run({ id: row.id, owner, until, now }).changes === 1) {
            claimed.push(this.toClaimed({ ...row, lease_owner: owner, lease_until: until }));
          }
        }
        return claimed;
      })
      .immediate();
  }

  async claim(id: string, owner: string, now: number, leaseMs: number): Promise<ClaimedJob | null> {
    const until = now + leaseMs;
    return this.db
      .transaction(() => {
        if (this.stmt.lease.run({ id, owner, until, now }).changes !== 1) return null;
        return this.toClaimed(this.stmt.get.get(id) as Row);
      })
      .immediate();
  }

  async renew(ids: readonly string[], owner: string, until: number): Promise<string[]> {
    if (ids.length === 0) return [];
    return this.db.transaction(() => ids.filter((id) => this.stmt.renew.run({ id, owner, until }).changes === 1)).immediate();
  }

  async markSent(id: string, now = Date.now(), within?: () => void): Promise<Transition> {
    return this.db
      .transaction((): Transition => {
        if (this.stmt.sent.run({ id, now }).changes !== 1) return noChange;
        within?.();
        this.chunks.erase(aadFor(id));
        const released: string[] = [];
        for (const { id: dep } of this.stmt.waitingDependents.all(id) as { id: string }[]) {
          if (this.stmt.markReady.run({ id: dep, now, not_before: now }).changes === 1) released.push(dep);
        }
        return { changed: true, released, cancelled: [] };
      })
      .immediate();
  }

  async markFailed(id: string, error: string, retryAt: number | null, owner?: string, now = Date.now()): Promise<Transition> {
    const err = error.slice(0, 2000);
    return this.db
      .transaction((): Transition => {
        if (retryAt !== null) {
          const r = this.stmt.retry.run({ id, error: err, retry_at: retryAt, owner: owner ?? null });
          return r.changes === 1 ? { changed: true, released: [], cancelled: [] } : noChange;
        }
        if (this.stmt.fail.run({ id, error: err, now, owner: owner ?? null }).changes !== 1) return noChange;
        this.chunks.erase(aadFor(id));
        return { changed: true, released: [], cancelled: this.cancelDependents(id, 'failed', now) };
      })
      .immediate();
  }

  async cancel(id: string, reason = 'cancelled', now = Date.now()): Promise<Transition> {
    return this.db
      .transaction((): Transition => {
        if (!this.cancelOne(id, reason.slice(0, 2000), now)) return noChange;
        return { changed: true, released: [], cancelled: this.cancelDependents(id, 'cancelled', now) };
      })
      .immediate();
  }

  async cancelStaleWaiting(createdBefore: number, now = Date.now()): Promise<JobInfo[]> {
    return this.db
      .transaction(() => {
        const ids = (this.stmt.staleWaiting.all({ before: createdBefore }) as { id: string }[]).map((r) => r.id);
        const all: string[] = [];
        for (const id of ids) {
          if (this.cancelOne(id, 'still waiting after the time limit: the message it belongs to was never accepted', now)) {
            all.push(id, ...this.cancelDependents(id, 'cancelled', now));
          }
        }
        return all.map((id) => toInfo(this.stmt.get.get(id) as Row));
      })
      .immediate();
  }

  async nextDueAt(): Promise<number | null> {
    return (this.stmt.nextDue.get() as { at: number | null }).at;
  }

  async get(id: string): Promise<Job | null> {
    const row = this.stmt.get.get(id) as Row | undefined;
    if (!row) return null;
    const source = this.messageOf(row);
    return { ...toInfo(row), raw: source ? Buffer.from(source.read(0, source.length)) : null };
  }

  /** A job's message: sealed in chunks, or whole as older versions stored it; null once erased. */
  private messageOf(row: Row): SealedChunkSource | BufferSource | null {
    if (row.raw_size !== null && row.raw_key !== null) return this.chunks.source(aadFor(row.id), { length: row.raw_size, key: row.raw_key });
    return row.raw ? new BufferSource(open(this.key, row.raw, aadFor(row.id))) : null;
  }

  async message(id: string): Promise<ByteSource | null> {
    const row = this.stmt.get.get(id) as Row | undefined;
    return row ? this.messageOf(row) : null;
  }

  async list(filter: JobFilter = {}): Promise<JobInfo[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: positiveLimit(filter.limit ?? 1000) };
    if (filter.ref !== undefined) {
      where.push('ref = @ref');
      params.ref = filter.ref;
    }
    if (filter.state !== undefined) {
      where.push('state = @state');
      params.state = filter.state;
    }
    const sql = `SELECT * FROM outbox_jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as Row[]).map(toInfo);
  }

  async counts(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const { state, n } of this.stmt.counts.all() as { state: JobState; n: number }[]) counts[state] = n;
    return counts;
  }

  async purge(finishedBefore: number): Promise<number> {
    return this.stmt.purge.run(finishedBefore).changes;
  }



  /** Cancels one job and erases its message (inside the caller's transaction). */
  private cancelOne(id: string, reason: string, now: number): boolean {
    if (this.stmt.cancel.run({ id, reason, now }).changes !== 1) return false;
    this.chunks.erase(aadFor(id));
    return true;
  }

  /** Cancels the waiting jobs that depend on `id`, and theirs in turn; returns their ids. */
  private cancelDependents(id: string, parentState: 'failed' | 'cancelled', now: number): string[] {
    const cancelled: string[] = [];
    const queue: [string, 'failed' | 'cancelled'][] = [[id, parentState]];
    while (queue.length) {
      const [parent, how] = queue.shift()!;
      for (const { id: dep } of this.stmt.waitingDependents.all(parent) as { id: string }[]) {
        if (this.cancelOne(dep, `job ${parent} it waits for was ${how}`, now)) {
          cancelled.push(dep);
          queue.push([dep, 'cancelled']);
        }
      }
    }
    return cancelled;
  }

  private toClaimed(row: Row): ClaimedJob {
    return {
      ...toInfo(row),
      leaseOwner: row.lease_owner!,
      leaseUntil: row.lease_until!,
      openRaw: () => {
        const source = this.messageOf(row);
        if (!source) throw new Error(`outbox job ${row.id} has no stored message`);
        return 'verify' in source ? source.verify() : source;
      },
    };
  }
}

function prepareStatements(db: SqliteDatabase) {
  return {
    insert: db.prepare(`INSERT INTO outbox_jobs (id, kind, ref, env_from, env_to, raw, raw_size, raw_key, state, not_before, attempts, last_error, created_at, ready_at, finished_at, after_id,
        lease_owner, lease_until, delay_ms, meta, digest)
      VALUES (@id, @kind, @ref, @env_from, @env_to, @raw, @raw_size, @raw_key, @state, @not_before, 0, @last_error, @created_at, @ready_at, @finished_at, @after_id,
        @lease_owner, @lease_until, @delay_ms, @meta, @digest)`),
    byDigest: db.prepare(`SELECT ref FROM outbox_jobs WHERE digest = ?`),
    leaseOwners: db.prepare(`SELECT DISTINCT lease_owner AS owner FROM outbox_jobs WHERE lease_owner IS NOT NULL AND state = 'ready'`),
    releaseLeases: db.prepare(`UPDATE outbox_jobs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND state = 'ready'`),
    get: db.prepare('SELECT * FROM outbox_jobs WHERE id = ?'),
    state: db.prepare('SELECT state, sent_at FROM outbox_jobs WHERE id = ?'),
    // a dependent becomes due its own delay after the job it waited for was sent
    markReady: db.prepare(`UPDATE outbox_jobs SET state = 'ready', ready_at = @now, not_before = MAX(not_before, @not_before + delay_ms) WHERE id = @id AND state = 'waiting'`),
    due: db.prepare(`SELECT * FROM outbox_jobs WHERE state = 'ready' AND not_before <= @now AND (lease_until IS NULL OR lease_until <= @now)
      ORDER BY created_at, id LIMIT @limit`),
    lease: db.prepare(`UPDATE outbox_jobs SET lease_owner = @owner, lease_until = @until
      WHERE id = @id AND state = 'ready' AND not_before <= @now AND (lease_until IS NULL OR lease_until <= @now)`),
    renew: db.prepare(`UPDATE outbox_jobs SET lease_until = @until WHERE id = @id AND lease_owner = @owner AND state = 'ready'`),
    sent: db.prepare(`UPDATE outbox_jobs SET state = 'sent', sent_at = @now, finished_at = @now, raw = NULL, raw_size = NULL, raw_key = NULL, lease_owner = NULL, lease_until = NULL
      WHERE id = @id AND state <> 'sent'`),
    retry: db.prepare(`UPDATE outbox_jobs SET attempts = attempts + 1, last_error = @error, not_before = @retry_at, lease_owner = NULL, lease_until = NULL
      WHERE id = @id AND state = 'ready' AND (@owner IS NULL OR lease_owner = @owner)`),
    fail: db.prepare(`UPDATE outbox_jobs SET state = 'failed', attempts = attempts + 1, last_error = @error, finished_at = @now, raw = NULL, raw_size = NULL, raw_key = NULL, lease_owner = NULL, lease_until = NULL
      WHERE id = @id AND state = 'ready' AND (@owner IS NULL OR lease_owner = @owner)`),
    // a cancelled copy forgets its message's digest: the message may be sent afresh
    cancel: db.prepare(`UPDATE outbox_jobs SET state = 'cancelled', last_error = @reason, finished_at = @now, raw = NULL, raw_size = NULL, raw_key = NULL, lease_owner = NULL, lease_until = NULL, digest = NULL
      WHERE id = @id AND state IN ('waiting', 'ready')`),
    waitingDependents: db.prepare(`SELECT id FROM outbox_jobs WHERE after_id = ? AND state = 'waiting' ORDER BY created_at, id`),
    staleWaiting: db.prepare(`SELECT j.id FROM outbox_jobs j WHERE j.state = 'waiting' AND j.created_at < @before
      AND (j.after_id IS NULL OR NOT EXISTS (SELECT 1 FROM outbox_jobs p WHERE p.id = j.after_id AND p.state IN ('waiting', 'ready')))
      ORDER BY j.created_at, j.id`),
    nextDue: db.prepare(`SELECT MIN(MAX(not_before, COALESCE(lease_until, 0))) AS at FROM outbox_jobs WHERE state = 'ready'`),
    counts: db.prepare('SELECT state, COUNT(*) AS n FROM outbox_jobs GROUP BY state'),
    purge: db.prepare(`DELETE FROM outbox_jobs WHERE state IN ('sent', 'failed', 'cancelled') AND finished_at < ?`),
  };
}

function toInfo(row: Row): JobInfo {
  return {
    id: row.id,
    kind: row.kind,
    ref: row.ref,
    envelope: { from: row.env_from, to: JSON.parse(row.env_to) as string[] },
    state: row.state,
    notBefore: row.not_before,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
    readyAt: row.ready_at,
    sentAt: row.sent_at,
    finishedAt: row.finished_at,
    after: row.after_id,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    hasRaw: row.raw !== null || row.raw_size !== null,
    ...(row.meta ? { meta: JSON.parse(row.meta) as JobMeta } : {}),
  };
}

function positiveLimit(limit: number): number {
  return Number.isFinite(limit) && limit >= 1 ? Math.floor(limit) : 1;
}

function validateNewJob(job: NewJob): void {
  if (typeof job.id !== 'string' || job.id === '') throw new TypeError('outbox job needs an id');
  if (!JOB_KINDS.includes(job.kind)) throw new TypeError(`outbox job ${job.id}: unknown kind ${String(job.kind)}`);
  if (typeof job.ref !== 'string') throw new TypeError(`outbox job ${job.id}: ref must be a string`);
  if (!job.envelope || typeof job.envelope.from !== 'string' || !Array.isArray(job.envelope.to) || job.envelope.to.length === 0) {
    throw new TypeError(`outbox job ${job.id}: the envelope needs a sender ('' for <>) and at least one recipient`);
  }
  if (!job.raw || typeof job.raw !== 'object') throw new TypeError(`outbox job ${job.id}: raw must be the message's bytes`);
}
