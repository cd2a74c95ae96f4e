import iconv from 'iconv-lite';

/** How entry names are written: UTF-8 with general-purpose bit 11, or CP932 (Shift_JIS) without it. */
export type NameEncoding = 'utf8' | 'cp932';

/** The name used when nothing usable is left of an attachment's name. */
export const FALLBACK_NAME = 'attachment';

/** Windows' longest file name (UTF-16 code units in one path component). */
const MAX_NAME_UNITS = 255;
const MAX_EXTENSION_UNITS = 16;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// Bidirectional overrides and marks disguise extensions ("invoice\u202Efdp.exe" shows as "invoiceexe.pdf"); BOM, too.
const INVISIBLE = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
// Characters Windows does not allow in a file name; extraction would fail or rename them.
const WINDOWS_RESERVED = /[<>:"|?*]/g;
// Device names Windows will not create as files, with or without an extension.
const DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i;

/**
 * A safe ZIP entry name for an attachment's file name: Unicode NFC (macOS mailers send NFD),
 * the last path component only (no / or \ anywhere, so nothing extracts outside the target
 * folder), no control characters or bidi overrides, the characters Windows forbids (<>:"|?*)
 * replaced by "_", no leading/trailing white space, no trailing dots (Windows drops them), no
 * device names (CON, NUL, COM1…; prefixed with "_"), at most 255 UTF-16 units with the
 * extension kept. An empty or dots-only result becomes "attachment".
 */
export function sanitizeEntryName(raw: string): string {
  let name = raw.normalize('NFC').replace(CONTROL, '').replace(INVISIBLE, '');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  name = name.replace(WINDOWS_RESERVED, '_').trim().replace(/[.\s]+$/u, '');
  if (name === '' || /^\.+$/.test(name)) name = FALLBACK_NAME;
  if (DEVICE.test(name)) name = `_${name}`;
  return truncateName(name, MAX_NAME_UNITS);
}

/** Splits "report.final.pdf" into ["report.final", ".pdf"]; a leading dot is not an extension. */
function splitExtension(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || name.length - dot > MAX_EXTENSION_UNITS) return [name, ''];
  return [name.slice(0, dot), name.slice(dot)];
}

/** Shortens the stem (by whole code points) so the name fits in `max` UTF-16 units. */
function truncateName(name: string, max: number): string {
  if (name.length <= max) return name;
  const [stem, ext] = splitExtension(name);
  let out = '';
  for (const ch of stem) {
    if (out.length + ch.length + ext.length > max) break;
    out += ch;
  }
  return out + ext;
}

// JIS-style code points that CP932 has only as their Microsoft look-alikes (Macs and Unix
// mailers send the former: 〜 in "4月〜6月" is the usual case), plus ¥ and ‾, which Shift_JIS
// would write as 0x5C and 0x7E: 0x5C is a path separator to Windows.
const CP932_VARIANTS: Record<string, string> = {
  '\u301c': '\uff5e', // 〜 → ～
  '\u2016': '\u2225', // ‖ → ∥
  '\u2212': '\uff0d', // − → －
  '\u2014': '\u2015', // — → ―
  '\u00a2': '\uffe0', // ¢ → ￠
  '\u00a3': '\uffe1', // £ → ￡
  '\u00ac': '\uffe2', // ¬ → ￢
  '\u00a6': '\uffe4', // ¦ → ￤
  '\u00a5': '\uffe5', // ¥ → ￥
  '\u203e': '\uffe3', // ‾ → ￣
};

/** The character as CP932 can write it, or undefined. */
function cp932Char(ch: string): string | undefined {
  const fits = (s: string) => s !== '' && iconv.decode(iconv.encode(s, 'cp932'), 'cp932') === s;
  if (ch.length === 1 && ch.charCodeAt(0) < 0x80) return ch;
  const variant = CP932_VARIANTS[ch];
  if (variant) return variant;
  if (fits(ch)) return ch;
  const compat = ch.normalize('NFKC'); // ﬁ → fi, Ⅻ → XII
  if (compat !== ch && [...compat].every((c) => c.charCodeAt(0) < 0x80 || fits(c))) return compat;
  const base = ch.normalize('NFD').replace(/\p{M}+/gu, ''); // é → e
  if (base !== '' && base !== ch && fits(base)) return base;
  return undefined;
}

/**
 * The name as a ZIP tool will show it after writing it in this encoding, and its bytes. UTF-8
 * writes every name. CP932 writes each character CP932 has; others become their CP932
 * look-alike (〜 → ～, ¥ → ￥), their compatibility form (ﬁ → fi), their base letter (é → e),
 * or "_" (emoji, most non-Japanese scripts).
 */
export function encodeEntryName(name: string, encoding: NameEncoding): { name: string; bytes: Buffer } {
  if (encoding === 'utf8') return { name, bytes: Buffer.from(name, 'utf8') };
  let shown = '';
  for (const ch of name) shown += cp932Char(ch) ?? '_';
  shown = sanitizeEntryName(shown); // a fallback may have produced e.g. trailing dots
  return { name: shown, bytes: iconv.encode(shown, 'cp932') };
}

/**
 * Names of one archive: sanitised, encoded, and unique as Windows compares them (case-
 * insensitively): a second "a.txt" becomes "a (2).txt", then "a (3).txt".
 */
export class EntryNames {
  private readonly used = new Set<string>();

  constructor(private readonly encoding: NameEncoding) {}

  add(raw: string): { name: string; bytes: Buffer } {
    const first = encodeEntryName(sanitizeEntryName(raw), this.encoding);
    let candidate = first;
    const [stem, ext] = splitExtension(first.name);
    for (let n = 2; this.used.has(key(candidate.name)); n++) {
      const suffix = ` (${n})`;
      candidate = encodeEntryName(truncateName(stem, MAX_NAME_UNITS - suffix.length - ext.length) + suffix + ext, this.encoding);
    }
    this.used.add(key(candidate.name));
    return candidate;
  }
}

const key = (name: string) => name.normalize('NFC').toLowerCase();
