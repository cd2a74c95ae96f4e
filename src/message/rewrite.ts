import { randomBytes } from 'node:crypto';
import { type MimeNode, isFieldName, shapesPart } from './mime.js';

/** A MIME part to add, already encoded: header lines (without the blank line) and body. */
export interface NewPart {
  headers: string[];
  body: string;
}

/**
 * Rewrites a message without its `remove` parts and with `add` parts appended to its top-level
 * multipart/mixed. Every part that stays — text and HTML bodies, inline images, signatures — is
 * copied byte for byte, and so are the top-level headers whenever the message already is
 * multipart/mixed. Any other message is wrapped in a new multipart/mixed whose first part is
 * the original content (its Content-* header lines and body bytes unchanged).
 */
export function rewriteParts(raw: Buffer, root: MimeNode, remove: ReadonlySet<MimeNode>, add: NewPart[]): Buffer {
  const eol = lineEnding(raw);
  if (root.contentType === 'multipart/mixed' && root.children.length > 0 && root.boundary && !remove.has(root)) {
    // from root.start: a byte-order mark or an mbox line before the first header is dropped
    return Buffer.concat(container(raw, root, remove, add.map((p) => encodePart(p, eol)), eol));
  }
  // Not multipart/mixed at the top: wrap. The top-level header block keeps every line but the
  // Content-* ones, which move down with the original content to become its first part.
  const boundary = newBoundary(raw);
  const headerEnd = root.bodyStart;
  const headerLines = splitHeaderLines(raw.subarray(root.start, headerEnd));
  const isContent = (line: string) => /^content-/i.test(line);
  const top = headerLines.filter((l) => !isContent(l) && l.trim() !== '');
  const parts: Buffer[] = [];
  if (!remove.has(root) && !isEmptied(root, remove)) {
    const contentHeaders = headerLines.filter(isContent);
    const body = root.children.length > 0 && hasRemoved(root, remove)
      ? Buffer.concat(container(raw, root, remove, [], eol)).subarray(root.bodyStart - root.start)
      : raw.subarray(root.bodyStart, root.end);
    parts.push(Buffer.concat([Buffer.from(contentHeaders.join('') + eol, 'latin1'), body]));
  }
  parts.push(...add.map((p) => encodePart(p, eol)));
  const out: Buffer[] = [
    Buffer.from(
      [...top.map((l) => l.replace(/\r?\n$/, '')), 'MIME-Version: 1.0', `Content-Type: multipart/mixed; boundary="${boundary}"`]
        .filter((l, i, all) => !(/^mime-version:/i.test(l) && all.findIndex((x) => /^mime-version:/i.test(x)) !== i))
        .join(eol) + eol + eol,
      'latin1',
    ),
  ];
  for (const p of parts) out.push(Buffer.from(`--${boundary}${eol}`, 'latin1'), p, Buffer.from(eol, 'latin1'));
  out.push(Buffer.from(`--${boundary}--${eol}`, 'latin1'));
  return Buffer.concat(out);
}

/**
 * A new message that carries none of the original's content: its ordinary header fields (well
 * formed ones only: a junk line or a stray CR of the original must not shape the new message),
 * then the `add` parts in a new multipart/mixed.
 */
export function wrapWhole(raw: Buffer, root: MimeNode, add: NewPart[]): Buffer {
  const eol = lineEnding(raw);
  const boundary = newBoundary(raw);
  const kept: string[] = [];
  let keeping = false;
  // from root.start: a byte-order mark or an mbox line before the first header is not carried over
  for (const line of raw.subarray(root.start, root.bodyStart).toString('latin1').split('\n')) {
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
  const out: Buffer[] = [Buffer.from(head, 'latin1')];
  for (const p of add) out.push(Buffer.from(`--${boundary}${eol}`, 'latin1'), encodePart(p, eol), Buffer.from(eol, 'latin1'));
  out.push(Buffer.from(`--${boundary}--${eol}`, 'latin1'));
  return Buffer.concat(out);
}

/** A multipart rebuilt: its own header, preamble and first delimiter as they were, kept children, added parts. */
function container(raw: Buffer, node: MimeNode, remove: ReadonlySet<MimeNode>, added: Buffer[], eol: string): Buffer[] {
  const boundary = node.boundary!;
  const kept: Buffer[] = [];
  for (const child of node.children) {
    if (remove.has(child)) continue;
    if (child.children.length > 0 && hasRemoved(child, remove)) {
      if (child.children.every((c) => remove.has(c) || isEmptied(c, remove))) continue; // nothing left inside
      kept.push(Buffer.concat(container(raw, child, remove, [], eol)));
    } else {
      kept.push(raw.subarray(child.start, child.end));
    }
  }
  kept.push(...added);
  const delimiter = Buffer.from(`${eol}--${boundary}${eol}`, 'latin1');
  const out: Buffer[] = [raw.subarray(node.start, node.children[0]!.start)];
  kept.forEach((part, i) => {
    if (i > 0) out.push(delimiter);
    out.push(part);
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

function encodePart(part: NewPart, eol: string): Buffer {
  return Buffer.from(part.headers.join(eol) + eol + eol + part.body.replace(/\r?\n/g, eol), 'latin1');
}

/** Base64 in 76-character lines, as MIME wants it. */
export function base64Lines(data: Buffer, eol = '\r\n'): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? ['']).join(eol);
}

/** The header block's physical lines, each with its continuation lines folded in and its line end kept. */
function splitHeaderLines(block: Buffer): string[] {
  const text = block.toString('latin1');
  const lines: string[] = [];
  for (const line of text.split(/(?<=\n)/)) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length > 0) lines[lines.length - 1] += line;
    else lines.push(line);
  }
  return lines;
}

function lineEnding(raw: Buffer): string {
  const lf = raw.indexOf(0x0a);
  return lf > 0 && raw[lf - 1] === 0x0d ? '\r\n' : lf >= 0 ? '\n' : '\r\n';
}

/** A boundary that does not occur anywhere in the message. */
function newBoundary(raw: Buffer): string {
  for (;;) {
    const b = `----=_outguard_${randomBytes(12).toString('hex')}`;
    if (!raw.includes(b)) return b;
  }
}
