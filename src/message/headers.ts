import { BufferSource, type ByteSource, type ByteStream, ConcatSource, READ_BYTES } from './source.js';

/** Header names the gateway adds; other tools rely on them (DESIGN.md). */
export const ID_HEADER = 'X-Outguard-Id';

/**
 * Puts one header line in front of the raw message without touching a byte of the rest.
 * The new line ends the way the message's own first line ends, so a bare-LF message stays bare-LF.
 * A message in memory gives a buffer; one read by offsets a source over it; a stream a stream.
 */
export function prependHeader(raw: Buffer, name: string, value: string): Buffer;
export function prependHeader(raw: ByteSource, name: string, value: string): ByteSource;
export function prependHeader(raw: ByteStream, name: string, value: string): ByteStream;
export function prependHeader(raw: Buffer | ByteSource | ByteStream, name: string, value: string): Buffer | ByteSource | ByteStream {
  if (/[\r\n]/.test(value)) throw new Error(`header value for ${name} contains a line break`);
  const line = (start: Buffer) => Buffer.from(`${name}: ${value}${lineEnd(start)}`, 'latin1');
  if (Buffer.isBuffer(raw)) return Buffer.concat([line(raw), raw]);
  if ('read' in raw) return new ConcatSource([new BufferSource(line(raw.read(0, READ_BYTES))), raw]);
  return {
    async *stream() {
      // the first pieces are held back until the first line's end shows how lines end
      const held: Buffer[] = [];
      let passing = false;
      for await (const piece of raw.stream()) {
        if (passing) {
          yield piece;
          continue;
        }
        held.push(piece);
        const start = Buffer.concat(held);
        if (start.includes(0x0a) || start.length >= READ_BYTES) {
          passing = true;
          yield line(start);
          yield start;
        }
      }
      if (!passing) {
        const start = Buffer.concat(held);
        yield line(start);
        yield start;
      }
    },
  };
}

function lineEnd(start: Buffer): string {
  const firstLf = start.indexOf(0x0a);
  return firstLf > 0 && start[firstLf - 1] === 0x0d ? '\r\n' : firstLf >= 0 ? '\n' : '\r\n';
}
