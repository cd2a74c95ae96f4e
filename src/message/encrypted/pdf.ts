import { SAMPLE, compressible } from './ciphertext.js';
import { Malformed, falseIfMalformed } from './malformed.js';
import zlib from 'node:zlib';
import { createCipheriv, createHash } from 'node:crypto';

class Name {
  constructor(readonly name: string) {}
}
class Ref {
  constructor(
    readonly num: number,
    readonly gen: number,
  ) {}
}
type Value = number | boolean | null | Name | Ref | Buffer | Value[] | Dict;
type Dict = Map<string, Value>;

/** Byte classes of PDF syntax: 0 regular, 1 white space, 2 delimiter. */
const CLASS = new Uint8Array(256);
for (const c of [0, 9, 10, 12, 13, 32]) CLASS[c] = 1;
for (const c of '()<>[]{}/%') CLASS[c.charCodeAt(0)] = 2;
/** Characters of a cross-reference table between `xref` and `trailer`. */
const XREF_TABLE = new Uint8Array(256);
for (const c of '0123456789fn \t\r\n\f\0') XREF_TABLE[c.charCodeAt(0)] = 1;

/** \n \r \t \b \f in literal strings; any other escaped character stands for itself. */
const ESCAPES: Record<number, number> = { 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x66: 0x0c };
/** Nesting deeper than this is not a real Encrypt or trailer dictionary. */
const MAX_DEPTH = 32;
/** An Encrypt dictionary is a few hundred bytes; this bounds the work per definition. */
const MAX_ENCRYPT_DICT = 64 * 1024;
/** Real files define the Encrypt object once, maybe again in an update. */
const MAX_DEFINITIONS = 100;

const has = (buf: Buffer, at: number, s: string) => at >= 0 && at + s.length <= buf.length && buf.toString('latin1', at, at + s.length) === s;

/** A recursive-descent reader of PDF objects (ISO 32000-1 §7.3), within [pos, end). */
class Parser {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly end = buf.length,
  ) {}

  /** Skips white space and comments. */
  skip(): void {
    while (this.pos < this.end) {
      const c = this.buf[this.pos]!;
      if (CLASS[c] === 1) this.pos++;
      else if (c === 0x25) while (this.pos < this.end && this.buf[this.pos] !== 10 && this.buf[this.pos] !== 13) this.pos++;
      else break;
    }
  }

  /** The run of regular characters at the position (after white space). */
  token(): string {
    this.skip();
    const start = this.pos;
    while (this.pos < this.end && CLASS[this.buf[this.pos]!] === 0) this.pos++;
    return this.buf.toString('latin1', start, this.pos);
  }

  integer(): number {
    const t = this.token();
    if (!/^\d{1,15}$/.test(t)) throw new Malformed();
    return Number(t);
  }

  keyword(word: string): void {
    if (this.token() !== word) throw new Malformed();
  }

  value(depth = 0): Value {
    if (depth > MAX_DEPTH) throw new Malformed();
    this.skip();
    if (this.pos >= this.end) throw new Malformed();
    const c = this.buf[this.pos]!;
    if (c === 0x3c && this.buf[this.pos + 1] === 0x3c) return this.dict(depth);
    if (c === 0x3c) return this.hex();
    if (c === 0x28) return this.literal();
    if (c === 0x2f) return this.name();
    if (c === 0x5b) {
      this.pos++;
      const items: Value[] = [];
      for (this.skip(); this.buf[this.pos] !== 0x5d; this.skip()) items.push(this.value(depth + 1));
      this.pos++;
      return items;
    }
    const t = this.token();
    if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(t)) {
      // `n g R` is a reference: look two tokens ahead
      if (/^\d+$/.test(t)) {
        const save = this.pos;
        const gen = this.token();
        if (/^\d+$/.test(gen) && this.token() === 'R') return new Ref(Number(t), Number(gen));
        this.pos = save;
      }
      return Number(t);
    }
    if (t === 'true' || t === 'false') return t === 'true';
    if (t === 'null') return null;
    throw new Malformed();
  }

  dict(depth: number): Dict {
    this.pos += 2;
    const d: Dict = new Map();
    for (this.skip(); !has(this.buf, this.pos, '>>'); this.skip()) {
      if (this.pos >= this.end || this.buf[this.pos] !== 0x2f) throw new Malformed();
      const key = this.name().name;
      d.set(key, this.value(depth + 1));
    }
    this.pos += 2;
    return d;
  }

  name(): Name {
    this.pos++;
    const start = this.pos;
    while (this.pos < this.end && CLASS[this.buf[this.pos]!] === 0) this.pos++;
    const raw = this.buf.toString('latin1', start, this.pos);
    return new Name(raw.replace(/#([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))));
  }

  /** `<hex>`: white space ignored, a missing last digit is 0. */
  hex(): Buffer {
    const close = this.buf.subarray(0, this.end).indexOf(0x3e, this.pos);
    if (close < 0) throw new Malformed();
    const digits = this.buf.toString('latin1', this.pos + 1, close).replace(/[\0\t\n\f\r ]/g, '');
    if (!/^[0-9a-fA-F]*$/.test(digits)) throw new Malformed();
    this.pos = close + 1;
    return Buffer.from(digits.length % 2 ? digits + '0' : digits, 'hex');
  }

  /** `(literal)`: balanced parentheses, backslash escapes, end-of-line markers read as LF (§7.3.4.2). */
  literal(): Buffer {
    const b = this.buf;
    let close = this.pos + 1;
    for (let depth = 1; ; close++) {
      if (close >= this.end) throw new Malformed();
      const c = b[close];
      if (c === 0x5c) close++;
      else if (c === 0x28) depth++;
      else if (c === 0x29 && --depth === 0) break;
    }
    const out = Buffer.alloc(close - this.pos);
    let n = 0;
    for (let i = this.pos + 1; i < close; ) {
      const c = b[i++]!;
      if (c === 0x0d) {
        out[n++] = 0x0a;
        if (b[i] === 0x0a) i++;
      } else if (c !== 0x5c) {
        out[n++] = c;
      } else {
        const d = b[i++]!;
        if (d >= 0x30 && d <= 0x37) {
          let v = d - 0x30;
          for (let k = 0; k < 2 && i < close && b[i]! >= 0x30 && b[i]! <= 0x37; k++) v = v * 8 + b[i++]! - 0x30;
          out[n++] = v & 0xff;
        } else if (d === 0x0d) {
          if (b[i] === 0x0a) i++; // a backslash before an end of line continues the string
        } else if (d !== 0x0a) {
          out[n++] = ESCAPES[d] ?? d;
        }
      }
    }
    this.pos = close + 1;
    return out.subarray(0, n);
  }
}

const int = (v: Value | undefined): number => {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Malformed();
  return v;
};
const str = (v: Value | undefined): Buffer => {
  if (!Buffer.isBuffer(v)) throw new Malformed();
  return v;
};
const nameOf = (v: Value | undefined): string | undefined => (v instanceof Name ? v.name : undefined);
const dictOf = (v: Value | undefined): Dict => {
  if (!(v instanceof Map)) throw new Malformed();
  return v;
};

/**
 * A PDF that needs a password to open: the trailer's Encrypt dictionary uses the standard
 * security handler and the empty user password does not validate. (A PDF whose owner password
 * only restricts printing or editing opens without one, so it is not protected.)
 */
export function isEncryptedPdf(buf: Buffer): boolean {
  const header = buf.subarray(0, 1024).indexOf('%PDF-');
  if (header < 0) return false;
  return falseIfMalformed(() => {
    const trailer = findTrailer(buf, header);
    const encrypt = trailer?.get('Encrypt');
    const ids = trailer?.get('ID');
    const id = Array.isArray(ids) && Buffer.isBuffer(ids[0]) ? ids[0] : undefined;
    const dicts = encrypt instanceof Map ? [encrypt] : encrypt instanceof Ref ? definitions(buf, encrypt) : [];
    // Readers take the last definition; should several exist, all must agree.
    return dicts.length > 0 && dicts.every((d) => needsUserPassword(d, id)) && !clearStream(buf);
  });
}

/** Streams looked at, at most: enough to catch a clear document under a borrowed Encrypt dictionary. */
const MAX_STREAMS = 200;

/**
 * A stream whose data is readable without the password — it inflates as zlib, or it compresses —
 * in a PDF that claims to be encrypted: someone put an Encrypt dictionary on a clear document.
 * Cross-reference streams are never encrypted, metadata may be left clear: both are skipped.
 */
function clearStream(buf: Buffer): boolean {
  let at = buf.indexOf('stream');
  for (let n = 0; at >= 0 && n < MAX_STREAMS; n++, at = buf.indexOf('stream', at + 6)) {
    if (buf.toString('latin1', at - 3, at) === 'end') continue;
    let start = at + 6;
    if (buf[start] === 0x0d) start++;
    if (buf[start] !== 0x0a) continue;
    start++;
    const end = buf.indexOf('endstream', start);
    if (end < 0) break;
    const dict = buf.toString('latin1', Math.max(0, buf.lastIndexOf('obj', at)), at);
    if (/\/Type\s*\/(XRef|Metadata)\b/.test(dict)) continue;
    const data = buf.subarray(start, end);
    if (compressible(data) || (data[0] === 0x78 && zlibInflates(data))) return true;
    at = end;
  }
  return false;
}

/** Whether data is a zlib stream that yields output (ciphertext fails its header or its first block). */
function zlibInflates(data: Buffer): boolean {
  try {
    return zlib.inflateSync(data.subarray(0, SAMPLE), { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: 1 << 20 }).length > 0;
  } catch (e) {
    return (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
  }
}

/**
 * The trailer dictionary a reader uses: `startxref` (its last occurrence) points at the last
 * cross-reference section, either a table followed by `trailer << … >>` or a cross-reference
 * stream object (PDF 1.5) whose dictionary is the trailer. Offsets are tried as they are and
 * from the `%PDF-` header, as readers do for files with bytes before it.
 */
function findTrailer(buf: Buffer, header: number): Dict | undefined {
  const sx = buf.lastIndexOf('startxref');
  if (sx < 0) return undefined;
  const offset = new Parser(buf, sx + 9).integer();
  for (const at of new Set([offset, offset + header])) {
    try {
      const trailer = trailerAt(buf, at, sx);
      if (trailer) return trailer;
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
    }
  }
  return undefined;
}

function trailerAt(buf: Buffer, at: number, sx: number): Dict | undefined {
  if (at >= sx) return undefined;
  if (has(buf, at, 'xref')) {
    let i = at + 4;
    while (i < sx && XREF_TABLE[buf[i]!]) i++;
    if (!has(buf, i, 'trailer')) return undefined;
    const p = new Parser(buf, i + 7, sx);
    p.skip();
    return has(buf, p.pos, '<<') ? dictOf(p.value()) : undefined;
  }
  const p = new Parser(buf, at, sx);
  p.integer();
  p.integer();
  p.keyword('obj');
  p.skip();
  if (!has(buf, p.pos, '<<')) return undefined;
  const d = dictOf(p.value());
  return nameOf(d.get('Type')) === 'XRef' ? d : undefined;
}

/** Every `num gen obj << … >> endobj` definition of the referenced object. */
function definitions(buf: Buffer, ref: Ref): Dict[] {
  if (!Number.isSafeInteger(ref.num) || !Number.isSafeInteger(ref.gen)) throw new Malformed();
  const text = buf.toString('latin1');
  const re = new RegExp(`(?<!\\d)${ref.num}[\\0\\t\\n\\f\\r ]+${ref.gen}[\\0\\t\\n\\f\\r ]+obj`, 'g');
  const found: Dict[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const after = m.index + m[0].length;
    if (after < buf.length && CLASS[buf[after]!] === 0) continue; // "objx": not the keyword
    if (found.length === MAX_DEFINITIONS) throw new Malformed();
    const p = new Parser(buf, after, Math.min(buf.length, after + MAX_ENCRYPT_DICT));
    found.push(dictOf(p.value()));
    p.keyword('endobj');
  }
  return found;
}

/** The padding string of Algorithm 2, which is also the empty password padded to 32 bytes. */
const PAD = Buffer.from('28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a', 'hex');

/**
 * Whether the empty user password fails to validate (ISO 32000-1 §7.6.3.3 Algorithms 2, 4, 5, 6
 * for R 2–4; ISO 32000-2 §7.6.4.4 Algorithms 2.A, 2.B, 11 for R 5–6). Throws Malformed when the
 * dictionary is not one a reader could use.
 */
function needsUserPassword(d: Dict, id: Buffer | undefined): boolean {
  if (nameOf(d.get('Filter')) !== 'Standard') throw new Malformed();
  const r = int(d.get('R'));
  const v = int(d.get('V') ?? 0);
  const u = str(d.get('U'));
  if (r === 5 || r === 6) {
    if (v !== 5 || u.length < 48) throw new Malformed();
    cryptFilter(d);
    // U = hash (32 bytes) ‖ validation salt (8) ‖ key salt (8)
    const salt = u.subarray(32, 40);
    const hash = r === 5 ? createHash('sha256').update(salt).digest() : hash2B(salt);
    return !hash.equals(u.subarray(0, 32));
  }
  const o = str(d.get('O'));
  if (r < 2 || r > 4 || ![1, 2, 4].includes(v) || o.length < 32 || u.length < 32 || !id) throw new Malformed();
  const filter = v === 4 ? cryptFilter(d) : undefined;

  // Algorithm 2: the file key from the (empty) password
  let bits = r === 2 ? 40 : (d.get('Length') ?? (v === 4 ? (filter?.get('Length') ?? 128) : 40));
  if (typeof bits === 'number' && bits < 40) bits *= 8; // crypt filters often give bytes, not bits
  const n = int(bits) / 8;
  if (!Number.isInteger(n) || n < 5 || n > 16) throw new Malformed();
  const p = Buffer.alloc(4);
  p.writeUInt32LE(int(d.get('P')) >>> 0);
  const md5 = createHash('md5').update(PAD).update(o.subarray(0, 32)).update(p).update(id);
  if (r === 4 && d.get('EncryptMetadata') === false) md5.update(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  let key: Buffer = md5.digest();
  if (r >= 3) for (let i = 0; i < 50; i++) key = createHash('md5').update(key.subarray(0, n)).digest();
  key = key.subarray(0, n);

  // Algorithm 4 (R 2) and 5 (R 3, 4): what U must be for that key
  if (r === 2) return !rc4(key, PAD).equals(u.subarray(0, 32));
  let x: Buffer = createHash('md5').update(PAD).update(id).digest();
  for (let i = 0; i < 20; i++) x = rc4(key.map((b) => b ^ i), x);
  return !x.equals(u.subarray(0, 16));
}

/** The crypt filter for streams (V 4, 5): it must really encrypt (not Identity or None). */
function cryptFilter(d: Dict): Dict {
  const name = nameOf(d.get('StmF')) ?? 'Identity';
  const filter = dictOf(dictOf(d.get('CF')).get(name));
  if (!['V2', 'AESV2', 'AESV3'].includes(nameOf(filter.get('CFM')) ?? '')) throw new Malformed();
  return filter;
}

/** Algorithm 2.B (ISO 32000-2) for the empty password and no user key: SHA-256/384/512 and AES-128-CBC rounds. */
function hash2B(salt: Buffer): Buffer {
  let k = createHash('sha256').update(salt).digest();
  let e = Buffer.alloc(0);
  for (let round = 0; round < 64 || e[e.length - 1]! > round - 32; round++) {
    // K1 = 64 × (password ‖ K ‖ user key), both empty here
    const k1 = Buffer.concat(Array.from({ length: 64 }, () => k));
    const aes = createCipheriv('aes-128-cbc', k.subarray(0, 16), k.subarray(16, 32)).setAutoPadding(false);
    e = Buffer.concat([aes.update(k1), aes.final()]);
    // the first 16 bytes as a big-endian number mod 3 is their sum mod 3, as 256 ≡ 1 (mod 3)
    let sum = 0;
    for (let i = 0; i < 16; i++) sum += e[i]!;
    k = createHash(['sha256', 'sha384', 'sha512'][sum % 3]!).update(e).digest();
  }
  return k.subarray(0, 32);
}

/** RC4 (OpenSSL 3 keeps it in the legacy provider, so it is here). */
function rc4(key: Uint8Array, data: Uint8Array): Buffer {
  const s = new Uint8Array(256).map((_, i) => i);
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = Buffer.alloc(data.length);
  for (let k = 0, i = 0, j = 0; k < data.length; k++) {
    i = (i + 1) & 0xff;
    j = (j + s[i]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out[k] = data[k]! ^ s[(s[i]! + s[j]!) & 0xff]!;
  }
  return out;
}
