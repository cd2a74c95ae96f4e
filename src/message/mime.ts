import { decodeHeaderBytes } from './charset.js';
import { parseHeaderValue, parseStrictHeaderValue } from './header-value.js';
import { BufferSource, type ByteSource, toSource } from './source.js';
import { decodeWords } from './words.js';

/** One header field: lower-cased name, value unfolded but not yet RFC 2047-decoded. */
export interface MimeHeader {
  name: string;
  value: string;
}

/**
 * One MIME part, located by byte offsets in the message so a rewrite can copy every part it does
 * not change byte for byte. [start, end) is the whole part; [bodyStart, end) its body. The
 * message's own part starts at its first header field: a byte-order mark or an mbox "From " line
 * before it belongs to no part (strict parsers read no headers after them). Plain data (no
 * functions), so a tree crosses to another thread as it is.
 */
export interface MimeNode {
  /** Position in parse order: 0 is the message itself. */
  id: number;
  depth: number;
  headers: MimeHeader[];
  start: number;
  bodyStart: number;
  end: number;
  /** Lower-cased type/subtype; text/plain when missing (RFC 2045), application/octet-stream when unreadable. */
  contentType: string;
  params: Record<string, string>;
  /** The disposition token, lower-cased (`attachment`, `inline`, or anything a sender wrote). */
  disposition?: string;
  dispositionParams: Record<string, string>;
  /** Decoded file name from Content-Disposition filename or Content-Type name. */
  filename?: string;
  transferEncoding: string;
  contentId?: string;
  children: MimeNode[];
  /** A multipart's boundary as its delimiter lines use it. */
  boundary?: string;
}

/**
 * Why clients could read a message differently. Any of these keeps the message from going to an
 * outside recipient as it is (遵守事項 第6-2, rule id `ambiguous-mime`).
 */
export type AmbiguityCode =
  | 'duplicate-header'
  | 'content-type-unclear'
  | 'header-not-a-header'
  | 'bare-cr'
  | 'no-boundary'
  | 'boundary-not-found'
  | 'boundary-whitespace'
  | 'boundary-reused'
  | 'boundary-conflict'
  | 'boundary-prefix'
  | 'content-outside-parts'
  | 'part-after-close'
  | 'too-deep'
  | 'too-many-parts'
  | 'undecodable-base64'
  | 'encoded-multipart';

export interface Ambiguity {
  code: AmbiguityCode;
  /** Short English text for logs and pages: what and where (never message content beyond a header name). */
  detail: string;
}

export interface MimeLimits {
  /** Multipart nesting deeper than this is not read into (and is ambiguous). */
  maxDepth: number;
  /** More parts than this are not read (and are ambiguous). */
  maxParts: number;
}

export const DEFAULT_LIMITS: MimeLimits = { maxDepth: 32, maxParts: 1000 };

/**
 * Adds an ambiguity once; a message has at most 50 listed (one is enough to hold it, and a
 * hostile one could have thousands).
 */
export function noteAmbiguity(list: Ambiguity[], ambiguity: Ambiguity): void {
  if (list.length < 50 && !list.some((a) => a.code === ambiguity.code && a.detail === ambiguity.detail)) list.push(ambiguity);
}

export interface MimeTree {
  root: MimeNode;
  /** Every node, in parse order (nodes[n].id === n). */
  nodes: MimeNode[];
  ambiguities: Ambiguity[];
}

const UNIQUE = ['content-type', 'content-transfer-encoding', 'content-disposition'];
/** RFC 5322 field-name characters: printable ASCII but the colon. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/** Whether a header line's name (before its colon) is a well-formed field name. */
export function isFieldName(name: string): boolean {
  return FIELD_NAME.test(name);
}

/** Whether a header (lower-cased name) decides what a part is. */
export function shapesPart(name: string): boolean {
  return name.startsWith('content-') || name === 'mime-version';
}
const CONTENT_HEADER_LINE = /^content-(?:type|transfer-encoding|disposition)[ \t]*:/i;
const TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;

interface Frame {
  node: MimeNode;
  boundary: Buffer;
  /** The declared boundary without its surrounding spaces, when that differs (tolerated, ambiguous). */
  trimmed?: Buffer;
  childDefault: string;
  /** The part being read between delimiters, if any. */
  open?: MimeNode;
  delimiters: number;
  closed: boolean;
  /** Text outside the parts (preamble, epilogue) that is not blank. */
  content: boolean;
}

/**
 * Reads a message into its MIME tree in one pass over its lines, at a cost linear in its size:
 * each line is looked at once, a delimiter candidate against at most maxDepth open boundaries.
 *
 * Tolerant the way the most forgiving clients are (a BOM before the first header, a header
 * block with junk lines in it, boundaries with trailing spaces, delimiters of an outer multipart
 * ending an inner one), and it records every place where clients could disagree about what the
 * message holds — the caller decides what an ambiguous message may do.
 */
export function parseMime(source: ByteSource | Buffer, limits: MimeLimits = DEFAULT_LIMITS): MimeTree {
  return new Parser(toSource(source), limits).run();
}

class Parser {
  private readonly lines: LineReader;
  private readonly nodes: MimeNode[] = [];
  private readonly ambiguities: Ambiguity[] = [];
  private readonly stack: Frame[] = [];
  /** Node whose header block is being read, if any. */
  private heading: MimeNode | undefined;
  private headerBytes: Buffer[] | undefined;
  private headerName = '';
  /**
   * A line of the header block that is not `name: value`, waiting to be reported: it matters only
   * when a Content-* header follows it, which strict parsers (Python's email) then never see.
   */
  private junk: string | undefined;
  /** The multipart whose delimiter the previous line started with, followed by more (`--b-`, `--bX`). */
  private prefixOf: MimeNode | undefined;
  private stopped = false;

  constructor(
    private readonly source: ByteSource,
    private readonly limits: MimeLimits,
  ) {
    this.lines = new LineReader(source);
  }

  run(): MimeTree {
    let pos = 0;
    const n = this.source.length;
    // a UTF-8 byte-order mark before the first header (MimeKit's feedback-report.txt has one)
    if (n >= 3 && this.lines.byte(0) === 0xef && this.lines.byte(1) === 0xbb && this.lines.byte(2) === 0xbf) pos = 3;
    // an mbox separator ("From sender date") left in front of the headers
    if (this.lines.startsWith(pos, 'From ')) pos = this.lines.line(pos).next;
    const root = this.node(pos, 0, 'text/plain');
    this.startHeaders(root);
    while (pos < n && !this.stopped) {
      const { end, next } = this.lines.line(pos);
      if (this.prefixOf) this.afterPrefix(pos, end);
      if (this.heading) {
        if (this.delimiter(pos, end)) {
          pos = next;
          continue;
        }
        this.headerLine(pos, end, next);
      } else if (this.stack.length === 0) {
        break; // a single-part body: nothing in it can change the structure
      } else if (!this.delimiter(pos, end)) {
        this.bodyLine(pos, end);
        // inside a part only a line that starts with "--" can change anything, and only a "\r--"
        // needs noting on the way: go straight to the next such line (a file's body is megabytes)
        const frame = this.stack[this.stack.length - 1]!;
        if (frame.open && !this.prefixOf) {
          const skip = this.lines.nextDashLine(next);
          if (skip.crDashes) this.flag('bare-cr', `a lone CR before "--" in ${where(frame.node)}, which some parsers read as a delimiter`);
          pos = skip.at;
          continue;
        }
      }
      pos = next;
    }
    if (this.heading) {
      // a header block cut off by the end of the message: strict parsers read its junk line on as body
      if (this.junk !== undefined) this.flag('header-not-a-header', this.junk);
      this.endHeaders(this.source.length);
    }
    for (const frame of this.stack) this.closeFrame(frame, this.source.length);
    this.stack.length = 0;
    return { root, nodes: this.nodes, ambiguities: this.ambiguities };
  }

  private node(start: number, depth: number, contentType: string): MimeNode {
    const node: MimeNode = {
      id: this.nodes.length,
      depth,
      headers: [],
      start,
      bodyStart: start,
      end: this.source.length,
      contentType,
      params: {},
      dispositionParams: {},
      transferEncoding: '7bit',
      children: [],
    };
    this.nodes.push(node);
    return node;
  }

  private flag(code: AmbiguityCode, detail: string): void {
    noteAmbiguity(this.ambiguities, { code, detail });
  }

  // ---- headers --------------------------------------------------------------------------------

  private startHeaders(node: MimeNode): void {
    this.heading = node;
    this.headerBytes = undefined;
    this.junk = undefined;
  }

  /** A header starts: if it shapes the part and a junk line came before it, clients disagree. */
  private newHeader(name: string, value: Buffer): void {
    this.flushHeader();
    this.headerName = name;
    this.headerBytes = [value];
    if (this.junk !== undefined && shapesPart(name)) {
      this.flag('header-not-a-header', this.junk);
      this.junk = undefined;
    }
  }

  private headerLine(pos: number, end: number, next: number): void {
    const node = this.heading!;
    if (end === pos) return this.endHeaders(next);
    const first = this.lines.byte(pos);
    if (this.lines.hasBareCr(pos, end)) this.flag('bare-cr', `a line break that is a lone CR in the headers of ${where(node)}`);
    if (first === 0x20 || first === 0x09) {
      if (this.headerBytes) {
        this.headerBytes.push(this.lines.slice(pos, end));
        return;
      }
      this.junk ??= `a folded line with no header before it in ${where(node)}`;
      return;
    }
    const colon = this.lines.indexOf(0x3a, pos, end);
    const name = colon > pos ? this.lines.slice(pos, colon).toString('latin1') : '';
    if (isFieldName(name)) return this.newHeader(name.toLowerCase(), this.lines.slice(colon + 1, end));
    // Not `name: value`. Strict parsers (Python's email) end the header block here and read the
    // rest as body text; tolerant ones (mailparser, Thunderbird) read on to the blank line. Read
    // on, as they do, so nothing they show is missed, and record the disagreement.
    const trimmed = name.trim();
    if (isFieldName(trimmed)) {
      this.junk ??= `a space before the colon of the ${trimmed} header in ${where(node)}`;
      return this.newHeader(trimmed.toLowerCase(), this.lines.slice(colon + 1, end));
    }
    this.flushHeader();
    this.junk ??= `a line that is not a header in the header block of ${where(node)}`;
  }

  private flushHeader(): void {
    if (!this.headerBytes) return;
    const bytes = this.headerBytes.length === 1 ? this.headerBytes[0]! : Buffer.concat(this.headerBytes);
    this.heading!.headers.push({ name: this.headerName, value: decodeHeaderBytes(bytes).trim() });
    this.headerBytes = undefined;
  }

  /**
   * The header block is over: work out the node's type, and open it when it is a multipart with
   * a body (not when a delimiter ended its headers: then it has none).
   */
  private endHeaders(bodyStart: number, hasBody = true): void {
    this.flushHeader();
    const node = this.heading!;
    this.heading = undefined;
    node.bodyStart = bodyStart;
    this.describe(node);
    if (!node.contentType.startsWith('multipart/')) {
      // strict parsers end the headers at a junk line: what follows it becomes part of the body,
      // which matters when the body is a file
      const textBody = (node.contentType === 'text/plain' || node.contentType === 'text/html') && (node.disposition ?? 'inline') === 'inline';
      if (this.junk !== undefined && !textBody) this.flag('header-not-a-header', this.junk);
      return;
    }
    if (!hasBody) return;
    if (node.transferEncoding !== '7bit' && node.transferEncoding !== '8bit' && node.transferEncoding !== 'binary') {
      this.flag('encoded-multipart', `${where(node)} is a multipart with Content-Transfer-Encoding ${node.transferEncoding}`);
    }
    const declared = node.params.boundary;
    if (declared === undefined || declared === '') {
      this.flag('no-boundary', `${where(node)} is ${node.contentType} without a boundary`);
      return;
    }
    if (node.depth >= this.limits.maxDepth) {
      this.flag('too-deep', `multipart nesting deeper than ${this.limits.maxDepth} levels`);
      return;
    }
    const boundary = Buffer.from(declared, 'latin1');
    if (this.stack.some((f) => f.boundary.equals(boundary))) this.flag('boundary-reused', `${where(node)} reuses the boundary of a multipart it is in`);
    const trimmed = declared.trim();
    node.boundary = declared;
    this.stack.push({
      node,
      boundary,
      ...(trimmed !== declared && trimmed !== '' ? { trimmed: Buffer.from(trimmed, 'latin1') } : {}),
      childDefault: node.contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain',
      delimiters: 0,
      closed: false,
      content: false,
    });
  }

  private describe(node: MimeNode): void {
    const seen = new Map<string, string>();
    for (const h of node.headers) {
      if (!UNIQUE.includes(h.name)) continue;
      const before = seen.get(h.name);
      if (before === undefined) seen.set(h.name, h.value);
      else if (before.toLowerCase().replace(/\s+/g, '') !== h.value.toLowerCase().replace(/\s+/g, '')) {
        this.flag('duplicate-header', `two different ${canonical(h.name)} headers in ${where(node)}`);
      }
    }
    const ct = seen.get('content-type');
    if (ct !== undefined) {
      const parsed = parseHeaderValue(ct);
      let type = parsed.value;
      // RFC 2046: an unknown multipart subtype is read as mixed; anything unreadable as a file
      if (!TYPE.test(type)) type = 'application/octet-stream';
      node.contentType = type;
      node.params = parsed.params;
      if (parsed.conflicting.includes('boundary')) this.flag('boundary-conflict', `${where(node)} declares two different boundaries`);
      // tolerated here (comments, a missing semicolon, an unquoted boundary with =), but strict
      // parsers read another type or boundary: clients would disagree about what the part is
      const strict = parseStrictHeaderValue(ct);
      if (strict.value !== type || (type.startsWith('multipart/') && strict.params.boundary !== parsed.params.boundary)) {
        this.flag('content-type-unclear', `the Content-Type of ${where(node)} is written so that clients read it differently`);
      }
    }
    const cd = seen.get('content-disposition');
    if (cd !== undefined) {
      const parsed = parseHeaderValue(cd);
      if (parsed.value !== '') node.disposition = parsed.value;
      node.dispositionParams = parsed.params;
    }
    const cte = seen.get('content-transfer-encoding');
    if (cte !== undefined) {
      const value = parseHeaderValue(cte).value;
      if (value !== '') node.transferEncoding = value;
    }
    const cid = node.headers.find((x) => x.name === 'content-id');
    if (cid) node.contentId = cid.value.trim().replace(/^<|>$/g, '').trim() || undefined;
    // an empty name is no name: the file gets the default one
    node.filename = [node.dispositionParams.filename, node.params.name].find((n) => n !== undefined && n.trim() !== '');
  }

  // ---- bodies and delimiters --------------------------------------------------------------------

  private bodyLine(pos: number, end: number): void {
    const frame = this.stack[this.stack.length - 1];
    if (!frame) return;
    if (this.lines.hasBareCr(pos, end) && this.lines.includes('\r--', pos, end)) {
      this.flag('bare-cr', `a lone CR before "--" in ${where(frame.node)}, which some parsers read as a delimiter`);
    }
    if (frame.open) return;
    // outside every part: the preamble (before the first delimiter) or the epilogue (after the last)
    if (!frame.content && !this.lines.isBlank(pos, end)) frame.content = true;
    if (end - pos > 14 && CONTENT_HEADER_LINE.test(this.lines.slice(pos, Math.min(end, pos + 40)).toString('latin1'))) {
      this.flag('content-outside-parts', `MIME headers in the ${frame.closed ? 'epilogue' : 'preamble'} of ${where(frame.node)}`);
    }
  }

  /** Handles the line if it is a delimiter of an open multipart; false otherwise. */
  private delimiter(pos: number, end: number): boolean {
    if (this.stack.length === 0 || end - pos < 2 || this.lines.byte(pos) !== 0x2d || this.lines.byte(pos + 1) !== 0x2d) return false;
    for (let level = this.stack.length - 1; level >= 0; level--) {
      const frame = this.stack[level]!;
      let kind = this.match(pos, end, frame.boundary, frame.node);
      if (kind === undefined && frame.trimmed) {
        kind = this.match(pos, end, frame.trimmed, frame.node);
        if (kind !== undefined) {
          frame.node.boundary = frame.trimmed.toString('latin1');
          this.flag('boundary-whitespace', `the boundary of ${where(frame.node)} is declared with spaces its delimiters lack`);
        }
      }
      if (kind === undefined) continue;
      this.atDelimiter(level, kind, pos);
      return true;
    }
    return false;
  }

  /**
   * The line after one that starts like a delimiter but goes on (`--b-`): exact parsers read that
   * line as text, parsers that compare only its start as a delimiter — which matters when a part's
   * headers follow it.
   */
  private afterPrefix(pos: number, end: number): void {
    const owner = this.prefixOf!;
    this.prefixOf = undefined;
    if (CONTENT_HEADER_LINE.test(this.lines.slice(pos, Math.min(end, pos + 40)).toString('latin1'))) {
      this.flag('boundary-prefix', `a line that starts like a delimiter of ${where(owner)}, followed by MIME headers`);
    }
  }

  /** 'open' for `--b`, 'close' for `--b--`, both with trailing white space; undefined otherwise. */
  private match(pos: number, end: number, boundary: Buffer, owner: MimeNode): 'open' | 'close' | undefined {
    const after = pos + 2 + boundary.length;
    if (after > end || !this.lines.equals(pos + 2, boundary)) return undefined;
    // only white space may follow, as Python, mailparser and Thunderbird read it (RFC 2046)
    const rest = this.lines.slice(after, end).toString('latin1').replace(/[ \t\r]+$/, '');
    if (rest === '') return 'open';
    if (rest === '--') return 'close';
    this.prefixOf ??= owner;
    return undefined;
  }

  private atDelimiter(level: number, kind: 'open' | 'close', pos: number): void {
    // a delimiter of an outer multipart ends every part and multipart inside it
    while (this.stack.length - 1 > level) this.closeFrame(this.stack.pop()!, pos);
    const frame = this.stack[level]!;
    const partEnd = this.lines.beforeLineBreak(pos, frame.open?.start ?? frame.node.bodyStart);
    if (this.heading) {
      // headers cut off by a delimiter: strict parsers read a junk line in them on as body
      if (this.junk !== undefined) this.flag('header-not-a-header', this.junk);
      this.endHeaders(partEnd, false);
    }
    if (frame.open) {
      setEnd(frame.open, partEnd);
      frame.open = undefined;
    }
    frame.delimiters++;
    if (kind === 'close') {
      frame.closed = true;
      return;
    }
    if (frame.closed) this.flag('part-after-close', `a part after the closing delimiter of ${where(frame.node)}`);
    if (this.nodes.length >= this.limits.maxParts) {
      this.flag('too-many-parts', `more than ${this.limits.maxParts} MIME parts`);
      this.stopped = true;
      return;
    }
    const next = this.lines.line(pos).next;
    const child = this.node(next, frame.node.depth + 1, frame.childDefault);
    frame.node.children.push(child);
    frame.open = child;
    this.startHeaders(child);
  }

  private closeFrame(frame: Frame, at: number): void {
    if (frame.open) {
      setEnd(frame.open, at === this.source.length ? at : this.lines.beforeLineBreak(at, frame.open.start));
      frame.open = undefined;
    }
    // a multipart with nothing in it is just empty; with text but no delimiter, clients disagree
    if (frame.delimiters === 0 && frame.content) this.flag('boundary-not-found', `the boundary of ${where(frame.node)} never occurs`);
  }
}

/** Sets a part's end and that of every last descendant that ran to the end of the message. */
function setEnd(node: MimeNode, end: number): void {
  node.end = Math.max(node.bodyStart, end);
  const last = node.children[node.children.length - 1];
  if (last && last.end > node.end) setEnd(last, end);
}

function where(node: MimeNode): string {
  return node.id === 0 ? 'the message' : `part ${node.id}`;
}

function canonical(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * Lines of a source, read through a window so a spooled message is never loaded whole; a message
 * in memory is one window. Offsets are absolute; a line handed out stays in the window until the
 * next call to line().
 */
class LineReader {
  private buf: Buffer;
  private base = 0;

  constructor(private readonly source: ByteSource) {
    this.buf = source instanceof BufferSource ? source.buffer : source.read(0, Math.min(source.length, WINDOW));
  }

  line(pos: number): { end: number; next: number } {
    for (;;) {
      const lf = this.buf.indexOf(0x0a, pos - this.base);
      if (lf >= 0) {
        const abs = this.base + lf;
        return { end: abs > pos && this.buf[lf - 1] === 0x0d ? abs - 1 : abs, next: abs + 1 };
      }
      const windowEnd = this.base + this.buf.length;
      if (windowEnd >= this.source.length) {
        const end = this.source.length;
        return { end: end > pos && this.byte(end - 1) === 0x0d ? end - 1 : end, next: end };
      }
      // keep the current line (and the line break before it, which a delimiter owns), read on
      const keep = Math.max(this.base, pos - 2);
      this.buf = Buffer.concat([this.buf.subarray(keep - this.base), this.source.read(windowEnd, Math.min(this.source.length, windowEnd + WINDOW))]);
      this.base = keep;
    }
  }

  byte(at: number): number {
    return this.buf[at - this.base] ?? -1;
  }

  /**
   * From `pos` (a line start): the start of the first line that begins with "--" (or the end), and
   * whether a CR followed by "--" comes before it. Reads on window by window.
   */
  nextDashLine(pos: number): { at: number; crDashes: boolean } {
    let crDashes = false;
    let from = pos;
    if (this.byte(pos) === 0x2d && this.byte(pos + 1) === 0x2d) return { at: pos, crDashes };
    for (;;) {
      const found = this.buf.indexOf('\n--', from - this.base, 'latin1');
      const searched = found >= 0 ? found + 1 : this.buf.length;
      crDashes ||= this.buf.subarray(0, searched).indexOf('\r--', from - this.base, 'latin1') >= 0;
      if (found >= 0) return { at: this.base + found + 1, crDashes };
      const windowEnd = this.base + this.buf.length;
      if (windowEnd >= this.source.length) return { at: this.source.length, crDashes };
      // keep the last two bytes: a "\n--" or "\r--" may be cut at the window's edge
      const keep = Math.max(this.base, windowEnd - 2);
      this.buf = Buffer.concat([this.buf.subarray(keep - this.base), this.source.read(windowEnd, Math.min(this.source.length, windowEnd + WINDOW))]);
      this.base = keep;
      from = keep;
    }
  }

  slice(start: number, end: number): Buffer {
    return this.buf.subarray(start - this.base, end - this.base);
  }

  startsWith(at: number, text: string): boolean {
    return this.buf.toString('latin1', at - this.base, at - this.base + text.length) === text;
  }

  equals(at: number, bytes: Buffer): boolean {
    return this.buf.compare(bytes, 0, bytes.length, at - this.base, at - this.base + bytes.length) === 0;
  }

  // both search [start, end) only: searching on to the window's end made LF-only mail quadratic
  indexOf(byte: number, start: number, end: number): number {
    const i = this.within(end).indexOf(byte, start - this.base);
    return i < 0 ? -1 : this.base + i;
  }

  includes(text: string, start: number, end: number): boolean {
    return this.within(end).indexOf(text, start - this.base, 'latin1') >= 0;
  }

  private within(end: number): Buffer {
    return this.buf.subarray(0, end - this.base);
  }

  /** A CR inside [start, end) that is not part of the line's CRLF ending. */
  hasBareCr(start: number, end: number): boolean {
    return this.indexOf(0x0d, start, end) >= 0;
  }

  isBlank(start: number, end: number): boolean {
    for (let i = start; i < end; i++) {
      const c = this.byte(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
    }
    return true;
  }

  /** The offset of the line break before the line at `pos` (it belongs to the delimiter, RFC 2046), not before `floor`. */
  beforeLineBreak(pos: number, floor: number): number {
    let end = pos;
    if (end > floor && this.byte(end - 1) === 0x0a) end--;
    if (end > floor && this.byte(end - 1) === 0x0d) end--;
    return end;
  }
}

const WINDOW = 1 << 20;

/** The first value of a header, RFC 2047-decoded. */
export function headerValue(node: MimeNode, name: string): string | undefined {
  const h = node.headers.find((x) => x.name === name);
  return h ? decodeWords(h.value) : undefined;
}

/** All values of a header (To may appear more than once in broken mail). */
export function headerValues(node: MimeNode, name: string): string[] {
  return node.headers.filter((x) => x.name === name).map((x) => x.value);
}
