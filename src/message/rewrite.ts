import { randomBytes } from 'node:crypto';
import { type MimeNode, isFieldName, shapesPart } from './mime.js';
import { type ByteSource, type ByteStream, rangeChunks, sourceIncludes } from './source.js';

/**
 * A MIME part to add, already encoded: header lines (without the blank line) and body — lines, or
 * made as it is read, given the line ending of the message it goes into.
 */
export interface NewPart {
  headers: string[];
  body: string | ((eol: string) => ByteStream);
}

/** A piece of a rewritten message: new bytes, a byte range of the original, or bytes made as they are read. */
export type Piece = Buffer | { from: number; to: number } | ByteStream;

/** The rewritten message as a stream: ranges of the original are read from its source as they are reached. */
export function assemble(source: ByteSource, pieces: Piece[]): ByteStream {
  return {
    async *stream() {
      for (const p of pieces) {
        if (Buffer.isBuffer(p)) yield p;
        else if ('from' in p) yield* rangeChunks(source, p.from, p.to);
        else yield* p.stream();
      }
    },
  };
}

/**
 * Rewrites a message without its `remove` parts and with `add` parts appended to its top-level
 * multipart/mixed. Every part that stays — text and HTML bodies, inline images, signatures — is
 * copied byte for byte, and so are the top-level headers whenever the message already is
 * multipart/mixed. Any other message is wrapped in a new multipart/mixed whose first part is
 * the original content (its Content-* header lines and body bytes unchanged).
 */
export function rewriteParts(source: ByteSource, root: MimeNode, remove: ReadonlySet<MimeNode>, add: NewPart[]): Piece[] {
  const eol = lineEnding(source);
  if (root.contentType === 'multipart/mixed' && root.children.length > 0 && root.boundary && !remove.has(root)) {
    // from root.start: a byte-order mark or an mbox line before the first header is dropped
    return container(root, remove, add.map((p) => encodePart(p, eol)), eol, root.start);
  }
  // Not multipart/mixed at the top: wrap. The top-level header block keeps every line but the
  // Content-* ones, which move down with the original content to become its first part.
  const boundary = newBoundary(source);
  const headerLines = splitHeaderLines(source.read(root.start, root.bodyStart));
  const isContent = (line: string) => /^content-/i.test(line);
  const top = headerLines.filter((l) => !isContent(l) && l.trim() !== '');
  const parts: Piece[][] = [];
  if (!remove.has(root) && !isEmptied(root, remove)) {
    const contentHeaders = headerLines.filter(isContent);
    const body: Piece[] = root.children.length > 0 && hasRemoved(root, remove) ? container(root, remove, [], eol, root.bodyStart) : [{ from: root.bodyStart, to: root.end }];
    parts.push([Buffer.from(contentHeaders.join('') + eol, 'latin1'), ...body]);
  }
  parts.push(...add.map((p) => encodePart(p, eol)));
  const out: Piece[] = [
    Buffer.from(
      [...top.map((l) => l.replace(/\r?\n$/, '')), 'MIME-Version: 1.0', `Content-Type: multipart/mixed; boundary="${boundary}"`]
        .filter((l, i, all) => !(/^mime-version:/i.test(l) && all.findIndex((x) => /^mime-version:/i.test(x)) !== i))
        .join(eol) + eol + eol,
      'latin1',
    ),
  ];
  for (const p of parts) out.push(Buffer.from(`--${boundary}${eol}`, 'latin1'), ...p, Buffer.from(eol, 'latin1'));
  out.push(Buffer.from(`--${boundary}--${eol}`, 'latin1'));
  return out;
}

/**
 * A new message that carries none of the original's content: its ordinary header fields (well
 * formed ones only: a junk line or a stray CR of the original must not shape the new message),
 * then the `add` parts in a new multipart/mixed.
 */
export function wrapWhole(source: ByteSource, root: MimeNode, add: NewPart[]): Piece[] {
  const eol = lineEnding(source);
  const boundary = newBoundary(source);
  const kept: string[] = [];
  let keeping = false;
  // from root.start: a byte-order mark or an mbox line before the first header is not carried over
  for (const line of source.read(root.start, root.bodyStart).toString('latin1').split('\n')) {
    const text = line.replace(/\r$/, '');
    if (/^[ \t]/.test(text)) {
      if (keeping && !text.includes('\r')) kept.push(text);
      continue;
    }
    const name = /^([^:]*):/.exec(text)?.[1];
    keeping = name !== undefined && isFieldName(name) && !shapesPart(name.toLowerCase()) && !text.includes('\r');
    if (keeping) kept.push(text);
  }
  const head = [...kept, 'MIME-Version: 1.0', `Content-Type: multipart/mixed; boundary="${boundary}"`].join(eol) + eol + eol;
  const out: Piece[] = [Buffer.from(head, 'latin1')];
  for (const p of add) out.push(Buffer.from(`--${boundary}${eol}`, 'latin1'), ...encodePart(p, eol), Buffer.from(eol, 'latin1'));
  out.push(Buffer.from(`--${boundary}--${eol}`, 'latin1'));
  return out;
}

/**
 * A multipart rebuilt from `from` (its start, or its body's): its own header, preamble and first
 * delimiter as they were, kept children, added parts.
 */
function container(node: MimeNode, remove: ReadonlySet<MimeNode>, added: Piece[][], eol: string, from: number): Piece[] {
  const boundary = node.boundary!;
  const kept: Piece[][] = [];
  for (const child of node.children) {
    if (remove.has(child)) continue;
    if (child.children.length > 0 && hasRemoved(child, remove)) {
      if (child.children.every((c) => remove.has(c) || isEmptied(c, remove))) continue; // nothing left inside
      kept.push(container(child, remove, [], eol, child.start));
    } else {
      kept.push([{ from: child.start, to: child.end }]);
    }
  }
  kept.push(...added);
  const delimiter = Buffer.from(`${eol}--${boundary}${eol}`, 'latin1');
  const out: Piece[] = [{ from, to: node.children[0]!.start }];
  kept.forEach((part, i) => {
    if (i > 0) out.push(delimiter);
    out.push(...part);
  });
  out.push(Buffer.from(`${eol}--${boundary}--${eol}`, 'latin1'));
  return out;
}

function hasRemoved(node: MimeNode, remove: ReadonlySet<MimeNode>): boolean {
  return node.children.some((c) => remove.has(c) || hasRemoved(c, remove));
}

function isEmptied(node: MimeNode, remove: ReadonlySet<MimeNode>): boolean {
  return node.children.length > 0 && node.children.every((c) => remove.has(c) || isEmptied(c, remove));
}

function encodePart(part: NewPart, eol: string): Piece[] {
  const head = Buffer.from(part.headers.join(eol) + eol + eol, 'latin1');
  return typeof part.body === 'string' ? [Buffer.concat([head, Buffer.from(part.body.replace(/\r?\n/g, eol), 'latin1')])] : [head, part.body(eol)];
}

/** Base64 in 76-character lines, as MIME wants it. */
export function base64Lines(data: Buffer, eol = '\r\n'): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? ['']).join(eol);
}

/** Bytes made as they are read, in base64 lines of 76 characters with `eol` between them. */
export function base64LinesStream(input: () => AsyncIterable<Buffer>, eol: string): ByteStream {
  const LINE = 57; // bytes per 76-character line
  const BATCH = LINE * 4096;
  return {
    async *stream() {
      let carry = Buffer.alloc(0);
      let first = true;
      for await (const piece of input()) {
        const data = carry.length > 0 ? Buffer.concat([carry, piece]) : piece;
        const whole = data.length - (data.length % BATCH);
        if (whole > 0) {
          yield base64Block(data.subarray(0, whole), first ? '' : eol, eol);
          first = false;
        }
        carry = Buffer.from(data.subarray(whole));
      }
      if (carry.length > 0 || first) yield base64Block(carry, first ? '' : eol, eol);
    },
  };
}

/** `data` in base64 lines of 76 characters, `eol` between them and `lead` in front (a block of a longer run of lines). */
function base64Block(data: Buffer, lead: string, eol: string): Buffer {
  const text = Buffer.from(data.toString('base64'), 'latin1');
  const lines = Math.ceil(text.length / 76);
  const out = Buffer.allocUnsafe(lead.length + text.length + Math.max(0, lines - 1) * eol.length);
  let at = out.write(lead, 'latin1');
  for (let i = 0; i < lines; i++) {
    if (i > 0) at += out.write(eol, at, 'latin1');
    at += text.copy(out, at, i * 76, Math.min(text.length, (i + 1) * 76));
  }
  return out;
}

/** The header block's physical lines, each with its continuation lines folded in and its line end kept. */
export function splitHeaderLines(block: Buffer): string[] {
  const text = block.toString('latin1');
  const lines: string[] = [];
  for (const line of text.split(/(?<=\n)/)) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length > 0) lines[lines.length - 1] += line;
    else lines.push(line);
  }
  return lines;
}

/** How the message's first line ends: the rewritten message ends its lines the same way. */
export function lineEnding(source: ByteSource): string {
  let at = 0;
  for (const piece of rangeChunks(source)) {
    const lf = piece.indexOf(0x0a);
    if (lf >= 0) return (lf > 0 ? piece[lf - 1] : at > 0 ? source.read(at - 1, at)[0] : undefined) === 0x0d ? '\r\n' : '\n';
    at += piece.length;
  }
  return '\r\n';
}

/** A boundary that does not occur anywhere in the message. */
function newBoundary(source: ByteSource): string {
  for (;;) {
    const b = `----=_outguard_${randomBytes(12).toString('hex')}`;
    if (!sourceIncludes(source, b)) return b;
  }
}
