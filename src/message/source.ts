/**
 * The bytes of one message, wherever they are kept. The message model reads through this by byte
 * offsets only, so the same model works over a message in memory, one spooled to disk and one
 * sealed in the store.
 */
export interface ByteSource {
  readonly length: number;
  /**
   * Bytes [start, end). From memory this is a view (no copy): callers must not change it.
   * Out-of-range ends are clamped.
   */
  read(start: number, end: number): Buffer;
}

/** A message held in memory. */
export class BufferSource implements ByteSource {
  constructor(readonly buffer: Buffer) {}

  get length(): number {
    return this.buffer.length;
  }

  read(start: number, end: number): Buffer {
    return this.buffer.subarray(start, end);
  }
}

/** Several sources read as one (a header line in front of a spooled message). */
export class ConcatSource implements ByteSource {
  readonly length: number;
  private readonly starts: number[] = [];

  constructor(private readonly parts: ByteSource[]) {
    let at = 0;
    for (const p of parts) {
      this.starts.push(at);
      at += p.length;
    }
    this.length = at;
  }

  read(start: number, end: number): Buffer {
    const out: Buffer[] = [];
    this.parts.forEach((p, i) => {
      const base = this.starts[i]!;
      const from = Math.max(start, base);
      const to = Math.min(end, base + p.length);
      if (to > from) out.push(p.read(from - base, to - base));
    });
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }
}

/** Bytes made as they are read — a copy with a ZIP in it — read once, into the store or the next hop. */
export interface ByteStream {
  stream(): AsyncIterable<Buffer>;
}

/** Message bytes as the stages hand them on: in memory, readable by offsets, or made on the way. */
export type Bytes = Buffer | ByteSource | ByteStream;

/** Pieces read from a source at a time: large enough to be cheap, small enough to stream. */
export const READ_BYTES = 256 * 1024;

/** A source for what callers hand in: a buffer is read in place. */
export function toSource(input: Buffer | ByteSource): ByteSource {
  return Buffer.isBuffer(input) ? new BufferSource(input) : input;
}

/** [start, end) of a source in pieces of at most `size` bytes, front to back. */
export function* rangeChunks(source: ByteSource, start = 0, end = source.length, size = READ_BYTES): Generator<Buffer> {
  for (let at = start; at < end; at += size) yield source.read(at, Math.min(end, at + size));
}

/** Any Bytes, front to back, in pieces. */
export async function* chunksOf(bytes: Bytes): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(bytes)) yield bytes;
  else if ('read' in bytes) yield* rangeChunks(bytes);
  else yield* bytes.stream();
}

/** All of some Bytes in one buffer: for small messages and tests, never on the large-message path. */
export async function bytesToBuffer(bytes: Bytes): Promise<Buffer> {
  if (Buffer.isBuffer(bytes)) return bytes;
  if ('read' in bytes) return Buffer.from(bytes.read(0, bytes.length));
  const parts: Buffer[] = [];
  for await (const c of bytes.stream()) parts.push(c);
  return Buffer.concat(parts);
}

/** Whether `text` occurs anywhere in the source (read in pieces that overlap by its length). */
export function sourceIncludes(source: ByteSource, text: string): boolean {
  const overlap = text.length - 1;
  for (let at = 0; at < source.length; at += READ_BYTES) {
    if (source.read(Math.max(0, at - overlap), at + READ_BYTES).includes(text, 0, 'latin1')) return true;
  }
  return false;
}
