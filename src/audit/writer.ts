import type { Logger } from '../log.js';
import type { AuditStore } from './audit-store.js';
import type { NewAuditEvent } from './events.js';

interface Queued {
  event: NewAuditEvent;
  /** Set for commit(): told when the event is on disk, or that it cannot be written. */
  waiter?: { resolve(): void; reject(err: Error): void };
}

/**
 * Writes audit events in batches, one transaction (one fsync) for many:
 *
 * - commit() is for a decision the client is about to hear of: it resolves only once the event is
 *   durable, and rejects when it cannot be written (the caller answers 451 and sends nothing).
 *   Commits are group-committed: while one batch is being written, the next gathers, and goes the
 *   moment the first is done — concurrent messages share one fsync and none waits for a timer.
 * - record() is for what follows from a decision already on record (a policy reload, a login):
 *   it waits up to `intervalMs` for company, or goes with the next commit.
 * stop() writes what is queued.
 */
export class AuditWriter {
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private flushing = false;

  constructor(
    private readonly store: Pick<AuditStore, 'append' | 'appendMany'>,
    private readonly logger: Logger,
    private readonly intervalMs = 200,
    private readonly maxBatch = 500,
  ) {}

  record(event: NewAuditEvent): void {
    this.queue.push({ event: stamped(event) });
    if (this.queue.length >= this.maxBatch) void this.flush();
    else if (!this.timer && !this.flushing) {
      this.timer = setTimeout(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Resolves once the event is durable; rejects if it cannot be written. */
  commit(event: NewAuditEvent): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.queue.push({ event: stamped(event), waiter: { resolve, reject } }));
    if (!this.flushing) void this.flush();
    return done;
  }

  /** Writes everything queued by the time the write before it is done; resolves when it is on disk. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = true;
    this.writing = this.writing.then(() => {
      this.flushing = false;
      return this.write();
    });
    return this.writing;
  }

  async stop(): Promise<void> {
    await this.flush();
  }

  private async write(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    try {
      await this.store.appendMany(batch.map((q) => q.event));
      for (const q of batch) q.waiter?.resolve();
    } catch {
      // one malformed event must not cost the others: write them one by one
      for (const q of batch) {
        try {
          await this.store.append(q.event);
          q.waiter?.resolve();
        } catch (err) {
          this.logger.error({ err: (err as Error).message, type: q.event.type, messageId: q.event.messageId }, 'cannot write an audit event');
          q.waiter?.reject(err as Error);
        }
      }
    }
  }
}

const stamped = (event: NewAuditEvent): NewAuditEvent => ({ ...event, time: event.time ?? new Date() });
