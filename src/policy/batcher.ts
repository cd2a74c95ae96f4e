/**
 * Messages cross between the threads in batches: everything queued in one turn of the event
 * loop goes as one postMessage, which under load costs far less than one per message (each post
 * wakes the other thread, and on a busy two-core machine a wake-up costs more than the copy).
 */
export class Batcher<T> {
  private queue: T[] = [];
  private scheduled = false;
  private lazyTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly post: (batch: T[]) => void,
    /** How long an item sent with `later` may wait for company before it goes alone. */
    private readonly laterMs = 100,
  ) {}

  /** Queues an item and posts the batch at the end of this turn of the event loop. */
  send(item: T): void {
    this.queue.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Queues an item that is not waited for: it rides along with the next `send` (under load, at
   * once) or goes after `laterMs` when the thread is idle, without a wake-up of its own.
   */
  later(item: T): void {
    this.queue.push(item);
    if (!this.scheduled && !this.lazyTimer) {
      this.lazyTimer = setTimeout(() => this.flush(), this.laterMs);
      this.lazyTimer.unref();
    }
  }

  flush(): void {
    this.scheduled = false;
    clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.post(batch);
  }
}
