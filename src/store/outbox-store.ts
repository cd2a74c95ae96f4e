import type { Envelope } from '../message/envelope.js';
import type { ByteSource, Bytes } from '../message/source.js';

/**
 * The durable outbox: mail the gateway sends later (password notices, released holds,
 * notifications). This is the storage contract; the SQLite backend is sqlite-outbox.ts, and a
 * PostgreSQL backend implements the same interface (hence every method is async).
 *
 * Life of a job:
 *
 *   enqueue 'waiting' (after job X) ──X sent──► 'ready' ──claim──► (leased, being sent) ──markSent──► 'sent'
 *   enqueue 'ready' ────────────────────────►   ▲                     │
 *                                               └── markFailed(retryAt)┘   markFailed(null) ──► 'failed'
 *   'waiting' | 'ready' ──cancel──► 'cancelled'  (and so are the jobs waiting for it)
 *
 * The message bytes (`raw`) are stored sealed (AES-256-GCM, see sealed.ts) because notices
 * carry passwords and messages carry bodies, and they are erased as soon as the job reaches a
 * final state (sent, failed, cancelled): a password is kept only until its notice is accepted.
 * The envelope, ids and timestamps stay in clear for the admin's queries until purge().
 */

export type JobKind = 'password-notice' | 'notice' | 'message';
export type JobState = 'waiting' | 'ready' | 'sent' | 'failed' | 'cancelled';

export const JOB_KINDS: readonly JobKind[] = ['password-notice', 'notice', 'message'];
export const JOB_STATES: readonly JobState[] = ['waiting', 'ready', 'sent', 'failed', 'cancelled'];
/** The states a job never leaves. */
export const FINAL_STATES: readonly JobState[] = ['sent', 'failed', 'cancelled'];

export interface NewJob {
  /** Unique id of the job; the X-Outguard-Id of the mail it sends is a good choice. */
  id: string;
  kind: JobKind;
  /** The X-Outguard-Id of the message this job relates to (the one a password notice unlocks). */
  ref: string;
  envelope: Envelope;
  /** The exact bytes to send (read once, front to back). Stored sealed in chunks; erased once the job is final. */
  raw: Bytes;
  /** Not to be sent before this time (ms since the epoch). Default: now. */
  notBefore?: number;
  /**
   * The id of another outbox job this one depends on. A 'waiting' job with `after` becomes
   * 'ready' in the same transaction that marks that job sent, and is cancelled when that job
   * fails for good or is cancelled — e.g. the password notice of a released hold that is itself
   * sent through the outbox.
   */
  after?: string;
  /** Creation time (ms). Default: now. */
  createdAt?: number;
  /** For a job with `after`: it becomes due this long after that job was sent (a password notice's delay). */
  delayMs?: number;
  /** What the job carries, for the audit event once it is sent (never secrets: names and digests only). */
  meta?: JobMeta;
}

/** A job's description for reactions to its delivery: a message copy's encrypted files. */
export interface JobMeta {
  encrypted?: { zip: string; form: 'attachments' | 'whole'; files: { name: string; sha256: string }[] };
}

/** A job and the state it is stored in, for enqueueAll. */
export type NewJobIn = NewJob & { state: 'ready' | 'waiting' };

export interface EnqueueOptions {
  /**
   * A keyed digest of the message the jobs come from (its envelope and bytes): a client that
   * sends the same message again is recognised (findByDigest) and gets no second copy.
   */
  digest?: string;
  /** The 'ready' jobs are leased to this runner from the start: it sends them itself, now. */
  lease?: { owner: string; until: number };
}

/** A job as stored, without its message bytes. */
export interface JobInfo {
  id: string;
  kind: JobKind;
  ref: string;
  envelope: Envelope;
  state: JobState;
  notBefore: number;
  /** Delivery attempts that failed so far. */
  attempts: number;
  lastError: string | null;
  createdAt: number;
  /** When the job became 'ready' (enqueued ready, or when the job it waited for was sent); the outbox's maximum age counts from here. */
  readyAt: number | null;
  sentAt: number | null;
  /** When the job reached its final state. */
  finishedAt: number | null;
  after: string | null;
  /** The runner holding the job, while its lease has not expired. */
  leaseOwner: string | null;
  leaseUntil: number | null;
  /** Whether the sealed message bytes are still stored (false once erased). */
  hasRaw: boolean;
  meta?: JobMeta;
}

/** A job with its message bytes opened (get() is for tests and the CLI). */
export interface Job extends JobInfo {
  /** The message bytes, or null once erased. */
  raw: Buffer | null;
}

/** A job leased to one runner. */
export interface ClaimedJob extends JobInfo {
  /** The runner's lease, until it is renewed, the job is marked, or it expires. */
  leaseOwner: string;
  leaseUntil: number;
  /**
   * The sealed message bytes, read by offsets a chunk at a time, every chunk opened once first:
   * throws (SealedDataError) when one cannot be opened — missing, tampered with, or sealed under
   * another key — so the runner can fail that job alone, for good, before a byte is sent.
   */
  openRaw(): ByteSource;
}

/** What a state change did to the jobs that depend on this one (see NewJob.after). */
export interface Transition {
  /** False when the job was not in a state the change applies to (or does not exist). */
  changed: boolean;
  /** Dependent jobs made 'ready' by this change. */
  released: string[];
  /** Dependent jobs cancelled by this change. */
  cancelled: string[];
}

export interface JobFilter {
  ref?: string;
  state?: JobState;
  limit?: number;
}

export interface OutboxStore {
  /**
   * Stores a new job ('ready' by default, or 'waiting' for its `after` job to be sent). Throws
   * DuplicateJobError if the id exists. A 'waiting' job whose `after` job was already sent is
   * stored 'ready'; one whose `after` job failed or was cancelled is stored 'cancelled'.
   */
  enqueue(job: NewJob, state?: 'ready' | 'waiting'): Promise<void>;
  /**
   * Stores several jobs in one transaction — all of them, or (on any error, such as a duplicate
   * id, or KnownMessageError for a digest stored already) none: everything one message produces (its copies and their password notices) is queued
   * at once, so a crash never leaves a copy without its notice.
   */
  enqueueAll(jobs: readonly NewJobIn[], options?: EnqueueOptions): Promise<void>;
  /**
   * A job's message bytes, each chunk opened as it is read (a damaged chunk throws then: a next
   * hop that was being sent the message gets no end of DATA, so nothing is delivered); null once
   * erased or unknown. For a copy just stored; claimed jobs are opened by openRaw().
   */
  message(id: string): Promise<ByteSource | null>;
  /** Erases message bytes that no stored job names (left by a crash while they were written). */
  sweep(now?: number): Promise<number>;
  /** The ref of the jobs stored with this digest (the plan's first copy carries it, until cancelled); null when none. */
  findByDigest(digest: string): Promise<string | null>;
  /** Ready jobs with notBefore ≤ now and no live lease, oldest first. Read-only. */
  due(now: number, limit: number): Promise<JobInfo[]>;
  /**
   * Leases up to `limit` due jobs to `owner` until now + leaseMs, oldest first, atomically:
   * a job leased to one runner is not claimed by another until that lease expires, so two
   * runners (or a restarted one) never send one job at the same time.
   */
  claimDue(owner: string, now: number, limit: number, leaseMs: number): Promise<ClaimedJob[]>;
  /** Leases one job if it is due and not leased; null otherwise. */
  claim(id: string, owner: string, now: number, leaseMs: number): Promise<ClaimedJob | null>;
  /** The runners holding leases on ready jobs now. */
  leaseOwners(): Promise<string[]>;
  /** Drops every lease `owner` holds (a runner known to be dead), so its jobs are due at once. */
  releaseLeases(owner: string): Promise<number>;
  /** Extends the leases `owner` holds on `ids` to `until`; returns the ids still held. */
  renew(ids: readonly string[], owner: string, until: number): Promise<string[]>;
  /**
   * The next hop accepted the job: state 'sent', its sealed bytes erased, dependents released.
   * Records the send even if the job was cancelled or its lease lost meanwhile — it did go out.
   * `within` runs inside the same transaction when the job changed (its audit event: stored
   * exactly when the send is); if it throws, nothing is marked.
   */
  markSent(id: string, now?: number, within?: () => void): Promise<Transition>;
  /**
   * A delivery attempt failed: attempts + 1 and lastError recorded, the lease dropped. With
   * `retryAt` the job stays 'ready' and is due again then; with null it is 'failed' for good
   * (bytes erased, dependents cancelled). With `owner`, applies only while that runner still
   * holds the lease (a runner whose lease expired must not reschedule another runner's send).
   */
  markFailed(id: string, error: string, retryAt: number | null, owner?: string, now?: number): Promise<Transition>;
  /** 'waiting' | 'ready' → 'cancelled', bytes erased, dependents cancelled. */
  cancel(id: string, reason?: string, now?: number): Promise<Transition>;
  /**
   * Cancels 'waiting' jobs created before `createdBefore`, except those whose `after` job is
   * still waiting or ready. Returns the jobs cancelled.
   */
  cancelStaleWaiting(createdBefore: number, now?: number): Promise<JobInfo[]>;
  /** When the earliest ready job becomes claimable (its notBefore, or its lease's expiry); null if none. */
  nextDueAt(): Promise<number | null>;
  get(id: string): Promise<Job | null>;
  list(filter?: JobFilter): Promise<JobInfo[]>;
  /** Number of jobs in each state. */
  counts(): Promise<Record<JobState, number>>;
  /** Deletes jobs that reached a final state before `finishedBefore`; returns how many. */
  purge(finishedBefore: number): Promise<number>;
  /**
   * Makes erased bytes unrecoverable from the backend's files as far as it can (SQLite:
   * checkpoint and truncate the write-ahead log, which still holds old page images).
   */
  scrub(): Promise<void>;
  close(): Promise<void>;
}

/** enqueue() was given an id that is already stored. */
export class DuplicateJobError extends Error {
  constructor(readonly id: string) {
    super(`outbox job ${id} already exists`);
    this.name = 'DuplicateJobError';
  }
}
