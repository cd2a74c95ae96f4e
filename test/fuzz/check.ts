/**
 * The checker: given the original message, the gateway's SMTP answer and the outside copies it
 * delivered, the leaks. A leak is an attachment that a reference parser saw in the original and
 * whose bytes can be read in an outside copy (any 32-byte slice of it in any decoded part), or a
 * ZIP in an outside copy with an entry that is not encrypted.
 */
import { imageMagicMatches } from './files.js';
import { type CopyView, type OracleAttachment, type OriginalView, type ParserFailure, type PythonOracle, decodeCopy, hash, originalAttachments } from './oracles.js';
import { detectEncryption } from '../../src/message/encrypted.js';

export type Outcome = 'delivered' | 'held' | 'rejected' | 'tempfail' | 'no-answer';

export interface Answer {
  ok: boolean;
  code?: number;
  response: string;
}

/** What the SMTP answer means, and the ids a 250 "delivered as …" names. */
export function classify(answer: Answer): { outcome: Outcome; ids: string[] } {
  if (answer.code === 250) {
    const m = /delivered as ([^(]+)/.exec(answer.response);
    if (m) return { outcome: 'delivered', ids: m[1]!.split(/[,\s]+/).filter(Boolean) };
    if (/held for confirmation/.test(answer.response)) return { outcome: 'held', ids: [] };
    return { outcome: 'no-answer', ids: [] };
  }
  if (answer.code === 451) return { outcome: 'tempfail', ids: [] };
  if (answer.code !== undefined && answer.code >= 500 && answer.code < 600) return { outcome: 'rejected', ids: [] };
  return { outcome: 'no-answer', ids: [] };
}

export interface Leak {
  kind: 'readable' | 'zip-not-encrypted';
  /** The copy (its X-Outguard-Id). */
  copy: string;
  /** Which decoded part of the copy, as the parser that produced it names it. */
  where: string;
  /** For `readable`: who saw the attachment in the original, and as what. */
  seenBy?: string[];
  filename?: string;
  contentType?: string;
  size?: number;
  detail?: string;
}

export interface CheckResult {
  outcome: Outcome;
  ids: string[];
  leaks: Leak[];
  /** Distinct attachment contents checked. */
  files: number;
  /** Attachments shorter than 12 bytes: too short to tell apart from chance, not checked. */
  tiny: number;
  /** Attachments allowed to stay readable, and why. */
  exempt: { filename?: string; contentType: string; reason: 'inline-image' | 'already-encrypted' | 'in-the-body' }[];
  failures: ParserFailure[];
}

// ---- the slice index ----------------------------------------------------------------------------

const LONG = 32;
const SHORT = 12;
const STEP = 16;
const P = 2147483647;
const BASE = 257;
const powTop = (len: number) => {
  let p = 1;
  for (let i = 1; i < len; i++) p = (p * BASE) % P;
  return p;
};
const TOP = { [LONG]: powTop(LONG), [SHORT]: powTop(SHORT) } as Record<number, number>;

function windowHash(b: Buffer, start: number, len: number): number {
  let h = 0;
  for (let i = start; i < start + len; i++) h = (h * BASE + b[i]!) % P;
  return h;
}

/** Calls `hit(position, hash)` for every `len`-byte window of `hay` whose hash is in `keys`. */
function roll(hay: Buffer, len: number, keys: Map<number, unknown>, hit: (pos: number, h: number) => void): void {
  if (hay.length < len || keys.size === 0) return;
  const top = TOP[len]!;
  let h = windowHash(hay, 0, len);
  for (let i = 0; ; i++) {
    if (keys.has(h)) hit(i, h);
    if (i + len >= hay.length) break;
    h = (h - ((hay[i]! * top) % P) + P) % P;
    h = (h * BASE + hay[i + len]!) % P;
  }
}

interface FileEntry {
  content: Buffer;
  sightings: OracleAttachment[];
}

/**
 * Every 32-byte window at positions ≡ 0 mod 16 (and the last one) of each file ≥ 32 bytes, and
 * the first 12 bytes of each file of 12–31 bytes. A window two different files share (format
 * boilerplate) is dropped, so one file left readable by design cannot implicate another. Any
 * run of 47 bytes of a file, and any whole short file, found in a copy is then a hit.
 */
class SliceIndex {
  readonly long = new Map<number, { file: number; pos: number }[]>();
  readonly short = new Map<number, number[]>();

  constructor(private readonly files: FileEntry[]) {
    files.forEach((f, k) => {
      const c = f.content;
      if (c.length >= LONG) {
        const positions = new Set<number>();
        for (let p = 0; p + LONG <= c.length; p += STEP) positions.add(p);
        positions.add(c.length - LONG);
        for (const pos of positions) {
          const h = windowHash(c, pos, LONG);
          const list = this.long.get(h) ?? [];
          list.push({ file: k, pos });
          this.long.set(h, list);
        }
      } else if (c.length >= SHORT) {
        const h = windowHash(c, 0, SHORT);
        this.short.set(h, [...(this.short.get(h) ?? []), k]);
      }
    });
    // drop windows that occur in another file too
    const shared = new Set<string>();
    files.forEach((f, k) =>
      roll(f.content, LONG, this.long, (i, h) => {
        for (const e of this.long.get(h)!) if (e.file !== k && f.content.compare(files[e.file]!.content, e.pos, e.pos + LONG, i, i + LONG) === 0) shared.add(`${e.file}:${e.pos}`);
      }),
    );
    // and windows of outguard's own boilerplate
    roll(BOILERPLATE, LONG, this.long, (i, h) => {
      for (const e of this.long.get(h)!) if (BOILERPLATE.compare(files[e.file]!.content, e.pos, e.pos + LONG, i, i + LONG) === 0) shared.add(`${e.file}:${e.pos}`);
    });
    for (const [h, list] of this.long) {
      const kept = list.filter((e) => !shared.has(`${e.file}:${e.pos}`));
      if (kept.length) this.long.set(h, kept);
      else this.long.delete(h);
    }
    // a short file found inside another file (a truncated image's header) could not be told apart
    for (const [h, list] of this.short) {
      const kept = list.filter((k) => !files.some((g, j) => j !== k && g.content.length > files[k]!.content.length && g.content.includes(files[k]!.content)));
      if (kept.length) this.short.set(h, kept);
      else this.short.delete(h);
    }
  }

  /** The files (by index) any part of which `hay` contains, except windows `excused` lets pass. */
  find(hay: Buffer, excused: (file: number, window: Buffer) => boolean = () => false): Set<number> {
    const found = new Set<number>();
    roll(hay, LONG, this.long, (i, h) => {
      for (const e of this.long.get(h)!) {
        if (found.has(e.file) || hay.compare(this.files[e.file]!.content, e.pos, e.pos + LONG, i, i + LONG) !== 0) continue;
        if (!excused(e.file, hay.subarray(i, i + LONG))) found.add(e.file);
      }
    });
    roll(hay, SHORT, this.short, (i, h) => {
      for (const k of this.short.get(h)!) {
        const c = this.files[k]!.content;
        if (!found.has(k) && i + c.length <= hay.length && hay.compare(c, 0, c.length, i, i + c.length) === 0) found.add(k);
      }
    });
    return found;
  }
}

// ---- ZIPs in the copies -------------------------------------------------------------------------

const entryName = (b: Buffer) => JSON.stringify(b.toString('utf8').slice(0, 60)).replace(/\\u[0-9a-f]{4}|\uFFFD/g, '?');

/** Entries of a ZIP that are not encrypted, in its central directory or in their local header. */
export function zipProblems(b: Buffer): string[] {
  const problems: string[] = [];
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--) {
    if (b.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd >= 0) {
    const count = b.readUInt16LE(eocd + 10);
    let pos = b.readUInt32LE(eocd + 16);
    for (let n = 0; n < count && pos + 46 <= b.length && b.readUInt32LE(pos) === 0x02014b50; n++) {
      const flags = b.readUInt16LE(pos + 8);
      const size = b.readUInt32LE(pos + 24);
      const nameLen = b.readUInt16LE(pos + 28);
      const local = b.readUInt32LE(pos + 42);
      const name = entryName(b.subarray(pos + 46, pos + 46 + nameLen));
      const localFlags = local + 30 <= b.length && b.readUInt32LE(local) === 0x04034b50 ? b.readUInt16LE(local + 6) : undefined;
      if (size > 0 && !name.endsWith('/')) {
        if (!(flags & 1)) problems.push(`${name}: not encrypted`);
        else if (localFlags !== undefined && !(localFlags & 1)) problems.push(`${name}: encrypted in the central directory, not in its local header`);
      }
      pos += 46 + nameLen + b.readUInt16LE(pos + 30) + b.readUInt16LE(pos + 32);
    }
    return problems;
  }
  // no directory (truncated): walk the local headers
  for (let pos = 0; pos + 30 <= b.length && b.readUInt32LE(pos) === 0x04034b50; ) {
    const flags = b.readUInt16LE(pos + 6);
    const size = b.readUInt32LE(pos + 18);
    const nameLen = b.readUInt16LE(pos + 26);
    const name = entryName(b.subarray(pos + 30, pos + 30 + nameLen));
    if (!(flags & 1) && size > 0) problems.push(`${name}: not encrypted (local header; no central directory)`);
    if (flags & 8) break;
    pos += 30 + nameLen + b.readUInt16LE(pos + 28) + size;
  }
  return problems;
}

// ---- the check ----------------------------------------------------------------------------------

const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp']);

/** (i) an image that the copy keeps inline in multipart/related, referenced by cid from its HTML. */
function inlineImageKept(f: FileEntry, copy: CopyView): boolean {
  const image = f.sightings.some((s) => INLINE_IMAGE_TYPES.has(s.contentType.toLowerCase()) && imageMagicMatches(s.contentType, f.content));
  const cids = new Set(f.sightings.map((s) => s.cid).filter((c): c is string => !!c));
  const mp = copy.mailparser;
  if (!image || cids.size === 0 || !mp?.html) return false;
  return mp.attachments.some((a) => a.related && a.cid && cids.has(a.cid) && a.content.equals(f.content) && mp.html!.includes(`cid:${a.cid}`));
}

/**
 * (iii) text the original shows in its body too, to the very parser that also saw the file: a bounce
 * quoting the returned headers, a reply quoting an attached text. Every parser that saw the file
 * must show the matching bytes in a body of its own, so a part one parser misreads as body text
 * never excuses itself.
 */
function shownInBody(f: FileEntry, window: Buffer, bodies: OriginalView['bodies']): boolean {
  const parsers = new Set(f.sightings.map((s) => s.parser));
  if (parsers.has('embedded')) return false;
  // parsers hand out text with their own line ends: compare with every CRLF as LF
  const text = lf(window).replace(/^\n|\r$/g, ''); // a window may cut a line end in two
  return [...parsers].every((p) => bodies.some((b) => b.parser === p && lf(b.content).includes(text)));
}

const lfCache = new WeakMap<Buffer, string>();
function lf(b: Buffer): string {
  let s = lfCache.get(b);
  if (s === undefined) lfCache.set(b, (s = b.toString('latin1').replace(/\r\n/g, '\n')));
  return s;
}

/**
 * What outguard itself writes into every encrypted copy (its part headers, the note's wording):
 * a window of an attachment that is only this boilerplate says nothing about the attachment.
 */
const BOILERPLATE = Buffer.from(
  [
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="----=_outguard_',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: inline',
    'Content-Type: application/zip; name="attachments.zip"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="attachments.zip"',
    '',
  ].join('\r\n'),
  'latin1',
);

/** (ii) a file already encrypted by its own format, carried byte for byte. */
function alreadyEncryptedKept(f: FileEntry, copy: CopyView): boolean {
  return detectEncryption(f.content) !== undefined && copy.parts.some((p) => p.content.equals(f.content));
}

export interface CheckInput {
  /** The message as the gateway received it. */
  raw: Buffer;
  answer: Answer;
  /** The outside copies the answer names (password and other notices left out). */
  copies: { id: string; raw: Buffer }[];
  py: PythonOracle;
  /** The reference parsers' reading of `raw`, when the caller already has it. */
  original?: OriginalView;
}

export async function check(input: CheckInput): Promise<CheckResult> {
  const { outcome, ids } = classify(input.answer);
  const original = input.original ?? (await originalAttachments(input.raw, input.py));
  const result: CheckResult = { outcome, ids, leaks: [], files: 0, tiny: 0, exempt: [], failures: [...original.failures] };
  if (outcome !== 'delivered') return result;

  // one entry per distinct content, with everyone who saw it
  const byContent = new Map<string, FileEntry>();
  for (const a of original.attachments) {
    if (a.content.length < SHORT) {
      result.tiny++;
      continue;
    }
    const key = hash(a.content);
    const e = byContent.get(key) ?? { content: a.content, sightings: [] };
    e.sightings.push(a);
    byContent.set(key, e);
  }
  const files = [...byContent.values()];
  result.files = files.length;
  const index = new SliceIndex(files);

  for (const copy of input.copies) {
    const view = await decodeCopy(copy.raw, input.py);
    result.failures.push(...view.failures.map((f) => ({ ...f, parser: `${f.parser} (copy ${copy.id})` })));
    const reported = new Set<number>();
    for (const part of view.parts) {
      // base64 a parser shows as text is no decoded part of the copy: nobody reads it as a file; in
      // an encrypted ZIP only the names are readable, as in every password ZIP
      const zip = part.content.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'));
      const sealed = zip && zipProblems(part.content).length === 0;
      const hits = part.shownAsText || sealed ? [] : index.find(part.content, (file, window) => shownInBody(files[file]!, window, original.bodies));
      for (const k of hits) {
        if (reported.has(k)) continue;
        reported.add(k);
        const f = files[k]!;
        const first = f.sightings[0]!;
        if (inlineImageKept(f, view)) result.exempt.push({ filename: first.filename, contentType: first.contentType, reason: 'inline-image' });
        else if (alreadyEncryptedKept(f, view)) result.exempt.push({ filename: first.filename, contentType: first.contentType, reason: 'already-encrypted' });
        else
          result.leaks.push({
            kind: 'readable',
            copy: copy.id,
            where: part.label,
            seenBy: [...new Set(f.sightings.map((s) => (s.via ? `${s.parser}(${s.via})` : s.parser)))],
            filename: first.filename,
            contentType: first.contentType,
            size: f.content.length,
          });
      }
      if (!part.shownAsText && zip) {
        const problems = zipProblems(part.content);
        if (problems.length) result.leaks.push({ kind: 'zip-not-encrypted', copy: copy.id, where: part.label, size: part.content.length, detail: problems.slice(0, 5).join('; ') });
      }
    }
  }
  return result;
}
