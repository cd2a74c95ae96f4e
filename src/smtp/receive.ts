import type { SMTPServerDataStream } from 'smtp-server';
import { BufferSource, type ByteSource } from '../message/source.js';
import type { Spool, SpoolWriter } from '../store/spool.js';

/**
 * The bytes of all messages being received and handled at once, against smtp.inFlightBytes: past
 * it, new mail is answered 452 (the client retries later) instead of the process running out of
 * memory or disk.
 */
export class InFlightBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  get bytes(): number {
    return this.used;
  }

  /** Takes `n` more bytes if they fit; false (nothing taken) when they do not. */
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

/** A received message, or why it was not kept. */
export type Received =
  | { kind: 'message'; source: ByteSource; done(): void }
  | { kind: 'too-big'; size: number }
  | { kind: 'over-budget'; size: number };

/**
 * Reads one DATA stream: in memory up to `threshold` bytes, then into a sealed spool file. Every
 * byte counts against the budget until done() is called; once the size limit or the budget is
 * passed nothing more is kept (smtp-server keeps emitting data until the end of DATA).
 */
export function receiveData(stream: SMTPServerDataStream, options: { threshold: number; budget: InFlightBudget; spool: Spool }): Promise<Received> {
  const { threshold, budget, spool } = options;
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let bytes = 0;
    let writer: SpoolWriter | undefined;
    let refused: 'too-big' | 'over-budget' | undefined;
    const drop = () => {
      chunks = [];
      writer?.discard();
      writer = undefined;
      budget.give(bytes);
      bytes = 0;
    };
    let failed: unknown;
    // a spool that cannot be written (disk full): nothing more is kept, the answer waits for the end of DATA
    const fail = (err: unknown) => {
      if (!refused) drop();
      refused = 'over-budget';
      failed = err;
    };
    stream.on('data', (chunk: Buffer) => {
      if (refused) return;
      if (stream.sizeExceeded) {
        refused = 'too-big';
        return drop();
      }
      if (!budget.take(chunk.length)) {
        refused = 'over-budget';
        return drop();
      }
      bytes += chunk.length;
      try {
        if (writer) writer.write(chunk);
        else if (bytes > threshold) {
          writer = spool.create();
          for (const c of chunks) writer.write(c);
          writer.write(chunk);
          chunks = [];
        } else chunks.push(chunk);
      } catch (err) {
        fail(err);
      }
    });
    stream.once('end', () => {
      if (failed !== undefined) return reject(failed);
      if (stream.sizeExceeded || refused) {
        if (!refused) drop();
        return resolve({ kind: stream.sizeExceeded ? 'too-big' : 'over-budget', size: stream.byteLength });
      }
      try {
        const spooled = writer?.finish();
        const source = spooled ?? new BufferSource(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
        chunks = [];
        let released = false;
        resolve({
          kind: 'message',
          source,
          done: () => {
            if (released) return;
            released = true;
            spooled?.remove();
            budget.give(bytes);
          },
        });
      } catch (err) {
        drop();
        reject(err);
      }
    });
    stream.once('error', (err) => {
      fail(err);
      reject(err);
    });
  });
}
