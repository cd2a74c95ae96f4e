import { Worker } from 'node:worker_threads';
import { siblingModule, workerEntry } from '../util/worker-entry.js';
import type { AuditStore } from './audit-store.js';
import type { JournalApplier, JournalEntry } from './journal.js';
import type { AuditEvent, NewAuditEvent } from './events.js';

export type ToAuditThread =
  | { type: 'append'; seq: number; event: NewAuditEvent }
  | { type: 'append-many'; seq: number; events: NewAuditEvent[] }
  /** Journal entries as one JSON text (a string crosses to the thread far cheaper than objects), nothing sent back. */
  | { type: 'apply'; seq: number; json: string }
  | { type: 'close' };

export type FromAuditThread = { seq: number; ok: true; events: AuditEvent[] } | { seq: number; ok: false; error: string } | { seq: -1; warning: string };

/** What the thread opens: the chain, keyed and anchored like every other opener (open.ts). */
export interface AuditThreadData {
  dataDir: string;
  key: Uint8Array;
  anchorFile: string;
}

type Appender = Pick<AuditStore, 'append' | 'appendMany' | 'close'> & JournalApplier;

/**
 * Appends to the audit log on a worker thread (append-thread.ts). Normalising, hashing and the
 * SQLite insert of every event stay off the thread that speaks SMTP; the AuditWriter in front of
 * this sends one batch every 200 ms. A thread that dies fails what it was doing (the writer logs
 * it) and the next append starts a new one.
 */
export class ThreadAppender implements Appender {
  private worker: Promise<Worker> | undefined;
  private seq = 0;
  private readonly pending = new Map<number, { resolve(events: AuditEvent[]): void; reject(err: Error): void }>();

  constructor(
    private readonly data: AuditThreadData,
    /** A problem that failed nothing (an anchor that could not be written). */
    private readonly onWarning: (message: string) => void = () => undefined,
  ) {}

  /** Starts the thread now, so a data dir it cannot open stops start-up instead of the first batch. */
  async start(): Promise<this> {
    await this.thread();
    return this;
  }

  async append(event: NewAuditEvent): Promise<AuditEvent> {
    const [stored] = await this.request((seq) => ({ type: 'append', seq, event }));
    return stored!;
  }

  appendMany(events: NewAuditEvent[]): Promise<AuditEvent[]> {
    return this.request((seq) => ({ type: 'append-many', seq, events }));
  }

  /** Puts journal entries into the chain (the AuditWriter's way: nothing comes back). */
  async applyJournaled(entries: JournalEntry[]): Promise<void> {
    await this.request((seq) => ({ type: 'apply', seq, json: JSON.stringify(entries) }));
  }

  async close(): Promise<void> {
    const running = this.worker;
    this.worker = undefined;
    if (!running) return;
    const worker = await running.catch(() => undefined);
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToAuditThread);
    await exited;
  }

  private async request(make: (seq: number) => ToAuditThread): Promise<AuditEvent[]> {
    const worker = await this.thread();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      worker.postMessage(make(seq));
    });
  }

  private thread(): Promise<Worker> {
    if (this.worker) return this.worker;
    const starting: Promise<Worker> = new Promise((resolve, reject) => {
      const { entry, eval: isCode } = workerEntry(siblingModule(import.meta.url, 'append-thread'));
      const worker = new Worker(entry, { eval: isCode, workerData: this.data });
      let ready = false;
      worker.on('message', (m: FromAuditThread) => {
        if ('warning' in m) return this.onWarning(m.warning);
        if (m.seq === 0) {
          ready = true;
          return resolve(worker);
        }
        const waiting = this.pending.get(m.seq);
        this.pending.delete(m.seq);
        if (m.ok) waiting?.resolve(m.events);
        else waiting?.reject(new Error(m.error));
      });
      worker.once('error', (err) => {
        if (ready) return;
        if (this.worker === starting) this.worker = undefined;
        reject(err);
      });
      worker.once('exit', (code) => {
        if (!ready) reject(new Error(`the audit thread stopped before it was ready (${code})`));
        for (const [seq, waiting] of this.pending) {
          this.pending.delete(seq);
          waiting.reject(new Error(`the audit thread stopped (${code})`));
        }
        // a later append starts a new thread (also after one that could not start), unless this one was closed on purpose
        if (this.worker === starting) this.worker = undefined;
      });
    });
    this.worker = starting;
    return starting;
  }
}
