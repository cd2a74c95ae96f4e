import { BASE64_CLASS, BASE64_DATA, BASE64_PAD, hexValue } from '../util/bytes.js';
import { findEncodedBlocks } from './embedded.js';
import { type ByteSource, rangeChunks } from './source.js';

const NOT_BASE64 = /[^A-Za-z0-9+/=]/g;

/** A body with its Content-Transfer-Encoding undone (unknown encodings: the bytes as they are). */
export function decodeTransfer(body: Buffer, encoding: string): Buffer {
  switch (encoding) {
    case 'base64': {
      // Node's decoder skips whatever is outside the alphabet, except that it reads - and _ as
      // base64url digits: only then must they be removed first (they are not base64, RFC 2045)
      const text = body.toString('latin1');
      return Buffer.from(body.includes(0x2d) || body.includes(0x5f) ? text.replace(NOT_BASE64, '') : text, 'base64');
    }
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    case 'x-uuencode':
    case 'uuencode':
    case 'x-uue':
      // what Outlook writes for uuencoded parts: the body is one uuencode block
      return findEncodedBlocks(body).find((b) => b.kind === 'uuencode')?.content ?? body;
    default:
      return body;
  }
}

/**
 * A part's body [start, end) decoded piece by piece, as decodeTransfer would decode it whole: for
 * files, which are hashed and zipped as streams and never held whole.
 */
export function* decodeTransferChunks(source: ByteSource, start: number, end: number, encoding: string): Generator<Buffer> {
  if (encoding === 'base64') yield* base64Chunks(rangeChunks(source, start, end));
  else if (encoding === 'quoted-printable') {
    // decoded a line group at a time: a group ends after a line break, where decoding restarts cleanly
    let carry = Buffer.alloc(0);
    for (const piece of rangeChunks(source, start, end)) {
      const data = carry.length > 0 ? Buffer.concat([carry, piece]) : piece;
      const cut = data.lastIndexOf(0x0a) + 1;
      if (cut > 0) yield decodeQuotedPrintable(data.subarray(0, cut));
      carry = Buffer.from(data.subarray(cut));
    }
    yield decodeQuotedPrintable(carry);
  } else if (encoding === 'x-uuencode' || encoding === 'uuencode' || encoding === 'x-uue') yield decodeTransfer(source.read(start, end), encoding);
  else yield* rangeChunks(source, start, end);
}

/**
 * A run of a base64 body: `bytes` as they are and, when the run is complete lines of nothing but
 * base64 data and line breaks, `decoded` by Node's decoder and its count of `data` characters.
 */
interface Base64Run {
  bytes: Buffer;
  plain?: { decoded: Buffer; data: number };
}

/** A line longer than this is read byte by byte rather than waited for (a body that is one long line). */
const MAX_LINE = 1 << 20;

/**
 * A base64 body (megabytes, for files) in runs of whole lines, so that the common case — lines
 * of data and line breaks only — is decoded and counted by Node's native decoder, and only the
 * rest is read byte by byte.
 */
function* base64Runs(pieces: Iterable<Buffer>): Generator<Base64Run> {
  let carry: Buffer | undefined;
  for (const piece of pieces) {
    const buf = carry ? Buffer.concat([carry, piece]) : piece;
    let cut = buf.lastIndexOf(0x0a) + 1;
    if (cut === 0 && buf.length > MAX_LINE) cut = buf.length;
    carry = Buffer.from(buf.subarray(cut));
    if (cut > 0) yield { bytes: buf.subarray(0, cut), plain: plainLines(buf.subarray(0, cut)) };
  }
  if (carry && carry.length > 0) yield { bytes: carry, plain: plainLines(carry) };
}

/**
 * Lines holding nothing but base64 data characters and CR/LF, a whole number of groups of four:
 * decoded. Node's decoder skips any other byte, so one there shows as output missing against the
 * count of data characters (bytes less line breaks): then undefined. `=`, `-` and `_` (read
 * differently by decoders) are left to the byte-by-byte reading too.
 */
function plainLines(lines: Buffer): Base64Run['plain'] {
  if (lines.includes(0x3d) || lines.includes(0x2d) || lines.includes(0x5f)) return undefined;
  const data = lines.length - occurrences(lines, 0x0a) - occurrences(lines, 0x0d);
  if (data % 4 !== 0) return undefined;
  const decoded = Buffer.from(lines.toString('latin1'), 'base64');
  return decoded.length === (data / 4) * 3 ? { decoded, data } : undefined;
}

function occurrences(buf: Buffer, byte: number): number {
  let n = 0;
  for (let at = buf.indexOf(byte); at >= 0; at = buf.indexOf(byte, at + 1)) n++;
  return n;
}

/**
 * Node's base64 reading (non-alphabet bytes skipped, stop at the first `=`), a piece at a time:
 * plain runs as Node decoded them; otherwise the data characters are gathered (a table lookup
 * per byte), whole groups of four decoded, the rest carried on.
 */
function* base64Chunks(pieces: Iterable<Buffer>): Generator<Buffer> {
  let data = Buffer.allocUnsafe(0);
  let n = 0;
  for (const run of base64Runs(pieces)) {
    if (run.plain && n === 0) {
      yield run.plain.decoded;
      continue;
    }
    const piece = run.bytes;
    if (data.length < n + piece.length) {
      const grown = Buffer.allocUnsafe(n + piece.length);
      data.copy(grown, 0, 0, n);
      data = grown;
    }
    let padded = false;
    for (let i = 0; i < piece.length; i++) {
      const c = piece[i]!;
      const kind = BASE64_CLASS[c];
      if (kind === BASE64_DATA) data[n++] = c;
      else if (kind === BASE64_PAD) {
        padded = true;
        break;
      }
    }
    const whole = padded ? n : n - (n % 4);
    if (whole > 0) yield Buffer.from(data.toString('latin1', 0, whole), 'base64');
    if (padded) return;
    data.copyWithin(0, whole, n);
    n -= whole;
  }
  if (n > 0) yield Buffer.from(data.toString('latin1', 0, n), 'base64');
}

/**
 * Whether decoders would read this base64 differently: data going on after padding (`QUI=QUJD`:
 * Node stops at the first `=`, Python reads on), or a count of data characters that padding does
 * not complete (`QUI`, or text labelled base64: Python then gives the raw bytes, Node what it can
 * decode).
 */
export function base64Disagrees(pieces: Iterable<Buffer>): boolean {
  let data = 0;
  let pads = 0;
  for (const run of base64Runs(pieces)) {
    if (run.plain) {
      if (pads > 0 && run.plain.data > 0) return true;
      data += run.plain.data;
      continue;
    }
    const body = run.bytes;
    for (let i = 0; i < body.length; i++) {
      const kind = BASE64_CLASS[body[i]!];
      if (kind === BASE64_DATA) {
        if (pads > 0) return true;
        data++;
      } else if (kind === BASE64_PAD) pads++;
    }
  }
  const rest = data % 4;
  return !(rest === 0 || (rest === 2 && pads >= 2) || (rest === 3 && pads >= 1));
}

/** Quoted-printable in one pass: soft breaks removed, =XX decoded, a broken escape kept as written. */
function decodeQuotedPrintable(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(body.length);
  let n = 0;
  // white space at the end of a line is transport padding (RFC 2045), unless it was written as
  // =20 or stands before a soft line break: nothing before `floor` is trimmed
  let floor = 0;
  /** Ends a line at n: its padding dropped. The end of the part ends its last line too. */
  const trimPadding = () => {
    const cr = n > floor && out[n - 1] === 0x0d;
    let e = cr ? n - 1 : n;
    while (e > floor && (out[e - 1] === 0x20 || out[e - 1] === 0x09)) e--;
    n = e;
    if (cr) out[n++] = 0x0d;
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === 0x0a) {
      trimPadding();
      out[n++] = 0x0a;
      floor = n;
      continue;
    }
    if (c === 0x3d) {
      const h = hexValue(body[i + 1]);
      const l = hexValue(body[i + 2]);
      if (h >= 0 && l >= 0) {
        out[n++] = (h << 4) | l;
        floor = n;
        i += 2;
        continue;
      }
      // a soft line break: `=`, optional white space, then the line end or the end of the part
      let j = i + 1;
      while (body[j] === 0x20 || body[j] === 0x09) j++;
      const soft = j >= body.length ? j - 1 : body[j] === 0x0d && body[j + 1] === 0x0a ? j + 1 : body[j] === 0x0a ? j : -1;
      if (soft >= 0) {
        floor = n;
        i = soft;
        continue;
      }
    }
    out[n++] = c;
  }
  trimPadding();
  return out.subarray(0, n);
}
