/**
 * Files hidden in a body outside MIME: uuencode, BinHex 4.0 and yEnc blocks in a text body, and
 * data: URIs in an HTML body. Mail clients (Thunderbird, Outlook, newsreaders) show such blocks as
 * attachments and browsers open data: links as downloads, so a message carrying one goes whole
 * into the encrypted ZIP.
 *
 * This runs on every body: the scans jump between `indexOf` hits and look only at candidate lines,
 * every pattern is bounded, and every byte is visited a bounded number of times, so the cost is
 * linear in the size and a body without candidates costs one or two memchr-speed scans.
 * Nothing here throws on any input.
 */
import { hexValue, isBase64Char } from '../util/bytes.js';
import { imageKind } from './images.js';

export interface EmbeddedFile {
  kind: 'uuencode' | 'binhex' | 'yenc' | 'data-uri';
  /** The file name the block declares ('' when none: data: URIs); for data: URIs, the media type is in `type`. */
  name: string;
  /** Media type for data: URIs (lower-case), 'application/octet-stream' otherwise. */
  type: string;
  /** Byte offsets of the whole block in the scanned buffer: [start, end). */
  start: number;
  end: number;
  /** The decoded file bytes (best effort; for BinHex the data fork). */
  content: Buffer;
}

/** At most this many results per body: past that the caller zips the message whole anyway. */
export const MAX_EMBEDDED = 10_000;

const OCTET_STREAM = 'application/octet-stream';
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;

// ---------------------------------------------------------------------------------------------
// Small helpers

/** A line: content [start, end) without its CR/LF, and where the next line starts. */
interface Line {
  start: number;
  end: number;
  next: number;
}

/** The line starting at `start`. LF, CRLF and a lone CR all end a line (old Mac BinHex uses CR). */
function lineAt(buf: Buffer, start: number): Line {
  let end = start;
  while (end < buf.length && buf[end] !== LF && buf[end] !== CR) end++;
  let next = end;
  if (buf[next] === CR) next++;
  if (buf[next] === LF) next++;
  return { start, end, next };
}

function isLineStart(buf: Buffer, pos: number): boolean {
  return pos === 0 || buf[pos - 1] === LF || buf[pos - 1] === CR;
}

function isBlank(buf: Buffer, line: Line): boolean {
  for (let i = line.start; i < line.end; i++) if (buf[i] !== SP && buf[i] !== TAB) return false;
  return true;
}

/** End of the line without trailing spaces and tabs. */
function trimmedEnd(buf: Buffer, line: Line): number {
  let end = line.end;
  while (end > line.start && (buf[end - 1] === SP || buf[end - 1] === TAB)) end--;
  return end;
}

/** Whether buf[at…] starts with the ASCII text `s` (case-insensitive when asked). */
function startsWith(buf: Buffer, at: number, s: string, anyCase = false): boolean {
  if (at + s.length > buf.length) return false;
  for (let i = 0; i < s.length; i++) {
    const c = buf[at + i]!;
    const want = s.charCodeAt(i);
    if (c !== want && !(anyCase && (c | 0x20) === want)) return false;
  }
  return true;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A declared file name: UTF-8 when it is valid UTF-8, else the bytes as Latin-1 (legacy charsets). */
function nameText(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** A growable byte buffer: decoded sizes are not known in advance. */
class Bytes {
  private buf = Buffer.allocUnsafe(256);
  length = 0;
  push(b: number): void {
    if (this.length === this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger);
      this.buf = bigger;
    }
    this.buf[this.length++] = b;
  }
  at(i: number): number {
    return this.buf[i]!;
  }
  /** A right-sized copy, so a result does not pin the doubled buffer. */
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

// ---------------------------------------------------------------------------------------------
// Blocks in a text body

const BEGIN = Buffer.from('begin');
const BINHEX_MARKER = Buffer.from('(This file must be converted');

/**
 * uuencode (`begin`, `begin-base64`), yEnc (`=ybegin`) and BinHex 4.0 blocks in a decoded text body.
 * A block must start at the beginning of a line, as in every client that decodes them.
 */
export function findEncodedBlocks(body: Buffer): EmbeddedFile[] {
  const found: EmbeddedFile[] = [];
  // 'begin' also finds 'begin-base64' and '=ybegin'. The BinHex marker is matched without the
  // "with BinHex 4.0)" tail: macutils' binhex writes "(This file must be converted; you knew that already.)".
  let nextBegin = body.indexOf(BEGIN);
  let nextBinhex = body.indexOf(BINHEX_MARKER);
  // BinHex's RLE turns 3 bytes into up to 255: this caps what one body can make us allocate.
  const budget = { bytes: Math.max(64 << 20, 4 * body.length) };
  while ((nextBegin >= 0 || nextBinhex >= 0) && found.length < MAX_EMBEDDED) {
    const isBinhex = nextBegin < 0 || (nextBinhex >= 0 && nextBinhex < nextBegin);
    const at = isBinhex ? nextBinhex : nextBegin;
    const block = isBinhex ? binhexAt(body, at, budget) : beginAt(body, at);
    if (block) found.push(block);
    const resume = block ? block.end : at + 1;
    if (nextBegin >= 0 && nextBegin < resume) nextBegin = body.indexOf(BEGIN, resume);
    if (nextBinhex >= 0 && nextBinhex < resume) nextBinhex = body.indexOf(BINHEX_MARKER, resume);
  }
  return found;
}

/** The block whose header contains the 'begin' at `at`, if any. */
function beginAt(body: Buffer, at: number): EmbeddedFile | null {
  if (at >= 2 && body[at - 2] === 0x3d && body[at - 1] === 0x79 && isLineStart(body, at - 2)) return yencAt(body, at - 2);
  if (!isLineStart(body, at)) return null;
  return startsWith(body, at, 'begin-base64') ? uuAt(body, at, true) : uuAt(body, at, false);
}

// --- uuencode ---------------------------------------------------------------------------------

/**
 * Where the name starts in `begin[-base64] <mode> <name>`: 3–4 octal digits (Outlook and Thunderbird
 * take `0644` too) with spaces or tabs around them. -1 when the line is not one.
 */
function beginName(body: Buffer, line: Line, keyword: number): number {
  let i = skipBlanks(body, line.start + keyword, line.end);
  if (i === line.start + keyword) return -1;
  const digits = i;
  while (i < line.end && body[i]! >= 0x30 && body[i]! <= 0x37) i++;
  if (i - digits < 3 || i - digits > 4) return -1;
  const name = skipBlanks(body, i, line.end);
  return name > i ? name : -1;
}

function skipBlanks(body: Buffer, i: number, end: number): number {
  while (i < end && (body[i] === SP || body[i] === TAB)) i++;
  return i;
}

/**
 * Bytes on a uuencoded line (its first character, chr(32+n) or '`' for 0), or -1 when the line is not one.
 * Strict: the length must fit the line. Lenient (lines inside a block): the line may be short,
 * because transports strip the trailing spaces that encode zero bits.
 */
function uuLineBytes(body: Buffer, line: Line, strict: boolean): number {
  if (line.end === line.start) return -1;
  for (let i = line.start; i < line.end; i++) if (body[i]! < 0x20 || body[i]! > 0x60) return -1;
  const n = (body[line.start]! - 0x20) & 0x3f;
  const chars = line.end - line.start - 1;
  const full = 4 * Math.ceil(n / 3);
  // +2: some encoders add a check character; -4: one group of stripped spaces
  if (chars > full + 2 || (strict && chars < Math.ceil((4 * n) / 3) - 4)) return -1;
  return n;
}

function isUuEnd(body: Buffer, line: Line): boolean {
  return startsWith(body, line.start, 'end', true); // Thunderbird also takes "END------ Cut here"
}

function isBase64Line(body: Buffer, line: Line): boolean {
  const end = trimmedEnd(body, line);
  if (end === line.start) return false;
  for (let i = line.start; i < end; i++) {
    const c = body[i]!;
    if (!isBase64Char(c) && c !== 0x3d) return false;
  }
  return true;
}

function isBase64End(body: Buffer, line: Line): boolean {
  return trimmedEnd(body, line) - line.start === 4 && startsWith(body, line.start, '====');
}

/**
 * A uuencode block: the begin line, then at least one valid encoded line (or an empty file:
 * a zero-length line and the end line), then lines until the end line or until they stop being valid.
 */
function uuAt(body: Buffer, at: number, base64: boolean): EmbeddedFile | null {
  const header = lineAt(body, at);
  const name = beginName(body, header, base64 ? 'begin-base64'.length : 'begin'.length);
  if (name < 0) return null;
  const first = lineAt(body, header.next);
  if (base64) {
    if (!isBase64Line(body, first) && !isBase64End(body, first)) return null;
  } else {
    const n = uuLineBytes(body, first, true);
    if (n < 0 || (n === 0 && !isUuEnd(body, lineAt(body, first.next)))) return null;
  }

  const out = new Bytes();
  const b64: string[] = [];
  let end = header.next;
  for (let line = first; line.start < body.length; line = lineAt(body, line.next)) {
    if (base64 ? isBase64End(body, line) : isUuEnd(body, line)) {
      end = line.next;
      break;
    }
    if (isBlank(body, line)) continue; // a stripped zero-length line before `end`
    if (base64) {
      if (!isBase64Line(body, line)) break;
      b64.push(body.toString('latin1', line.start, trimmedEnd(body, line)));
    } else {
      const n = uuLineBytes(body, line, false);
      if (n < 0) break;
      uuDecodeLine(body, line, n, out);
    }
    end = line.next;
  }
  const content = base64 ? Buffer.from(b64.join(''), 'base64') : out.done();
  const declared = nameText(body.subarray(name, trimmedEnd(body, header)));
  return { kind: 'uuencode', name: declared, type: OCTET_STREAM, start: at, end, content };
}

function uuDecodeLine(body: Buffer, line: Line, n: number, out: Bytes): void {
  const sixBits = (i: number): number => (i < line.end ? (body[i]! - 0x20) & 0x3f : 0); // missing = stripped spaces
  for (let i = line.start + 1, left = n; left > 0; i += 4, left -= 3) {
    const v = (sixBits(i) << 18) | (sixBits(i + 1) << 12) | (sixBits(i + 2) << 6) | sixBits(i + 3);
    out.push(v >> 16);
    if (left > 1) out.push((v >> 8) & 0xff);
    if (left > 2) out.push(v & 0xff);
  }
}

// --- yEnc -------------------------------------------------------------------------------------

const NAME_KEY = Buffer.from(' name=');
const NAME_KEY_AFTER_TAB = Buffer.from('\tname=');

/**
 * A yEnc block: `=ybegin … name=<rest of line>`, optional `=ypart` lines, then data lines
 * (at least one) until `=yend`, the next `=ybegin`, or the end of the body.
 */
function yencAt(body: Buffer, at: number): EmbeddedFile | null {
  const header = lineAt(body, at);
  if (header.end - at > 7 && body[at + 7] !== SP && body[at + 7] !== TAB) return null; // "=ybegin2" is not one
  // name= is the last key, and its value may hold spaces: it runs to the end of the line
  const line = body.subarray(at, header.end);
  let key = line.indexOf(NAME_KEY);
  if (key < 0) key = line.indexOf(NAME_KEY_AFTER_TAB);
  if (key < 0) return null;
  const name = body.subarray(at + key + 6, trimmedEnd(body, header));

  const out = new Bytes();
  let dataLines = 0;
  let end = header.next;
  for (let l = lineAt(body, header.next); l.start < body.length; l = lineAt(body, l.next)) {
    if (startsWith(body, l.start, '=ybegin')) break;
    end = l.next;
    if (startsWith(body, l.start, '=yend')) break;
    if (startsWith(body, l.start, '=ypart') || l.end === l.start) continue;
    dataLines++;
    for (let i = l.start; i < l.end; i++) {
      if (body[i] !== 0x3d) out.push((body[i]! - 42) & 0xff);
      else if (++i < l.end) out.push((body[i]! - 64 - 42) & 0xff); // escaped critical byte
    }
  }
  if (dataLines === 0) return null;
  return { kind: 'yenc', name: nameText(name), type: OCTET_STREAM, start: at, end, content: out.done() };
}

// --- BinHex 4.0 -------------------------------------------------------------------------------

const HQX_ALPHABET = '!"#$%&\'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr';
const HQX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < HQX_ALPHABET.length; i++) HQX_VALUE[HQX_ALPHABET.charCodeAt(i)] = i;

/**
 * A BinHex 4.0 block: the marker line, then (after blank lines) a line starting with ':' and
 * 6-bit characters up to the closing ':'. Reported even when it does not decode (name '',
 * content the raw block), since a client may still make something of it.
 */
function binhexAt(body: Buffer, at: number, budget: { bytes: number }): EmbeddedFile | null {
  if (!isLineStart(body, at)) return null;
  let line = lineAt(body, lineAt(body, at).next);
  while (line.start < body.length && isBlank(body, line)) line = lineAt(body, line.next);
  if (body[line.start] !== 0x3a) return null;

  // 6-bit characters to bytes; line breaks and blanks between them do not count
  const raw = new Bytes();
  let bits = 0;
  let nbits = 0;
  let closed = false;
  let lastLineEnd = line.start; // where a block cut short by a foreign character ends
  let i = line.start + 1;
  for (; i < body.length; i++) {
    const c = body[i]!;
    if (c === LF || c === CR) {
      lastLineEnd = i + 1;
      continue;
    }
    if (c === SP || c === TAB) continue;
    if (c === 0x3a) {
      closed = true;
      i++;
      break;
    }
    const v = HQX_VALUE[c]!;
    if (v < 0) break;
    bits = ((bits << 6) | v) & 0xffffff;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      raw.push((bits >> nbits) & 0xff);
    }
  }
  let end: number;
  if (closed) {
    end = i;
    while (body[end] === SP || body[end] === TAB) end++;
    if (body[end] === CR) end++;
    if (body[end] === LF) end++;
  } else {
    end = i >= body.length ? body.length : Math.max(lastLineEnd, line.start + 1);
  }
  const file = closed ? binhexFile(raw, budget) : null;
  return {
    kind: 'binhex',
    name: file ? file.name : '',
    type: OCTET_STREAM,
    start: at,
    end,
    content: file ? file.data : Buffer.from(body.subarray(at, end)),
  };
}

/** Undoes the 0x90 run-length encoding, stopping after `limit` bytes. null on a run with nothing to repeat. */
function unRle(raw: Bytes, limit: number): Buffer | null {
  const out = new Bytes();
  let prev = -1;
  for (let i = 0; i < raw.length && out.length < limit; i++) {
    const b = raw.at(i);
    if (b !== 0x90) {
      out.push((prev = b));
      continue;
    }
    if (++i >= raw.length) break;
    const count = raw.at(i);
    if (count === 0) out.push((prev = 0x90)); // a literal 0x90
    else if (prev < 0) return null;
    else for (let k = 1; k < count && out.length < limit; k++) out.push(prev); // the byte itself was already written
  }
  return out.done(); // the loops stop at limit
}

/** CRC-16/XMODEM, the CRC BinHex 4.0 puts after the header and after each fork. */
function crc16(buf: Buffer, from: number, to: number): number {
  let crc = 0;
  for (let i = from; i < to; i++) {
    crc ^= buf[i]! << 8;
    for (let k = 0; k < 8; k++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * The name and data fork from the decoded stream: name length, name, version, type, creator,
 * flags, data length, resource length, header CRC, then the data fork and its CRC.
 */
function binhexFile(raw: Bytes, budget: { bytes: number }): { name: string; data: Buffer } | null {
  const head = unRle(raw, 1 + 63 + 21);
  if (!head || head.length < 22) return null;
  const nameLength = head[0]!;
  const headerLength = nameLength + 22;
  if (nameLength > 63 || head.length < headerLength) return null;
  if (crc16(head, 0, headerLength - 2) !== head.readUInt16BE(headerLength - 2)) return null;
  const dataLength = head.readUInt32BE(nameLength + 12);
  const need = headerLength + dataLength + 2;
  if (need > budget.bytes) return null;
  budget.bytes -= need;
  const all = unRle(raw, need);
  if (!all || all.length < need) return null;
  if (crc16(all, headerLength, headerLength + dataLength) !== all.readUInt16BE(headerLength + dataLength)) return null;
  return { name: nameText(all.subarray(1, 1 + nameLength)), data: all.subarray(headerLength, headerLength + dataLength) };
}

// ---------------------------------------------------------------------------------------------
// data: URIs in HTML

/** The image types a browser shows inline; the bytes must be a whole image of one of them (images.ts). */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/jpg', 'image/gif', 'image/webp', 'image/bmp']);

const MAX_MEDIA_TYPE = 256;
/** type/subtype, lower-cased, from token characters. Bounded input, no nested quantifiers. */
const ESSENCE = /^[a-z0-9!#$^_.+*~|-]+\/[a-z0-9!#$^_.+*~|-]+$/;

function isSchemeChar(c: number | undefined): boolean {
  if (c === undefined) return false;
  const l = c | 0x20;
  return (l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
}

/**
 * Characters of the `[<mediatype>][;base64]` part. Not ':' or '&' (each starts the next candidate,
 * so no byte is scanned by two candidates), quotes, '<', '>', ')' or line breaks.
 */
function isMediaTypeChar(c: number): boolean {
  return (c >= 0x21 && c <= 0x7e && c !== 0x22 && c !== 0x26 && c !== 0x27 && c !== 0x29 && c !== 0x3a && c !== 0x3c && c !== 0x3e) || c === SP || c === TAB;
}

/**
 * Length of the scheme colon at `at`: ':' or an HTML character reference for it (`&#58;`,
 * `&#x3a;` with any leading zeros and optional ';', `&colon;`), which browsers decode in
 * attribute values. 0 when there is none.
 */
function colonLength(html: Buffer, at: number): number {
  if (html[at] === 0x3a) return 1;
  if (startsWith(html, at, '&colon;')) return 7;
  if (!startsWith(html, at, '&#')) return 0;
  let i = at + 2;
  const hex = (html[i]! | 0x20) === 0x78;
  if (hex) i++;
  const digits = i;
  while (i < html.length && i - digits < 32 && html[i] === 0x30) i++; // leading zeros
  if (hex ? !startsWith(html, i, '3a', true) : !startsWith(html, i, '58')) return 0;
  i += 2;
  const c = html[i];
  if (c !== undefined && ((c >= 0x30 && c <= 0x39) || (hex && ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)))) return 0; // another number
  if (c === 0x3b) i++;
  return i - at;
}

/**
 * Non-image data: URIs in a decoded HTML body (attributes, CSS `url(…)`, text). Candidates are
 * the ':' and '&' bytes right after the letters "data" (any case) at the start of a scheme.
 */
export function findDataUris(html: Buffer): EmbeddedFile[] {
  const found: EmbeddedFile[] = [];
  let colon = html.indexOf(0x3a);
  let amp = html.indexOf(0x26);
  let from = 0; // a candidate before this lies inside a URI already read
  while ((colon >= 0 || amp >= 0) && found.length < MAX_EMBEDDED) {
    const at = amp < 0 || (colon >= 0 && colon < amp) ? colon : amp;
    const start = at - 4;
    let resume = at + 1;
    if (start >= from && startsWith(html, start, 'data', true) && !isSchemeChar(html[start - 1])) {
      const length = colonLength(html, at);
      const uri = length > 0 ? dataUriAt(html, start, at + length) : null;
      if (uri) {
        resume = from = uri.end;
        if (uri.file) found.push(uri.file);
      }
    }
    if (colon >= 0 && colon < resume) colon = html.indexOf(0x3a, resume);
    if (amp >= 0 && amp < resume) amp = html.indexOf(0x26, resume);
  }
  return found;
}

/**
 * The data: URI whose header starts at `at` (just after the colon): its end, and the file when it
 * is not an image. null when `data:` is not followed by `[<mediatype>][;base64],`.
 */
function dataUriAt(html: Buffer, start: number, at: number): { end: number; file: EmbeddedFile | null } | null {
  let comma = at;
  while (comma < html.length && comma - at <= MAX_MEDIA_TYPE && isMediaTypeChar(html[comma]!) && html[comma] !== 0x2c) comma++;
  if (html[comma] !== 0x2c) return null;
  const params = html.toString('latin1', at, comma).split(';').map((p) => p.trim().toLowerCase());
  const essence = params[0]!;
  if (essence !== '' && !ESSENCE.test(essence)) return null;
  const base64 = params.length > 1 && params[params.length - 1] === 'base64';
  const type = essence || 'text/plain'; // RFC 2397's default

  // Inside a quoted attribute or url('…') the URI runs to the closing quote (base64 there may be
  // wrapped over lines); elsewhere it ends at whitespace, a quote, ')', '<' or '>'.
  const opener = html[start - 1];
  const quote = opener === 0x22 || opener === 0x27 ? opener : -1;
  let end = comma + 1;
  while (end < html.length && !endsDataUri(html[end]!, quote)) end++;

  const bytes = percentDecode(html, comma + 1, end);
  // Node's base64 decoder skips whitespace (the URI may be wrapped over lines)
  const content = base64 ? Buffer.from(bytes.toString('latin1'), 'base64') : bytes;
  const isImage = IMAGE_TYPES.has(type) && imageKind(content) !== undefined;
  return { end, file: isImage ? null : { kind: 'data-uri', name: '', type, start, end, content } };
}

function endsDataUri(c: number, quote: number): boolean {
  if (quote >= 0) return c === quote;
  return c === 0x22 || c === 0x27 || c === 0x29 || c === 0x3c || c === 0x3e || c === SP || c === TAB || c === LF || c === CR || c === 0x0c;
}

/** Browsers percent-decode the data (base64 included) before anything else. */
function percentDecode(html: Buffer, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  let n = 0;
  for (let i = from; i < to; i++) {
    const hi = html[i] === 0x25 && i + 2 < to ? hexValue(html[i + 1]) : -1;
    const lo = hi >= 0 ? hexValue(html[i + 2]) : -1;
    if (lo >= 0) {
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else out[n++] = html[i]!;
  }
  return Buffer.from(out.subarray(0, n));
}
