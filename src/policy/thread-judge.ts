import { Worker } from 'node:worker_threads';
import pino from 'pino';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Envelope } from '../message/envelope.js';
import type { Judge, Judgement } from './judge.js';
import { MessageModel, type MessageShape } from '../message/model.js';
import { type ByteSource, toSource } from '../message/source.js';
import { SpoolSource } from '../store/spool.js';
import { Batcher } from './batcher.js';
import { PolicyError } from './policy-file.js';
import { siblingModule, workerEntry } from '../util/worker-entry.js';
import type { ReloadOutcome } from './reloader.js';

export type ToThread =
  | { type: 'evaluate'; seq: number; message: WireMessage; envelope: Envelope }
  | { type: 'delivered'; envelope: Envelope; countSender: boolean }
  | { type: 'reload'; seq: number; reason: string }
  | { type: 'close' };

/** A message as it crosses to the thread: its bytes, or the spool file (and its key) the thread reads it from (no copy). */
export type WireMessage = { bytes: Uint8Array } | { spool: string; key: Uint8Array };

export type FromThread =
  | { type: 'ready'; rules: string[] }
  | { type: 'init-failed'; name: string; error: string }
  | ({ type: 'result'; seq: number; shape: MessageShape } & Omit<Judgement, 'message'>)
  | { type: 'failed'; seq: number; error: string }
  | { type: 'reloaded'; seq: number; ok: boolean; rules: string[] }
  | { type: 'log'; line: string }
  | ({ type: 'reload-outcome' } & ReloadOutcome);

const REQUEST_TIMEOUT_MS = 30000;

interface Pending {
  resolve(value: never): void;
  reject(err: Error): void;
}

/**
 * The judge on a policy thread (a worker). If the thread dies, every message waiting on it gets
 * an error (the gateway answers 451, nothing leaves unchecked) and a new thread is started.
 */
export class ThreadJudge implements Judge {
  private worker!: Worker;
  // posts to whichever thread is current, so requests queued while one died go to its successor
  private readonly outbox = new Batcher<ToThread>((batch) => this.worker.postMessage(batch));
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  /** The bytes of each message being judged, to rebuild its model around when the answer comes. */
  private readonly sources = new Map<number, ByteSource>();
  private ruleIds: string[] = [];
  private closing = false;

  private constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly onReload: (outcome: ReloadOutcome) => void,
  ) {}

  /** Starts the thread; rejects (with a PolicyError for a bad policy) if it cannot load the policy. */
  static async start(config: Config, logger: Logger, onReload: (outcome: ReloadOutcome) => void = () => undefined): Promise<ThreadJudge> {
    const judge = new ThreadJudge(config, logger, onReload);
    await judge.spawn();
    return judge;
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      let ready = false;
      const { entry, eval: isCode } = workerEntry(siblingModule(import.meta.url, 'policy-thread'));
      const worker = new Worker(entry, { eval: isCode, workerData: { config: this.config } });
      this.worker = worker;
      worker.on('message', (batch: FromThread[]) => {
        for (const m of batch) handle(m);
      });
      const handle = (m: FromThread): void => {
        switch (m.type) {
          case 'ready':
            ready = true;
            this.ruleIds = m.rules;
            resolve();
            break;
          case 'init-failed':
            reject(m.name === 'PolicyError' ? new PolicyError(m.error) : new Error(m.error));
            void worker.terminate();
            break;
          case 'log':
            // the thread's lines join the main logger's stream as they are
            (this.logger as unknown as Record<symbol, { write(line: string): void }>)[pino.symbols.streamSym]!.write(m.line);
            break;
          case 'reload-outcome': {
            const { type: _type, ...outcome } = m;
            this.onReload(outcome);
            break;
          }
          case 'reloaded':
            if (m.ok) this.ruleIds = m.rules;
            this.settle(m.seq, m.ok);
            break;
          case 'result':
            this.settleResult(m);
            break;
          case 'failed':
            this.fail(m.seq, new Error(m.error));
            break;
        }
      };
      worker.on('error', (err) => {
        if (!ready) return reject(err);
        this.logger.error({ err: err.message }, 'policy thread failed');
      });
      worker.on('exit', (code) => {
        for (const seq of [...this.pending.keys()]) this.fail(seq, new Error(`policy thread exited (${code})`));
        if (!ready) return reject(new Error(`policy thread exited before it was ready (${code})`));
        if (!this.closing) {
          this.logger.error({ code }, 'policy thread stopped; starting a new one');
          this.spawn().catch((err: Error) => this.logger.error({ err: err.message }, 'cannot restart the policy thread'));
        }
      });
    });
  }

  private request<T>(message: ToThread & { seq: number }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // a backstop: a thread that never answers must not keep a client waiting forever
      const timer = setTimeout(() => this.fail(message.seq, new Error('policy thread did not answer in time')), REQUEST_TIMEOUT_MS);
      timer.unref();
      const done = <A extends unknown[]>(fn: (...a: A) => void) => (...a: A) => {
        clearTimeout(timer);
        fn(...a);
      };
      this.pending.set(message.seq, { resolve: done(resolve as (v: never) => void), reject: done(reject) });
      this.outbox.send(message);
    });
  }

  /** The model crosses as plain data and is rebuilt here over the bytes this thread still holds. */
  private settleResult(m: Extract<FromThread, { type: 'result' }>): void {
    const pending = this.sources.get(m.seq);
    this.sources.delete(m.seq);
    if (!pending) return;
    this.settle(m.seq, { verdict: m.verdict, message: MessageModel.fromShape(pending, m.shape), encryption: m.encryption } satisfies Judgement);
  }

  private settle(seq: number, value: unknown): void {
    this.pending.get(seq)?.resolve(value as never);
    this.pending.delete(seq);
  }

  private fail(seq: number, err: Error): void {
    this.pending.get(seq)?.reject(err);
    this.pending.delete(seq);
  }

  evaluate(input: ByteSource | Buffer, envelope: Envelope): Promise<Judgement> {
    const seq = ++this.seq;
    const source = toSource(input);
    this.sources.set(seq, source);
    const message: WireMessage = source instanceof SpoolSource ? { spool: source.file, key: source.key } : { bytes: source.read(0, source.length) };
    return this.request<Judgement>({ type: 'evaluate', seq, message, envelope }).finally(() => this.sources.delete(seq));
  }

  async delivered(envelope: Envelope, options = { countSender: true }): Promise<void> {
    // nobody waits for it: it travels with the next message to evaluate
    this.outbox.later({ type: 'delivered', envelope, countSender: options.countSender });
  }

  reload(reason: string): Promise<boolean> {
    return this.request({ type: 'reload', seq: ++this.seq, reason });
  }

  rules(): string[] {
    return this.ruleIds;
  }

  async close(): Promise<void> {
    this.closing = true;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.outbox.send({ type: 'close' });
    this.outbox.flush();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.worker.terminate();
  }
}
