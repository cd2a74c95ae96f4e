import type { ByteSource } from '../message/source.js';
import { SEALED_OVERHEAD, SealedDataError, open, seal } from './sealed.js';

/**
 * Large data at rest, sealed in chunks: a message is never one blob that must be held in memory
 * whole to be opened. Each chunk of CHUNK_BYTES plaintext (the last one shorter) is sealed on its
 * own (sealed.ts, AES-256-GCM) with the record it belongs to, its place and whether it is the last
 * one in its authenticated data. So a chunk moved to another place, copied from another record,
 * altered, or a record cut short (its new last chunk was not sealed as the last) fails to open,
 * and a reader never hands out bytes it has not authenticated.
 */
export const CHUNK_BYTES = 256 * 1024;
/** Bytes one sealed chunk takes: its plaintext and sealed.ts's overhead. */
export const SEALED_CHUNK_BYTES = CHUNK_BYTES + SEALED_OVERHEAD;

const aadOf = (aad: string, seq: number, last: boolean) => `${aad}#${seq}${last ? '$' : ''}`;

export function sealChunk(key: Buffer, plain: Buffer, aad: string, seq: number, last: boolean): Buffer {
  return seal(key, plain, aadOf(aad, seq, last));
}

export function openChunk(key: Buffer, sealed: Buffer, aad: string, seq: number, last: boolean): Buffer {
  return open(key, sealed, aadOf(aad, seq, last));
}

/** How many chunks hold `length` bytes: an empty record is one empty last chunk. */
export function chunkCount(length: number): number {
  return Math.max(1, Math.ceil(length / CHUNK_BYTES));
}

/**
 * Cuts a byte stream into chunks of CHUNK_BYTES and seals each as it fills; the last is known only
 * at the end. `put` stores one sealed chunk (a file append, a row insert).
 */
export class ChunkSealer {
  // one chunk's plaintext, filled in place: large mail passes through without a copy per piece
  private readonly pending = Buffer.allocUnsafe(CHUNK_BYTES);
  private filled = 0;
  private seq = 0;
  private total = 0;

  constructor(
    private readonly key: Buffer,
    private readonly aad: string,
    private readonly put: (sealed: Buffer, seq: number) => void,
  ) {}

  get length(): number {
    return this.total + this.filled;
  }

  write(data: Buffer): void {
    for (let at = 0; at < data.length; ) {
      // a full chunk is sealed only once more data comes: the last one must be sealed as the last
      if (this.filled === CHUNK_BYTES) this.flush(false);
      const n = data.copy(this.pending, this.filled, at, at + CHUNK_BYTES - this.filled);
      this.filled += n;
      at += n;
    }
  }

  /** Seals what is left as the last chunk; returns the record's length. */
  end(): number {
    this.flush(true);
    this.pending.fill(0);
    return this.total;
  }

  private flush(last: boolean): void {
    this.put(sealChunk(this.key, this.pending.subarray(0, this.filled), this.aad, this.seq, last), this.seq);
    this.seq++;
    this.total += this.filled;
    this.filled = 0;
  }
}

/**
 * A sealed record read by byte offsets: only the chunks a read covers are fetched and opened (the
 * last two are kept, for the front-to-back reads of parsing and sending). `fetch` returns a sealed
 * chunk, or null when it is missing; either way a bad chunk throws SealedDataError.
 */
export class SealedChunkSource implements ByteSource {
  private readonly count: number;
  private readonly cache: { seq: number; plain: Buffer }[] = [];

  constructor(
    readonly length: number,
    readonly key: Buffer,
    private readonly aad: string,
    private readonly fetch: (seq: number) => Buffer | null,
  ) {
    this.count = chunkCount(length);
  }

  read(start: number, end: number): Buffer {
    const from = Math.max(0, Math.min(start, this.length));
    const to = Math.max(from, Math.min(end, this.length));
    if (to === from) return Buffer.alloc(0);
    const first = Math.floor(from / CHUNK_BYTES);
    const lastSeq = Math.floor((to - 1) / CHUNK_BYTES);
    const parts: Buffer[] = [];
    for (let seq = first; seq <= lastSeq; seq++) {
      const plain = this.chunk(seq);
      const base = seq * CHUNK_BYTES;
      parts.push(plain.subarray(Math.max(0, from - base), Math.min(plain.length, to - base)));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Opens every chunk once, so that a damaged record fails before any of it is used; returns this. */
  verify(): this {
    for (let seq = 0; seq < this.count; seq++) this.chunk(seq);
    return this;
  }

  private chunk(seq: number): Buffer {
    const cached = this.cache.find((c) => c.seq === seq);
    if (cached) return cached.plain;
    const sealed = this.fetch(seq);
    if (!sealed) throw new SealedDataError(`${this.aad}: sealed chunk ${seq + 1} of ${this.count} is missing`);
    const last = seq === this.count - 1;
    const plain = openChunk(this.key, sealed, this.aad, seq, last);
    const expected = last ? this.length - seq * CHUNK_BYTES : CHUNK_BYTES;
    if (plain.length !== expected) throw new SealedDataError(`${this.aad}: sealed chunk ${seq + 1} of ${this.count} holds ${plain.length} bytes, ${expected} expected`);
    this.cache.push({ seq, plain });
    if (this.cache.length > 2) this.cache.shift();
    return plain;
  }
}
