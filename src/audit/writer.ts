import type { Logger } from '../log.js';
import { type NewAuditEvent, normalizeEvent } from './events.js';
import type { AuditJournal, JournalApplier, JournalEntry } from './journal.js';

interface Queued {
  event: NewAuditEvent;
  waiter: { resolve(): void; reject(err: Error): void };
}

/** How long journaled events wait to go into the chain, at most, and how many make a batch at once. */
const APPLY_MS = 200;
const APPLY_BATCH = 500;
/** How long an event committed `lazy` waits for company when nobody urges it. */
const LAZY_MS = 5;

/**
 * The audit log's writer, in two steps:
 *
 * 1. commit() makes an event durable in the journal (journal.ts) and resolves then — for a
 *    decision the client is about to hear of, that is before the answer; it rejects when the event
 *    cannot be written (the caller answers 451 and sends nothing). Group commit: what arrives
 *    while one journal write (and its fdatasync) is under way goes together in the next, at once.
 *    A `lazy` commit does not start a write of its own: it waits for the next one somebody needs
 *    (urge(), or a commit that is not lazy) or `LAZY_MS` — a message starts its event's commit
 *    as its copy starts for the next hop and urges it only before the end of DATA, so the events
 *    of the messages in between share that one write instead of one fdatasync each.
 * 2. The journaled events go into the keyed chain (on the audit thread) every `APPLY_MS` in one
 *    transaction, and the journal is emptied once the chain holds all of it.
 *
 * record() is commit() for what nobody waits for (a login, a policy reload): a failure is logged.
 * A malformed event is refused before it reaches the journal. stop() writes and applies all.
 */
export class AuditWriter {
  private queue: Queued[] = [];
  private sending: Promise<void> | undefined;
  private scheduled: NodeJS.Immediate | undefined;
  private lazyTimer: NodeJS.Timeout | undefined;
  /** Somebody waits for what is queued: write it as soon as the journal is free. */
  private urgent = false;
  private pending: JournalEntry[] = [];
  /** Entries on their way into the chain right now. */
  private applyingNow: JournalEntry[] = [];
  private applyTimer: NodeJS.Timeout | undefined;
  private applying: Promise<void> = Promise.resolve();

  constructor(
    private readonly journal: AuditJournal,
    private readonly chain: JournalApplier,
    private readonly logger: Logger,
  ) {}

  record(event: NewAuditEvent): void {
    this.commit(event).catch(() => undefined);
  }

  /** Resolves once the event is durable; rejects if it cannot be written. `lazy`: see the class comment. */
  commit(event: NewAuditEvent, options: { lazy?: boolean } = {}): Promise<void> {
    let body: NewAuditEvent;
    try {
      body = normalizeEvent(event);
    } catch (err) {
      this.logger.error({ err: (err as Error).message, type: event.type, messageId: event.messageId }, 'cannot write an audit event');
      return Promise.reject(err as Error);
    }
    const done = new Promise<void>((resolve, reject) => this.queue.push({ event: body, waiter: { resolve, reject } }));
    if (options.lazy) this.later();
    else this.urge();
    return done;
  }

  /** Writes what is queued without waiting any longer (at the end of this turn of the event loop: the other sessions of the turn join). */
  urge(): void {
    this.urgent = true;
    if (!this.sending && !this.scheduled && this.queue.length > 0) {
      this.scheduled = setImmediate(() => {
        this.scheduled = undefined;
        void this.send();
      });
    }
  }

  /** What is queued is written after `LAZY_MS` unless something urges it sooner. */
  private later(): void {
    this.lazyTimer ??= setTimeout(() => this.urge(), LAZY_MS);
  }

  /** One journal write for everything queued; the next starts as this one ends. */
  private send(): Promise<void> {
    if (this.sending || this.queue.length === 0) return this.sending ?? Promise.resolve();
    const batch = this.queue;
    this.queue = [];
    this.urgent = false;
    clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
    this.sending = this.journal.append(batch.map((q) => q.event)).then(
      (entries) => {
        for (const q of batch) q.waiter.resolve();
        this.pending.push(...entries);
        if (this.pending.length >= APPLY_BATCH) void this.apply();
        else if (!this.applyTimer) {
          this.applyTimer = setTimeout(() => void this.apply(), APPLY_MS);
          this.applyTimer.unref();
        }
      },
      (err: Error) => {
        this.logger.error({ err: err.message, events: batch.length }, 'cannot write an audit event');
        for (const q of batch) q.waiter.reject(err);
      },
    );
    return this.sending.finally(() => {
      this.sending = undefined;
      if (this.queue.length === 0) return;
      if (this.urgent) void this.send();
      else this.later();
    });
  }

  /** Hands what the journal holds to the chain; on failure it stays pending (and in the journal) for the next try. */
  private apply(): Promise<void> {
    clearTimeout(this.applyTimer);
    this.applyTimer = undefined;
    const entries = this.pending;
    this.pending = [];
    if (entries.length === 0) return this.applying;
    this.applying = this.applying.then(async () => {
      this.applyingNow = entries;
      try {
        await this.chain.applyJournaled(entries);
        await this.journal.truncateIfHeld(entries.at(-1)!.j);
      } catch (err) {
        this.logger.error({ err: (err as Error).message, events: entries.length }, 'cannot put journaled audit events into the chain yet; they stay in the journal');
        this.pending.unshift(...entries);
        if (!this.applyTimer) {
          this.applyTimer = setTimeout(() => void this.apply(), APPLY_MS);
          this.applyTimer.unref();
        }
      } finally {
        this.applyingNow = [];
      }
    });
    return this.applying;
  }

  /**
   * What is durable in the journal and maybe not in the chain yet, oldest first: an event stored
   * straight into the chain (a notice marked sent) puts these in before itself, so the chain
   * keeps the order things happened in (held, released, then the copy sent).
   */
  journaled(): JournalEntry[] {
    return [...this.applyingNow, ...this.pending];
  }

  /** Writes what is queued and puts everything journaled into the chain. */
  async flush(): Promise<void> {
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    this.urgent = true;
    while (this.sending || this.queue.length > 0) await this.send();
    await this.apply();
  }

  async stop(): Promise<void> {
    await this.flush();
    clearTimeout(this.applyTimer);
    this.applyTimer = undefined;
    await this.journal.close();
  }
}
