import { crc32, deflateSync } from 'node:zlib';

/** One PNG chunk: length, type, data, CRC. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A real 1×1 grey PNG. */
export function tinyPng(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (grey)
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(Buffer.from([0, 0x80]))), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A uuencoded block (`begin 644 name` … `end`) for `data`, as lines (uuencode(1)'s format). */
export function uuencodeLines(name: string, data: Buffer): string[] {
  const lines = [`begin 644 ${name}`];
  const ch = (v: number): string => String.fromCharCode(v === 0 ? 0x60 : 0x20 + v);
  for (let i = 0; i < data.length; i += 45) {
    const chunk = data.subarray(i, i + 45);
    let line = String.fromCharCode(0x20 + chunk.length);
    for (let j = 0; j < chunk.length; j += 3) {
      const [a, b, c] = [chunk[j]!, chunk[j + 1] ?? 0, chunk[j + 2] ?? 0];
      line += ch(a >> 2) + ch(((a & 3) << 4) | (b >> 4)) + ch(((b & 15) << 2) | (c >> 6)) + ch(c & 63);
    }
    lines.push(line);
  }
  lines.push('`', 'end');
  return lines;
}
