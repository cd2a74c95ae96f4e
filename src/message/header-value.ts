import { decodeText } from './charset.js';
import { decodeWords } from './words.js';

/** A structured header value (Content-Type, Content-Disposition) as the most tolerant clients read it. */
export interface HeaderValue {
  /** The leading token, lower-cased: `text/plain`, `attachment`; '' when there is none. */
  value: string;
  /** Parameters by lower-cased name: RFC 2231 (charset, continuations) and RFC 2047 decoded. */
  params: Record<string, string>;
  /** Parameters given more than once with different values (the first one is kept). */
  conflicting: string[];
}

/**
 * Reads `token; name=value; …` the way Thunderbird, Outlook and mailparser do rather than the
 * way RFC 2045 writes it: comments anywhere, a missing semicolon between parameters
 * (`attachment filename=x.csv`), spaces around `=`, unquoted values holding `=` or `/`, trailing
 * spaces, RFC 2231 continuations (`name*0*=`, `name*1=`) and RFC 2047 words in quoted values.
 * Never throws.
 */
export function parseHeaderValue(input: string): HeaderValue {
  const text = stripComments(input);
  const semi = firstUnquoted(text, ';');
  let head = (semi < 0 ? text : text.slice(0, semi)).trim();
  let rest = semi < 0 ? '' : text.slice(semi + 1);
  // `attachment filename=x.csv`: the first parameter glued to the value without a semicolon
  const glued = /^(\S+)\s+(?=[^\s=;"]+\s*=)/.exec(head);
  if (glued) {
    rest = `${head.slice(glued[0].length)};${rest}`;
    head = glued[1]!;
  }
  const value = head.replace(/\s*\/\s*/, '/').toLowerCase();
  const raw = new Map<string, string>();
  const conflicting = new Set<string>();
  for (const [name, v] of parameters(rest)) {
    const seen = raw.get(name);
    if (seen === undefined) raw.set(name, v);
    else if (seen !== v) conflicting.add(name.replace(/\*.*$/, ''));
  }
  return { value, params: assemble(raw), conflicting: [...conflicting] };
}

/** Removes (comments), which may nest and hold quoted pairs, outside quoted strings. */
function stripComments(s: string): string {
  if (!s.includes('(')) return s;
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && (quoted || depth > 0)) {
      if (depth === 0) out += c + (s[i + 1] ?? '');
      i++;
    } else if (depth === 0 && c === '"') {
      quoted = !quoted;
      out += c;
    } else if (!quoted && c === '(') {
      depth++;
    } else if (!quoted && c === ')' && depth > 0) {
      depth--;
      if (depth === 0) out += ' ';
    } else if (depth === 0) {
      out += c;
    }
  }
  return out;
}

function firstUnquoted(s: string, ch: string): number {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ch && !quoted) return i;
  }
  return -1;
}

/**
 * name=value pairs in order, in one pass. A segment without `=` is skipped; an unquoted value
 * runs to the next `;`, or to a second `name=` glued on without a semicolon (`name=a.pdf size=12`).
 */
function* parameters(rest: string): Generator<[string, string]> {
  const n = rest.length;
  let i = 0;
  while (i < n) {
    while (i < n && (rest[i] === ';' || rest[i] === ' ' || rest[i] === '\t')) i++;
    const nameStart = i;
    while (i < n && rest[i] !== '=' && rest[i] !== ';') i++;
    if (i >= n || rest[i] === ';') continue; // no value: skipped
    const name = rest.slice(nameStart, i).trim().toLowerCase();
    i++;
    while (i < n && (rest[i] === ' ' || rest[i] === '\t')) i++;
    let value = '';
    if (rest[i] === '"') {
      for (i++; i < n && rest[i] !== '"'; i++) {
        if (rest[i] === '\\' && i + 1 < n) i++;
        value += rest[i];
      }
      // text after the closing quote up to the next ; is dropped, as clients do
      while (i < n && rest[i] !== ';') i++;
    } else {
      const start = i;
      let end = i;
      while (i < n && rest[i] !== ';') {
        if ((rest[i] === ' ' || rest[i] === '\t') && GLUED.test(rest.slice(i, i + 80))) break;
        i++;
        if (rest[i - 1] !== ' ' && rest[i - 1] !== '\t') end = i;
      }
      value = rest.slice(start, end);
    }
    if (/^[\x21-\x7e]+$/.test(name)) yield [name, value];
  }
}

// whitespace, then a parameter name and `=`: the start of a parameter written without its semicolon
const GLUED = /^[ \t]+[A-Za-z0-9!#$%&'*+.^_`|~-]+[ \t]*=/;

const WORD_PARAMS = new Set(['name', 'filename']);

/** Joins RFC 2231 continuations and decodes charset'lang'%XX values and RFC 2047 words. */
function assemble(raw: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const sections = new Map<string, { index: number; value: string; encoded: boolean }[]>();
  for (const [key, value] of raw) {
    // name* (extended), name*0 (continued), name*0* (continued and extended)
    const m = /^([^*]+)\*(\d*)(\*?)$/.exec(key);
    if (!m) {
      // RFC 2047 words are read in names only (as clients do); a boundary is taken as written
      out[key] = value.includes('=?') && WORD_PARAMS.has(key) ? decodeWords(value) : value;
      continue;
    }
    const base = m[1]!;
    const index = m[2] === '' ? 0 : Number(m[2]);
    const encoded = m[2] === '' || m[3] === '*';
    const list = sections.get(base) ?? [];
    list.push({ index, value, encoded });
    sections.set(base, list);
  }
  for (const [base, list] of sections) {
    list.sort((a, b) => a.index - b.index);
    let charset = 'utf-8';
    const bytes: number[] = [];
    list.forEach((s, i) => {
      let v = s.value;
      if (s.encoded && i === 0) {
        const m = /^([^']*)'[^']*'(.*)$/s.exec(v);
        if (m) {
          charset = m[1] || 'utf-8';
          v = m[2]!;
        }
      }
      if (s.encoded) {
        for (let k = 0; k < v.length; k++) {
          if (v[k] === '%' && /^[0-9a-f]{2}$/i.test(v.slice(k + 1, k + 3))) {
            bytes.push(parseInt(v.slice(k + 1, k + 3), 16));
            k += 2;
          } else bytes.push(...Buffer.from(v[k]!, 'utf8'));
        }
      } else bytes.push(...Buffer.from(v, 'utf8'));
    });
    // an RFC 2231 value wins over a plain one of the same name (it is the one clients show)
    out[base] = decodeText(Buffer.from(bytes), charset);
  }
  return out;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The same value read strictly by RFC 2045 — type/subtype a bare token pair, parameters
 * `token=token` or `token="quoted"`, nothing else — as Python's email package reads it. Where this
 * and parseHeaderValue disagree, mail clients disagree too. Unreadable parts are left out.
 */
export function parseStrictHeaderValue(input: string): { value: string; params: Record<string, string> } {
  const pieces: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ';' && !quoted) {
      pieces.push(input.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(input.slice(start));
  const head = pieces[0]!.trim().toLowerCase();
  const slash = head.indexOf('/');
  const value = slash > 0 && TOKEN.test(head.slice(0, slash)) && TOKEN.test(head.slice(slash + 1)) ? head : '';
  const params: Record<string, string> = {};
  for (const piece of pieces.slice(1)) {
    const m = /^\s*([^=\s]+)\s*=\s*(.*?)\s*$/s.exec(piece);
    if (!m || !TOKEN.test(m[1]!)) continue;
    const raw = m[2]!;
    const name = m[1]!.toLowerCase();
    if (name in params) continue;
    if (/^"(?:[^"\\]|\\.)*"$/s.test(raw)) params[name] = raw.slice(1, -1).replace(/\\(.)/gs, '$1');
    else if (TOKEN.test(raw)) params[name] = raw;
  }
  return { value, params };
}
