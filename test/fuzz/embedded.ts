/**
 * Files carried inside a text or HTML body rather than as MIME parts: uuencode, yEnc and
 * BinHex 4.0 blocks in text (Thunderbird and other clients show them as attachments) and
 * `data:…;base64,` URIs in HTML. Used on both sides: what the original carried this way counts as
 * an attachment, and every body of an outside copy is decoded the same way before the slice check.
 */
import { BINHEX_ALPHABET } from './files.js';

export interface EmbeddedFile {
  kind: 'uuencode' | 'yenc' | 'binhex' | 'data-uri';
  name?: string;
  contentType?: string;
  content: Buffer;
}

function uudecode(lines: string[]): Buffer {
  const out: number[] = [];
  for (const line of lines) {
    if (line.length === 0) continue;
    const n = (line.charCodeAt(0) - 32) & 63;
    const v = (i: number) => ((line.charCodeAt(i) || 32) - 32) & 63;
    const got: number[] = [];
    for (let i = 1; got.length < n && i < line.length; i += 4) {
      const [a, b, c, d] = [v(i), v(i + 1), v(i + 2), v(i + 3)];
      got.push((a << 2) | (b >> 4), ((b & 15) << 4) | (c >> 2), ((c & 3) << 6) | d);
    }
    out.push(...got.slice(0, n));
  }
  return Buffer.from(out);
}

function ydecode(body: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b === 13 || b === 10) continue;
    if (b === 0x3d && i + 1 < body.length) out.push((body[++i]! - 64 - 42) & 0xff);
    else out.push((b - 42) & 0xff);
  }
  return Buffer.from(out);
}

/** BinHex 4.0: 6-bit characters, then run-length expansion; the data fork when the header parses. */
function binhexDecode(text: string): Buffer {
  const raw: number[] = [];
  let acc = 0;
  let nbits = 0;
  for (const ch of text) {
    const v = BINHEX_ALPHABET.indexOf(ch);
    if (v < 0) continue;
    acc = (acc << 6) | v;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      raw.push((acc >> nbits) & 0xff);
      acc &= (1 << nbits) - 1;
    }
  }
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x90 && i + 1 < raw.length) {
      const count = raw[++i]!;
      if (count === 0) out.push(0x90);
      else for (let k = 1; k < count && out.length > 0; k++) out.push(out[out.length - 1]!);
    } else out.push(raw[i]!);
  }
  const b = Buffer.from(out);
  const n = b[0] ?? 0;
  const dataAt = 1 + n + 1 + 4 + 4 + 2 + 4 + 4 + 2;
  if (b.length >= dataAt) {
    const len = b.readUInt32BE(1 + n + 1 + 10);
    if (dataAt + len <= b.length) return b.subarray(dataAt, dataAt + len);
  }
  return b;
}

/** Every embedded file in one body (bytes as the body's transfer encoding left them). */
export function extractEmbedded(body: Buffer): EmbeddedFile[] {
  const text = body.toString('latin1');
  const found: EmbeddedFile[] = [];
  // uuencode: begin MODE NAME … end
  for (const m of text.matchAll(/^begin(?:-base64)? [0-7]{3,4} ([^\r\n]*)\r?\n([\s\S]*?)^end[ \t]*$/gm)) {
    found.push({ kind: 'uuencode', name: m[1]!.trim(), content: uudecode(m[2]!.split(/\r?\n/)) });
  }
  // yEnc: =ybegin … =yend (the body is 8-bit: work on the bytes)
  for (const m of text.matchAll(/^=ybegin [^\r\n]*name=([^\r\n]*)\r?\n(?:=ypart [^\r\n]*\r?\n)?([\s\S]*?)\r?\n=yend/dgm)) {
    const [start, end] = m.indices![2]!;
    found.push({ kind: 'yenc', name: m[1]!.trim(), content: ydecode(body.subarray(start, end)) });
  }
  // BinHex 4.0: the marker line, then ':' … ':'
  for (const m of text.matchAll(/\(This file must be converted with BinHex[^)]*\)\s*:([^:]*):/g)) {
    found.push({ kind: 'binhex', content: binhexDecode(m[1]!) });
  }
  // data: URIs with base64 content (HTML attributes, CSS url(), or bare)
  for (const m of text.matchAll(/data:([a-z0-9.+-]+\/[a-z0-9.+-]+)?((?:;[a-z0-9-]+=[^;,"'\s]*)*);base64,([A-Za-z0-9+/=\s]+)/gi)) {
    found.push({ kind: 'data-uri', contentType: (m[1] ?? 'text/plain').toLowerCase(), content: Buffer.from(m[3]!.replace(/\s+/g, ''), 'base64') });
  }
  return found;
}
