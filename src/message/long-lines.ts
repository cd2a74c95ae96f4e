import type { MimeNode } from './mime.js';
import type { MessageModel } from './model.js';
import { type Piece, base64Lines, lineEnding, splitHeaderLines } from './rewrite.js';
import { type ByteSource, rangeChunks } from './source.js';
import { decodeTransfer } from './transfer.js';

/** RFC 5322: a line is at most 998 characters before its CRLF; strict servers refuse longer ones (500). */
export const MAX_LINE = 998;

/** Whether [start, end) of a source has a line longer than MAX_LINE (its line break not counted). */
export function hasLongLine(source: ByteSource, start: number, end: number): boolean {
  let length = 0;
  for (const piece of rangeChunks(source, start, end)) {
    let at = 0;
    for (let lf = piece.indexOf(0x0a); lf >= 0; lf = piece.indexOf(0x0a, at)) {
      const line = length + lf - at - (lf > 0 && piece[lf - 1] === 0x0d ? 1 : 0);
      if (line > MAX_LINE) return true;
      length = 0;
      at = lf + 1;
    }
    length += piece.length - at;
    if (length > MAX_LINE + 1) return true;
  }
  return length > MAX_LINE;
}

/** The parts (leaves) of a message whose body has a line too long to send as it is. */
export function partsWithLongLines(message: MessageModel): MimeNode[] {
  const leaves: MimeNode[] = [];
  const walk = (node: MimeNode): void => {
    if (node.children.length > 0) node.children.forEach(walk);
    else if (hasLongLine(message.source, node.bodyStart, node.end)) leaves.push(node);
  };
  walk(message.root);
  return leaves;
}

/**
 * A part with its body re-encoded so that no line is too long — quoted-printable for text,
 * base64 for anything else — and its header block kept but for Content-Transfer-Encoding. The
 * content a client shows is the same.
 */
function reencodedPart(source: ByteSource, node: MimeNode): Buffer {
  const eol = lineEnding(source);
  const headers = splitHeaderLines(source.read(node.start, node.bodyStart)).filter((l) => !/^content-transfer-encoding[ \t]*:/i.test(l) && l.trim() !== '');
  // a transfer encoding means nothing to a client without MIME-Version at the top
  if (node.id === 0 && !headers.some((l) => /^mime-version[ \t]*:/i.test(l))) headers.push('MIME-Version: 1.0');
  const content = decodeTransfer(source.read(node.bodyStart, node.end), node.transferEncoding);
  const text = node.contentType.startsWith('text/');
  const body = text ? quotedPrintableLines(content, eol) : base64Lines(content, eol);
  const head = headers.map((l) => l.replace(/\r?\n$/, '')).concat(`Content-Transfer-Encoding: ${text ? 'quoted-printable' : 'base64'}`);
  return Buffer.from(`${head.join(eol)}${eol}${eol}${body}`, 'latin1');
}

/** A part that replaces [start, end) of the original in a copy. */
export interface Replacement {
  start: number;
  end: number;
  with: Piece;
}

/**
 * The parts of a message whose lines are too long, each re-encoded (when the copy is made) so
 * that a strict next hop takes it: what goes into substitute() for every copy that leaves.
 */
export function longLineReplacements(message: MessageModel): Replacement[] {
  return partsWithLongLines(message).map((node) => ({
    start: node.start,
    end: node.end,
    with: {
      async *stream() {
        yield reencodedPart(message.source, node);
      },
    },
  }));
}

/**
 * Pieces of a copy with the given spans of the original ([start, end) of parts) replaced: each
 * span lies inside one range piece (a part is copied whole or not at all).
 */
export function substitute(pieces: Piece[], spans: Replacement[]): Piece[] {
  if (spans.length === 0) return pieces;
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  return pieces.flatMap((p) => {
    if (Buffer.isBuffer(p) || !('from' in p)) return [p];
    const out: Piece[] = [];
    let at = p.from;
    for (const s of sorted) {
      if (s.start < at || s.end > p.to) continue;
      if (s.start > at) out.push({ from: at, to: s.start });
      out.push(s.with);
      at = s.end;
    }
    if (at < p.to) out.push({ from: at, to: p.to });
    return out;
  });
}

/** Quoted-printable (RFC 2045) in lines of at most 76 characters: the text's own line breaks kept, soft breaks added. */
function quotedPrintableLines(data: Buffer, eol: string): string {
  const lines: string[] = [];
  for (const raw of data.toString('latin1').split(/\r?\n/)) {
    let line = '';
    let out = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      const last = i === raw.length - 1;
      const literal = (c >= 33 && c <= 126 && c !== 61) || ((c === 32 || c === 9) && !last);
      const token = literal ? raw[i]! : `=${c.toString(16).toUpperCase().padStart(2, '0')}`;
      if (line.length + token.length > 75) {
        out += `${line}=${eol}`;
        line = '';
      }
      line += token;
    }
    lines.push(out + line);
  }
  return lines.join(eol);
}
