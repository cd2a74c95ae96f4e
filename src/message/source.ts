/**
 * The bytes of one message, wherever they are kept. The message model reads through this by byte
 * offsets only, so the same model works over a message in memory and over one spooled to disk.
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

/** A source for what callers hand in: a buffer is read in place. */
export function toSource(input: Buffer | ByteSource): ByteSource {
  return Buffer.isBuffer(input) ? new BufferSource(input) : input;
}
