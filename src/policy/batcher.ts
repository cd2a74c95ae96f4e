/**
 * Messages cross between the threads in batches: everything queued in one turn of the event
 * loop goes as one postMessage, which under load costs far less than one per message.
 */
export class Batcher<T> {
  private queue: T[] = [];

  constructor(private readonly post: (batch: T[]) => void) {}

  send(item: T): void {
    if (this.queue.push(item) === 1) setImmediate(() => this.flush());
  }

  flush(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.post(batch);
  }
}
