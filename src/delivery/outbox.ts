import type { Logger } from '../log.js';
import type { NewAuditEvent } from '../audit/events.js';
import type { ByteSource } from '../message/source.js';
import type { ClaimedJob, JobInfo, OutboxStore, Transition } from '../store/outbox-store.js';
import { type Accepted, type NextHop, NextHopError } from './next-hop.js';
import { InFlight } from '../util/in-flight.js';
import { crashPoint } from '../util/crash-point.js';
import { newRunnerId, runnerGone } from '../util/runner.js';

export interface OutboxOptions {
  store: OutboxStore;
  hop: NextHop;
  logger: Logger;
  /** First retry delay; each further one doubles (30 s, 1 m, 2 m, 4 m, … ). Default 30 s. */
  retryBaseMs?: number;
  /** Longest retry delay. Default 1 h. */
  retryCapMs?: number;
  /** Each delay is shortened by up to this fraction at random, so retries spread out. Default 0.1. */
  retryJitter?: number;
  /**
   * How long after a job became ready it is still retried; a temporary failure after that makes
   * it 'failed' for good (logged as an error). Default 5 days, as MTAs keep mail.
   */
  maxAgeMs?: number;
  /**
   * A 'waiting' job older than this whose `after` job is gone (purged) is cancelled. Default 1
   * day. Jobs waiting for another outbox job are kept while that job is still waiting or ready.
   */
  waitingMaxAgeMs?: number;
  /** How often the waiting jobs are swept (also once at start). Default 1 h. */
  sweepIntervalMs?: number;
  /**
   * How long a claimed job stays leased to this runner without renewal. Renewed every third of
   * it while the send is in flight; a crashed runner's jobs are taken over once it expires.
   * Default 2 minutes.
   */
  leaseMs?: number;
  /** Longest sleep between looks at the store (for jobs other processes enqueue). Default 10 s. */
  pollMs?: number;
  /** Jobs claimed and sent in parallel at a time. Default 4. */
  concurrency?: number;
  /** This runner's name in leases. Default host:pid:random. */
  runnerId?: string;
  /** The clock (ms). Default Date.now. */
  now?: () => number;
  /** Called after a job was accepted by the next hop (e.g. to write an audit event). */
  onSent?: (job: JobInfo, accepted: Accepted) => void | Promise<void>;
  /**
   * The audit chain on the store's own database connection, and the event of a sent job: the
   * event is stored in the transaction that marks the job sent, so a crash cannot keep one
   * without the other (a notice sent without its notice-sent event).
   */
  ledger?: { appendInTransaction(events: NewAuditEvent[]): unknown; anchorHead(): void; eventOf(job: JobInfo): NewAuditEvent };
  /** Called when a job failed for good (e.g. to notify the sender). */
  onFailed?: (job: JobInfo, error: string) => void | Promise<void>;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The delay before retry number `attempt` (1 = after the first failure): base × 2^(attempt−1), at most cap. */
export function retryDelay(attempt: number, baseMs: number, capMs: number): number {
  const exp = Math.min(Math.max(attempt - 1, 0), 52);
  return Math.min(capMs, baseMs * 2 ** exp);
}

/**
 * Sends the outbox's jobs to the next hop, at least once and (with working leases) never twice
 * at the same time: a loop, driven by an unref'd timer, claims due jobs, delivers them and
 * marks them sent (which erases their stored bytes) or schedules a retry.
 *
 * - A refusal (5xx) fails the job for good; anything else (4xx, connection refused, timeout)
 *   is retried with exponential backoff until maxAgeMs after the job became ready.
 * - On start, jobs left 'ready' by a crash are picked up (a job that was in flight when the
 *   process died is retried once its lease expires; the next hop may then get it twice — it
 *   carries its X-Outguard-Id and Message-ID to tell).
 * - A job waiting for another (a password notice for the copy its ZIP is in) becomes due once
 *   that job was sent, after its delay; it is cancelled when that job fails for good or is
 *   cancelled (it would unlock nothing that was delivered).
 * - Jobs leased by a runner of this host that is gone are taken over at start.
 *
 * Logs carry job id, kind, ref, attempt, next retry and the next hop's reply — never the
 * message bytes.
 */
export class Outbox {
  private readonly store: OutboxStore;
  private readonly hop: NextHop;
  private readonly logger: Logger;
  private readonly retryBaseMs: number;
  private readonly retryCapMs: number;
  private readonly retryJitter: number;
  private readonly maxAgeMs: number;
  private readonly waitingMaxAgeMs: number;
  private readonly sweepIntervalMs: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly concurrency: number;
  readonly runnerId: string;
  private readonly now: () => number;
  private readonly onSent?: OutboxOptions['onSent'];
  private readonly onFailed?: OutboxOptions['onFailed'];
  private readonly ledger?: OutboxOptions['ledger'];

  private started = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private again = false;
  private lastSweep = -Infinity;
  private readonly runs = new InFlight();

  constructor(options: OutboxOptions) {
    this.store = options.store;
    this.hop = options.hop;
    this.logger = options.logger;
    this.retryBaseMs = options.retryBaseMs ?? 30 * SECOND;
    this.retryCapMs = options.retryCapMs ?? HOUR;
    this.retryJitter = Math.min(Math.max(options.retryJitter ?? 0.1, 0), 1);
    this.maxAgeMs = options.maxAgeMs ?? 5 * DAY;
    this.waitingMaxAgeMs = options.waitingMaxAgeMs ?? DAY;
    this.sweepIntervalMs = options.sweepIntervalMs ?? HOUR;
    this.leaseMs = options.leaseMs ?? 2 * MINUTE;
    this.pollMs = options.pollMs ?? 10 * SECOND;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
    this.runnerId = options.runnerId ?? newRunnerId();
    this.now = options.now ?? Date.now;
    this.onSent = options.onSent;
    this.onFailed = options.onFailed;
    this.ledger = options.ledger;
    for (const [name, v] of Object.entries({ retryBaseMs: this.retryBaseMs, retryCapMs: this.retryCapMs, maxAgeMs: this.maxAgeMs, leaseMs: this.leaseMs, pollMs: this.pollMs })) {
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`Outbox option ${name} must be a positive number of milliseconds, got ${v}`);
    }
  }

  /** Cancels stale waiting jobs, then starts the loop, which first picks up whatever is due. */
  async start(): Promise<void> {
    if (this.started) return;
    if (this.stopped) throw new Error('the outbox was stopped; create a new one');
    this.started = true;
    await this.track(this.takeOverDeadRunners());
    await this.track(this.sweep());
    const counts = await this.store.counts();
    this.logger.info({ runner: this.runnerId, ready: counts.ready, waiting: counts.waiting, nextHop: this.hop.description }, 'outbox started');
    this.schedule(0);
  }

  /** Looks for due jobs now (call it right after a job was enqueued ready or made ready). */
  kick(): void {
    if (!this.started || this.stopped) return;
    if (this.loop) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /** Stops claiming jobs and waits for the sends in flight to finish. Does not close the store or the hop. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.runs.drain();
  }

  /**
   * One pass: sweeps stale waiting jobs when due, then claims and sends due jobs until none are
   * left. Returns how many jobs it handled (sent, rescheduled or failed). The loop calls it;
   * tests and the CLI may too.
   */
  runOnce(): Promise<number> {
    return this.track(this.pass());
  }

  private track<T>(p: Promise<T>): Promise<T> {
    return this.runs.track(p);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.loop = this.track(this.tick()).finally(() => {
        this.loop = undefined;
      });
    }, Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let delay = this.pollMs;
    try {
      this.again = false;
      await this.runOnce();
      const next = await this.store.nextDueAt();
      if (next !== null) delay = Math.min(this.pollMs, Math.max(next - this.now(), 5));
    } catch (err) {
      this.logger.error({ runner: this.runnerId, err: errorText(err) }, 'outbox pass failed; trying again later');
    }
    if (this.again) delay = 0;
    this.schedule(delay);
  }

  private async pass(): Promise<number> {
    if (this.now() - this.lastSweep >= this.sweepIntervalMs) await this.sweep();
    let handled = 0;
    for (;;) {
      if (this.stopped) break;
      const jobs = await this.store.claimDue(this.runnerId, this.now(), this.concurrency, this.leaseMs);
      if (jobs.length === 0) break;
      const inFlight = new Set(jobs.map((j) => j.id));
      const renewer = setInterval(() => void this.renew(inFlight), Math.max(1, Math.floor(this.leaseMs / 3)));
      renewer.unref();
      let released = false;
      try {
        const results = await Promise.all(
          jobs.map((job) =>
            this.deliver(job).finally(() => {
              inFlight.delete(job.id);
            }),
          ),
        );
        released = results.some((t) => t.released.length > 0);
      } finally {
        clearInterval(renewer);
      }
      handled += jobs.length;
      // a short batch means nothing else is due now, unless a sent job released its dependents
      if (jobs.length < this.concurrency && !released) break;
    }
    if (handled > 0) {
      await this.store.scrub().catch((err: unknown) => this.logger.warn({ err: errorText(err) }, 'outbox: cannot scrub the store'));
    }
    return handled;
  }

  private async renew(ids: Set<string>): Promise<void> {
    if (ids.size === 0) return;
    const wanted = [...ids];
    try {
      const held = new Set(await this.store.renew(wanted, this.runnerId, this.now() + this.leaseMs));
      for (const id of wanted) {
        if (!held.has(id) && ids.has(id)) this.logger.warn({ id, runner: this.runnerId }, 'outbox: lost the lease on a job being sent');
      }
    } catch (err) {
      this.logger.warn({ runner: this.runnerId, err: errorText(err) }, 'outbox: cannot renew leases');
    }
  }

  /**
   * Jobs leased by a process of this host that is gone (killed, crashed) are due at once, not
   * only when their lease runs out: a restarted gateway sends what its predecessor was sending.
   */
  private async takeOverDeadRunners(): Promise<void> {
    for (const owner of await this.store.leaseOwners()) {
      if (!runnerGone(owner, this.runnerId)) continue;
      const n = await this.store.releaseLeases(owner);
      this.logger.warn({ runner: this.runnerId, deadRunner: owner, jobs: n }, 'outbox: took over the jobs of a runner that is gone');
    }
  }

  private async sweep(): Promise<void> {
    const now = this.now();
    this.lastSweep = now;
    const cancelled = await this.store.cancelStaleWaiting(now - this.waitingMaxAgeMs, now);
    // message bytes a crash left unnamed (written, their job never committed)
    const swept = await this.store.sweep(now);
    if (swept > 0) this.logger.info({ chunks: swept }, 'outbox: erased message chunks no job names (left by an interrupted run)');
    for (const job of cancelled) {
      this.logger.warn(
        { id: job.id, kind: job.kind, ref: job.ref, createdAt: new Date(job.createdAt).toISOString(), reason: job.lastError },
        'outbox: waiting job cancelled, the message it belongs to was never accepted',
      );
    }
  }

  /** Sends one claimed job and records the outcome; never throws for a delivery failure. */
  private async deliver(job: ClaimedJob): Promise<Transition> {
    const attempt = job.attempts + 1;
    const fields = { id: job.id, kind: job.kind, ref: job.ref, attempt };
    const info = withoutRaw(job);
    let raw: ByteSource;
    try {
      raw = job.openRaw();
    } catch (err) {
      const error = `cannot open the stored message: ${errorText(err)}`;
      this.logger.error({ ...fields, err: error }, 'outbox job failed for good');
      const t = await this.store.markFailed(job.id, error, null, this.runnerId, this.now());
      this.logDependents(job, t);
      await this.notify(() => this.onFailed?.({ ...info, state: 'failed', lastError: error }, error));
      return t;
    }

    let accepted: Accepted;
    try {
      accepted = await this.hop.deliver({ id: job.id, envelope: job.envelope, raw });
    } catch (err) {
      return this.failed(job, info, err, attempt);
    }

    crashPoint('outbox:accepted');
    const now = this.now();
    const ledger = this.ledger;
    const t = await this.store.markSent(job.id, now, ledger && (() => ledger.appendInTransaction([ledger.eventOf(info)])));
    ledger?.anchorHead();
    crashPoint('outbox:marked');
    this.logger.info({ ...fields, reply: accepted.reply, accepted: accepted.accepted.length, rejected: accepted.rejected.length, released: t.released }, 'outbox job sent');
    if (accepted.rejected.length > 0) {
      this.logger.warn({ ...fields, refused: accepted.rejected }, 'outbox: the next hop refused some recipients of a job it took');
    }
    if (!t.changed) this.logger.warn(fields, 'outbox: job was already marked sent (sent twice?)');
    await this.notify(() => this.onSent?.({ ...info, state: 'sent', sentAt: now, finishedAt: now, hasRaw: false, leaseOwner: null, leaseUntil: null }, accepted));
    return t;
  }

  private async failed(job: ClaimedJob, info: JobInfo, err: unknown, attempt: number): Promise<Transition> {
    const fields = { id: job.id, kind: job.kind, ref: job.ref, attempt };
    const error = err instanceof NextHopError ? err.reply : errorText(err);
    const refused = err instanceof NextHopError && err.responseCode !== undefined && err.responseCode >= 500 && err.responseCode < 600;
    const now = this.now();
    const since = job.readyAt ?? job.createdAt;
    const deadline = since + this.maxAgeMs;
    let retryAt: number | null = null;
    if (!refused && now < deadline) {
      const delay = retryDelay(attempt, this.retryBaseMs, this.retryCapMs) * (1 - this.retryJitter * Math.random());
      retryAt = Math.min(Math.ceil(now + delay), deadline);
    }
    const t = await this.store.markFailed(job.id, error, retryAt, this.runnerId, now);
    if (!t.changed) {
      this.logger.warn({ ...fields, err: error }, 'outbox: delivery failed, but the job was cancelled or taken over meanwhile');
      return t;
    }
    if (retryAt !== null) {
      this.logger.warn({ ...fields, err: error, retryAt: new Date(retryAt).toISOString(), retryInMs: retryAt - now }, 'outbox delivery failed; will retry');
      return t;
    }
    const reason = refused ? 'refused by the next hop' : `not delivered within ${duration(this.maxAgeMs)}`;
    this.logger.error({ ...fields, err: error, reason }, 'outbox job failed for good');
    this.logDependents(job, t);
    await this.notify(() => this.onFailed?.({ ...info, state: 'failed', attempts: attempt, lastError: error, finishedAt: now, hasRaw: false, leaseOwner: null, leaseUntil: null }, error));
    return t;
  }

  private logDependents(job: JobInfo, t: Transition): void {
    for (const id of t.cancelled) this.logger.warn({ id, after: job.id, ref: job.ref }, 'outbox: dependent job cancelled');
  }

  private async notify(call: () => void | Promise<void> | undefined): Promise<void> {
    try {
      await call();
    } catch (err) {
      this.logger.error({ err: errorText(err) }, 'outbox: event handler failed');
    }
  }
}

function withoutRaw(job: ClaimedJob): JobInfo {
  const { openRaw: _openRaw, ...info } = job;
  return info;
}

function duration(ms: number): string {
  for (const [unit, size] of [['days', DAY], ['hours', HOUR], ['minutes', MINUTE]] as const) {
    if (ms >= size) return `${+(ms / size).toFixed(1)} ${unit}`;
  }
  return `${+(ms / SECOND).toFixed(1)} seconds`;
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
