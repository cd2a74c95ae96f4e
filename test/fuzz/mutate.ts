/**
 * Seeded mutations of a whole message (a latin1 string with CRLF lines). They work on the text
 * with a few regular expressions rather than on a parsed tree, so they apply as well to the
 * shared corpus's broken messages as to the hand-written cases. A mutation that finds nothing to
 * act on returns undefined and another one is drawn.
 */
import { binhex, pdf, quotedPrintable, uuencode, yencode } from './files.js';
import type { Rng } from './random.js';

type Mutation = (s: string, r: Rng) => string | undefined;

const CONTENT_HEADER = /^(Content-[A-Za-z-]+)[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*/gim;
const TYPE_OR_DISP = /^(Content-(?:Type|Disposition))[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*/gim;

function pickMatch(s: string, re: RegExp, r: Rng): RegExpExecArray | undefined {
  const all = [...s.matchAll(new RegExp(re.source, re.flags))] as RegExpExecArray[];
  return all.length ? r.pick(all) : undefined;
}

const splice = (s: string, start: number, end: number, insert: string) => s.slice(0, start) + insert + s.slice(end);
const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function boundaries(s: string): string[] {
  return [...new Set([...s.matchAll(/boundary[ \t]*=[ \t]*(?:"([^"\r\n]*)"|([^\s;"]+))/gi)].map((m) => m[1] ?? m[2]!))];
}

interface Line {
  start: number;
  end: number;
  close: boolean;
}

/** Delimiter lines of one boundary (start..end excludes the line break). */
function delimiters(s: string, b: string): Line[] {
  return [...s.matchAll(new RegExp(`^--${esc(b)}(--)?[ \\t]*(?=\\r?\\n|$)`, 'gm'))].map((m) => ({ start: m.index, end: m.index + m[0].length, close: m[1] !== undefined }));
}

interface PartRange {
  start: number;
  end: number;
  /** Where the body starts (after the blank line), or -1 when the part has no blank line. */
  body: number;
}

/** Every part between two delimiter lines of any declared boundary. */
function parts(s: string): PartRange[] {
  const out: PartRange[] = [];
  for (const b of boundaries(s)) {
    const lines = delimiters(s, b);
    for (let i = 0; i + 1 < lines.length; i++) {
      if (lines[i]!.close) continue;
      const start = s.startsWith('\r\n', lines[i]!.end) ? lines[i]!.end + 2 : lines[i]!.end + 1;
      const end = s.lastIndexOf('\r\n', lines[i + 1]!.start) === lines[i + 1]!.start - 2 ? lines[i + 1]!.start - 2 : lines[i + 1]!.start;
      if (end <= start) continue;
      const blank = s.slice(start, end).startsWith('\r\n') ? start : s.indexOf('\r\n\r\n', start);
      out.push({ start, end, body: blank >= 0 && blank < end ? (blank === start ? start + 2 : blank + 4) : -1 });
    }
  }
  return out;
}

function otherCase(x: string, r: Rng): string {
  return r.pick([x.toLowerCase(), x.toUpperCase(), [...x].map((ch) => (r.bool() ? ch.toUpperCase() : ch.toLowerCase())).join('')]);
}

/** A file to hide in a body, in one of the in-body encodings. */
function embeddedBlock(r: Rng, html: boolean): string {
  const content = r.bool() ? pdf(r) : r.bytes(r.range(60, 1500));
  const name = `${r.token(6)}.${r.pick(['pdf', 'bin', 'xlsx'])}`;
  if (html) return `<img src="data:${r.pick(['application/pdf', 'image/png', 'application/octet-stream'])};base64,${content.toString('base64')}">`;
  switch (r.int(4)) {
    case 0:
      return uuencode(name, content);
    case 1:
      return binhex(name, content);
    case 2:
      return yencode(name, content).toString('latin1');
    default:
      return `data:application/pdf;base64,${content.toString('base64')}`;
  }
}

function decodeBody(body: string, cte: string): Buffer {
  if (cte === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (cte === 'quoted-printable') return Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  return Buffer.from(body, 'latin1');
}

export const MUTATIONS: Record<string, Mutation> = {
  'dup-header'(s, r) {
    const m = pickMatch(s, CONTENT_HEADER, r);
    if (!m) return undefined;
    const name = m[1]!;
    const alt = /type/i.test(name)
      ? `${name}: ${r.pick(['application/octet-stream', 'text/plain', 'application/pdf; name="x.pdf"', 'multipart/mixed'])}`
      : /transfer/i.test(name)
        ? `${name}: ${r.pick(['7bit', 'base64', 'quoted-printable', '8bit'])}`
        : `${name}: ${r.pick(['inline', 'attachment; filename="x.pdf"', 'attachment'])}`;
    const copy = r.bool() ? m[0] : alt;
    return r.bool() ? splice(s, m.index + m[0].length, m.index + m[0].length, `\r\n${copy}`) : splice(s, m.index, m.index, `${copy}\r\n`);
  },
  'drop-header'(s, r) {
    const m = pickMatch(s, CONTENT_HEADER, r);
    return m ? splice(s, m.index, m.index + m[0].length + (s.startsWith('\r\n', m.index + m[0].length) ? 2 : 0), '') : undefined;
  },
  'header-name-case'(s, r) {
    const m = pickMatch(s, CONTENT_HEADER, r);
    return m ? splice(s, m.index, m.index + m[1]!.length, otherCase(m[1]!, r)) : undefined;
  },
  'value-case'(s, r) {
    const m = pickMatch(s, TYPE_OR_DISP, r);
    if (!m) return undefined;
    const tokens = [...m[0].matchAll(/[a-z]+\/[a-z0-9.+-]+|\b[a-z][a-z0-9*-]*(?==)|(?<=boundary=")[^"]+/gi)];
    if (tokens.length === 0) return undefined;
    const t = r.pick(tokens);
    return splice(s, m.index + t.index, m.index + t.index + t[0].length, otherCase(t[0], r));
  },
  comments(s, r) {
    const m = pickMatch(s, TYPE_OR_DISP, r);
    if (!m) return undefined;
    const spots = [...m[0].matchAll(/:[ \t]*|;[ \t]*|[a-z]+\/[a-z0-9.+-]+|=/gi)].map((x) => x.index + x[0].length);
    const at = m.index + r.pick(spots);
    return splice(s, at, at, r.pick([` (${r.token(4)}) `, '(x)', ' \t ', ` (a "quoted) (nested (${r.token(3)})) `]));
  },
  semicolon(s, r) {
    const m = pickMatch(s, TYPE_OR_DISP, r);
    if (!m) return undefined;
    const semis = [...m[0].matchAll(/;/g)];
    if (semis.length === 0) return undefined;
    const at = m.index + r.pick(semis).index;
    return splice(s, at, at + 1, r.pick(['', ' ', ';;', '; ;']));
  },
  'boundary-quote'(s, r) {
    const m = pickMatch(s, /boundary[ \t]*=[ \t]*(?:"([^"\r\n]*)"|([^\s;"]+))/gi, r);
    if (!m) return undefined;
    const b = m[1] ?? m[2]!;
    const choices = [m[1] !== undefined ? `boundary=${b}` : `boundary="${b}"`, `boundary="${b} "`, `boundary = "${b}"`, `boundary="${b}"; boundary="${b}x"`];
    return splice(s, m.index, m.index + m[0].length, r.pick(choices));
  },
  'delimiter-variant'(s, r) {
    const bs = boundaries(s);
    if (bs.length === 0) return undefined;
    const b = r.pick(bs);
    const lines = delimiters(s, b);
    if (lines.length === 0) return undefined;
    const l = r.pick(lines);
    const variants = [`--${b}${l.close ? '--' : ''}${r.pick([' ', '\t', '  \t', ' junk'])}`, l.close ? `--${b}` : `--${b}--`, `----${b}${l.close ? '--' : ''}`, `--${b}-`, `--${b}--${r.token(3)}`];
    return splice(s, l.start, l.end, r.pick(variants));
  },
  'cut-close'(s, r) {
    const closes = boundaries(s).flatMap((b) => delimiters(s, b).filter((l) => l.close));
    if (closes.length === 0) return undefined;
    const l = r.pick(closes);
    return r.bool() ? splice(s, l.start, Math.min(s.length, l.end + 2), '') : s.slice(0, l.start);
  },
  'header-blank'(s, r) {
    const m = pickMatch(s, CONTENT_HEADER, r);
    return m ? splice(s, m.index, m.index, '\r\n') : undefined;
  },
  'header-junk'(s, r) {
    const m = pickMatch(s, CONTENT_HEADER, r);
    return m ? splice(s, m.index, m.index, `${r.pick([`${r.token(5)} ${r.token(4)}`, r.token(8), '\x83e\x83X\x83g', `${r.token(4)} : x`])}\r\n`) : undefined;
  },
  'line-endings'(s, r) {
    if (r.bool()) {
      // a bare CR inside a header: SMTP turns it into a line break, splitting the header in two
      const m = pickMatch(s, TYPE_OR_DISP, r);
      const spaces = m ? [...m[0].matchAll(/[ ;]/g)] : [];
      if (!m || spaces.length === 0) return undefined;
      const at = m.index + r.pick(spaces).index + 1;
      return splice(s, at, at, '\r');
    }
    // CRLF to LF over a span: SMTP clients turn bare LF back into CRLF, so this only matters
    // where the bytes travel as they are
    const a = r.int(s.length);
    const b = a + r.int(s.length - a + 1);
    return splice(s, a, b, s.slice(a, b).replace(/\r\n/g, '\n'));
  },
  fold(s, r) {
    const m = pickMatch(s, TYPE_OR_DISP, r);
    if (!m) return undefined;
    const colon = m[0].indexOf(':');
    const at = m.index + colon + 1 + r.int(m[0].length - colon);
    return splice(s, at, at, r.pick(['\r\n ', '\r\n\t', '\r\n  ']));
  },
  wrap(s, r) {
    const ps = parts(s);
    if (ps.length === 0) return undefined;
    const p = r.pick(ps);
    const w = `w${r.token(10)}`;
    const sub = r.pick(['mixed', 'related', 'alternative', 'mixed']);
    return splice(s, p.start, p.end, `Content-Type: multipart/${sub}; boundary="${w}"\r\n\r\n--${w}\r\n${s.slice(p.start, p.end)}\r\n--${w}--`);
  },
  'swap-type'(s, r) {
    const m = pickMatch(s, /^(Content-Type[ \t]*:[ \t]*)([a-z]+\/[a-z0-9.+-]+)/gim, r);
    if (!m || /^multipart\//i.test(m[2]!)) return undefined;
    const to = /^text\/plain$/i.test(m[2]!) ? r.pick(['text/html', 'application/octet-stream']) : r.pick(['text/plain', 'text/html', 'application/octet-stream']);
    return splice(s, m.index + m[1]!.length, m.index + m[0].length, to);
  },
  disposition(s, r) {
    switch (r.int(4)) {
      case 0: {
        const m = pickMatch(s, /^Content-Type[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*/gim, r);
        return m ? splice(s, m.index + m[0].length, m.index + m[0].length, `\r\nContent-Disposition: attachment${r.bool() ? `; filename="${r.token(6)}.txt"` : ''}`) : undefined;
      }
      case 1: {
        const m = pickMatch(s, /^Content-Disposition[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*\r?\n/gim, r);
        return m ? splice(s, m.index, m.index + m[0].length, '') : undefined;
      }
      case 2: {
        const m = pickMatch(s, TYPE_OR_DISP, r);
        return m ? splice(s, m.index + m[0].length, m.index + m[0].length, `; ${/type/i.test(m[1]!) ? 'name' : 'filename'}="${r.token(6)}.${r.pick(['pdf', 'txt', 'csv'])}"`) : undefined;
      }
      default: {
        const m = pickMatch(s, /;\s*(?:file)?name\*?[0-9]*\*?=(?:"[^"]*"|[^;\r\n]*)/gi, r);
        return m ? splice(s, m.index, m.index + m[0].length, '') : undefined;
      }
    }
  },
  cte(s, r) {
    const ps = parts(s).filter((p) => p.body > 0 && !/^content-type:[ \t]*multipart\//im.test(s.slice(p.start, p.body)));
    if (ps.length === 0) return undefined;
    const p = r.pick(ps);
    const head = s.slice(p.start, p.body);
    const cur = /^content-transfer-encoding[ \t]*:[ \t]*([^\s;]+)/im.exec(head)?.[1]?.toLowerCase() ?? '7bit';
    const to = r.pick(['base64', 'quoted-printable', '7bit', '8bit'].filter((x) => x !== cur));
    const content = decodeBody(s.slice(p.body, p.end), cur);
    const reencode = r.bool(0.6);
    const body = !reencode ? s.slice(p.body, p.end) : to === 'base64' ? content.toString('base64').replace(/.{76}/g, '$&\r\n') : to === 'quoted-printable' ? quotedPrintable(content, false) : content.toString('latin1');
    const newHead = /^content-transfer-encoding/im.test(head) ? head.replace(/^(content-transfer-encoding[ \t]*:[ \t]*)[^\s;]+/im, `$1${to}`) : head.replace(/\r\n\r\n$/, `\r\nContent-Transfer-Encoding: ${to}\r\n\r\n`);
    return splice(s, p.start, p.end, newHead + body);
  },
  embed(s, r) {
    const ps = parts(s).filter((p) => p.body > 0 && !/^content-transfer-encoding[ \t]*:[ \t]*(base64|quoted)/im.test(s.slice(p.start, p.body)));
    const texts = ps.filter((p) => /^content-type[ \t]*:[ \t]*text\/(plain|html)/im.test(s.slice(p.start, p.body)) || !/^content-type/im.test(s.slice(p.start, p.body)));
    if (texts.length === 0) {
      // no text part to hide it in: a non-multipart text message, or a new part
      const top = s.indexOf('\r\n\r\n');
      if (top < 0 || /^content-transfer-encoding[ \t]*:[ \t]*(base64|quoted)/im.test(s.slice(0, top)) || /^content-type[ \t]*:[ \t]*multipart/im.test(s.slice(0, top))) return undefined;
      return splice(s, top + 4, top + 4, `${embeddedBlock(r, /text\/html/i.test(s.slice(0, top)))}\r\n`);
    }
    const p = r.pick(texts);
    const html = /text\/html/i.test(s.slice(p.start, p.body));
    const at = r.pick([p.body, p.end]);
    return splice(s, at, at, `${at === p.end ? '\r\n' : ''}${embeddedBlock(r, html)}${at === p.body ? '\r\n' : ''}`);
  },
  truncate(s, r) {
    const min = Math.min(200, s.length >> 1);
    return s.slice(0, min + r.int(s.length - min));
  },
};

const NAMES = Object.keys(MUTATIONS);

/** Applies 1–3 mutations; returns the result and the names of those that applied. */
export function mutate(s: string, r: Rng): { raw: string; applied: string[] } {
  const applied: string[] = [];
  const want = r.range(1, 3);
  for (let tries = 0; applied.length < want && tries < 20; tries++) {
    const name = r.pick(NAMES);
    // truncation last, and at most once: later mutations would mostly miss what it cut
    if (name === 'truncate' && applied.length < want - 1) continue;
    const out = MUTATIONS[name]!(s, r);
    if (out === undefined || out === s) continue;
    s = out;
    applied.push(name);
  }
  return { raw: s, applied };
}
