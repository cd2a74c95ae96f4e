import libmime from 'libmime';
import { decodeHeaderBytes } from './charset.js';

/** One header field: lower-cased name, value unfolded but not yet RFC 2047-decoded. */
export interface MimeHeader {
  name: string;
  value: string;
}

/**
 * One MIME part, located by byte offsets in the raw message so a rewrite can copy every part it
 * does not change byte for byte. [start, end) is the whole part; [bodyStart, end) its body.
 */
export interface MimeNode {
  headers: MimeHeader[];
  start: number;
  bodyStart: number;
  end: number;
  /** Lower-cased type/subtype; text/plain when missing or unreadable (RFC 2045). */
  contentType: string;
  params: Record<string, string>;
  disposition?: string;
  dispositionParams: Record<string, string>;
  /** Decoded file name from Content-Disposition filename or Content-Type name. */
  filename?: string;
  transferEncoding: string;
  contentId?: string;
  children: MimeNode[];
  /** Set when a multipart's closing boundary or a part's header end was missing. */
  malformed?: string;
}

// Deeper nesting than this is not mail anyone writes; it is treated as one opaque part.
const MAX_DEPTH = 40;

export function parseMime(raw: Buffer): MimeNode {
  return parsePart(raw, 0, raw.length, 0, 'text/plain');
}

function parsePart(raw: Buffer, start: number, end: number, depth: number, defaultType: string): MimeNode {
  const { headers, bodyStart, missingBlankLine } = readHeaders(raw, start, end);
  const get = (name: string) => headers.find((h) => h.name === name)?.value;
  const ct = safeParse(get('content-type'));
  let contentType = ct?.value.toLowerCase().trim() ?? defaultType;
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(contentType)) contentType = 'application/octet-stream';
  const cd = safeParse(get('content-disposition'));
  const node: MimeNode = {
    headers,
    start,
    bodyStart,
    end,
    contentType,
    params: decodeParams(ct),
    disposition: cd?.value.toLowerCase().trim() || undefined,
    dispositionParams: decodeParams(cd),
    transferEncoding: (get('content-transfer-encoding') ?? '7bit').toLowerCase().trim().replace(/[^a-z0-9-].*$/, ''),
    contentId: get('content-id')?.trim().replace(/^<|>$/g, '') || undefined,
    children: [],
  };
  node.filename = node.dispositionParams.filename ?? node.params.name;
  if (missingBlankLine) node.malformed = 'no blank line after the headers';

  const boundary = node.params.boundary;
  if (contentType.startsWith('multipart/') && boundary && depth < MAX_DEPTH) {
    const childDefault = contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    const { parts, closed } = splitMultipart(raw, bodyStart, end, boundary);
    node.children = parts.map(([s, e]) => parsePart(raw, s, e, depth + 1, childDefault));
    if (!closed) node.malformed = 'multipart without its closing boundary';
  }
  return node;
}

function safeParse(value: string | undefined): ReturnType<typeof libmime.parseHeaderValue> | undefined {
  if (value === undefined) return undefined;
  try {
    return libmime.parseHeaderValue(value);
  } catch {
    return undefined;
  }
}

/** Parameters with RFC 2231 already decoded by libmime, and RFC 2047 words decoded here. */
function decodeParams(parsed: ReturnType<typeof libmime.parseHeaderValue> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!parsed) return out;
  const done = new Set((parsed as { decodedParams?: string[] }).decodedParams ?? []);
  for (const [key, value] of Object.entries(parsed.params)) {
    const text = String(value);
    out[key.toLowerCase()] = done.has(key) ? text : decodeWords(text);
  }
  return out;
}

export function decodeWords(text: string): string {
  if (!text.includes('=?')) return text;
  // The common case, in every Outlook, Thunderbird and Apple Mail header: nothing but UTF-8 "B"
  // words. Each word's bytes are joined before decoding, since a character may be split between words.
  if (UTF8_B_WORDS.test(text)) {
    const words = text.match(UTF8_B_WORD)!.map((w) => Buffer.from(w.slice(10, -2), 'base64'));
    return Buffer.concat(words).toString('utf8');
  }
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}

// whole base64 quanta only: anything unusual (a word split mid-quantum) is left to libmime
const B64 = '(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?';
const UTF8_B_WORDS = new RegExp(`^(?:=\\?utf-8\\?b\\?${B64}\\?=[ \\t\\r\\n]*)+$`, 'i');
const UTF8_B_WORD = new RegExp(`=\\?utf-8\\?b\\?${B64}\\?=`, 'gi');

/** Reads the header block of a part; bodyStart is just after the blank line. */
function readHeaders(raw: Buffer, start: number, end: number): { headers: MimeHeader[]; bodyStart: number; missingBlankLine: boolean } {
  const headers: MimeHeader[] = [];
  let pos = start;
  let current: { name: string; bytes: Buffer[] } | undefined;
  const flush = () => {
    if (current) {
      const bytes = current.bytes.length === 1 ? current.bytes[0]! : Buffer.concat(current.bytes);
      headers.push({ name: current.name, value: decodeHeaderBytes(bytes).trim() });
    }
    current = undefined;
  };
  while (pos < end) {
    let nl = raw.indexOf(0x0a, pos);
    if (nl < 0 || nl >= end) nl = end;
    const lineEnd = nl > pos && raw[nl - 1] === 0x0d ? nl - 1 : nl;
    const next = Math.min(nl + 1, end);
    if (lineEnd === pos) {
      flush();
      return { headers, bodyStart: next, missingBlankLine: false };
    }
    const first = raw[pos]!;
    if (raw.toString('latin1', pos, pos + 5) === 'From ') {
      pos = next; // an mbox separator line ("From sender date") left in the headers
      continue;
    }
    if ((first === 0x20 || first === 0x09) && current) {
      current.bytes.push(raw.subarray(pos, lineEnd));
    } else {
      const colon = raw.indexOf(0x3a, pos);
      const name = colon > pos && colon < lineEnd ? raw.toString('latin1', pos, colon).trim() : '';
      if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
        // Not a header line: a part without headers (or with broken ones) starts its body here.
        flush();
        return { headers, bodyStart: pos, missingBlankLine: pos !== start };
      }
      flush();
      current = { name: name.toLowerCase(), bytes: [raw.subarray(colon + 1, lineEnd)] };
    }
    pos = next;
  }
  flush();
  return { headers, bodyStart: end, missingBlankLine: true };
}

/**
 * Finds the parts of a multipart body: the byte ranges between delimiter lines. The line break
 * before a delimiter belongs to the delimiter (RFC 2046), so each range ends before it.
 */
function splitMultipart(raw: Buffer, bodyStart: number, end: number, boundary: string): { parts: [number, number][]; closed: boolean } {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const parts: [number, number][] = [];
  let partStart = -1;
  let pos = bodyStart;
  while (pos < end) {
    const at = raw.indexOf(delimiter, pos);
    if (at < 0 || at >= end) break;
    const atLineStart = at === bodyStart || raw[at - 1] === 0x0a;
    let nl = raw.indexOf(0x0a, at);
    if (nl < 0 || nl >= end) nl = end;
    const rest = raw.toString('latin1', at + delimiter.length, nl).replace(/[ \t\r]+$/, '');
    if (!atLineStart || (rest !== '' && rest !== '--')) {
      pos = at + delimiter.length;
      continue;
    }
    if (partStart >= 0) {
      let partEnd = at;
      if (partEnd > partStart && raw[partEnd - 1] === 0x0a) partEnd--;
      if (partEnd > partStart && raw[partEnd - 1] === 0x0d) partEnd--;
      parts.push([partStart, Math.max(partStart, partEnd)]);
    }
    if (rest === '--') return { parts, closed: true };
    partStart = Math.min(nl + 1, end);
    pos = partStart;
  }
  if (partStart >= 0 && partStart < end) parts.push([partStart, end]);
  return { parts, closed: false };
}

/** The first value of a header, RFC 2047-decoded. */
export function headerValue(node: MimeNode, name: string): string | undefined {
  const h = node.headers.find((x) => x.name === name);
  return h ? decodeWords(h.value) : undefined;
}

/** All values of a header (To may appear more than once in broken mail). */
export function headerValues(node: MimeNode, name: string): string[] {
  return node.headers.filter((x) => x.name === name).map((x) => x.value);
}
