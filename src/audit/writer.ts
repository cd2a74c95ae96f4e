import type { Logger } from '../log.js';
import type { AuditStore } from './audit-store.js';
import type { NewAuditEvent } from './events.js';

/**
 * Records audit events from the hot path without waiting on the disk for each: events queue in
 * memory and go to the store in one transaction every `intervalMs` (or at `maxBatch`), so a
 * burst of mail costs one write. stop() writes what is queued. A crash can lose at most the last
 * interval's events — never a message: the mail decision does not wait on its audit event.
 */
export class AuditWriter {
  private queue: NewAuditEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<AuditStore, 'append' | 'appendMany'>,
    private readonly logger: Logger,
    private readonly intervalMs = 200,
    private readonly maxBatch = 500,
  ) {}

  record(event: NewAuditEvent): void {
    this.queue.push({ ...event, time: event.time ?? new Date() });
    if (this.queue.length >= this.maxBatch) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Writes everything queued so far; resolves when it is on disk. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return this.writing;
    this.writing = this.writing.then(async () => {
      try {
        await this.store.appendMany(batch);
      } catch {
        // one malformed event must not cost the others: write them one by one
        for (const event of batch) {
          await this.store.append(event).catch((err: Error) => this.logger.error({ err: err.message, type: event.type, messageId: event.messageId }, 'cannot write an audit event'));
        }
      }
    });
    return this.writing;
  }

  async stop(): Promise<void> {
    await this.flush();
  }
}
