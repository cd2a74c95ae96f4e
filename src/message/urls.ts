import { parse as parseDomain } from 'tldts';

/**
 * Links in message bodies: URLs found in plain text and in HTML (attributes and visible text),
 * and the targets hidden behind link-protection wrappers and redirectors.
 *
 * Everything here is a hand-written single pass (or a regex with bounded, non-nested
 * quantifiers), so the cost is linear in the input: a crafted 1 MB body cannot stall the gateway.
 *
 * Scheme-less forms found in text (`we.tl/t-abc`, `www.example.com`) and the 2ch-style
 * "h-less" forms (`ttps://…`) are returned as written; `hostOf` and `unwrapUrl` read them as http(s).
 */

/** How many wrappers deep unwrapUrl follows (safelinks around urldefense around a redirect…). */
export const MAX_UNWRAP_DEPTH = 5;

// ---------------------------------------------------------------------------------------------
// Character classes

function isAsciiLetter(c: number): boolean {
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x7a;
}

function isAsciiAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || isAsciiLetter(c);
}

/** Host characters of a scheme-less host in text: letters, digits, dot and hyphen (ASCII only). */
function isBareHostChar(c: number): boolean {
  return isAsciiAlnum(c) || c === 0x2e || c === 0x2d;
}

/**
 * Characters that end a URL in text: whitespace and controls, quotes, angle brackets, and the
 * Japanese / full-width punctuation that mail text puts right against a URL (「」『』（）、。＜＞,
 * the full-width space, “quotes”, …).
 */
function isDelimiter(c: number): boolean {
  if (c <= 0x20 || c === 0x7f) return true;
  if (c < 0x80) return c === 0x22 || c === 0x27 || c === 0x3c || c === 0x3e || c === 0x60; // " ' < > `
  return (
    c <= 0xa0 || // C1 controls, no-break space
    c === 0xab ||
    c === 0xbb || // « »
    (c >= 0x2000 && c <= 0x206f) || // general punctuation: spaces, dashes, quotes, …, separators
    (c >= 0x3000 && c <= 0x303f) || // CJK symbols and punctuation: 　、。「」『』【】〈〉《》〔〕 …
    (c >= 0xfe30 && c <= 0xfe4f) || // CJK compatibility forms
    (c >= 0xff01 && c <= 0xff0f) || // ！＂＃＄％＆＇（）＊＋，－．／
    (c >= 0xff1a && c <= 0xff20) || // ：；＜＝＞？＠
    (c >= 0xff3b && c <= 0xff40) || // ［＼］＾＿｀
    (c >= 0xff5b && c <= 0xff65) || // ｛｜｝～｟｠｡｢｣､･
    c === 0xfeff
  );
}

/**
 * Where a scheme-less host may start: after the start of text or a character that separates
 * words. Not after `@` (that is an e-mail address), `/`, `_`, `%`, … (that is inside something).
 */
function isBoundary(c: number): boolean {
  if (c >= 0x80 || isDelimiter(c)) return true;
  switch (c) {
    case 0x28: // (
    case 0x5b: // [
    case 0x7b: // {
    case 0x3a: // :
    case 0x3b: // ;
    case 0x2c: // ,
    case 0x3d: // =
    case 0x2a: // *
    case 0x7c: // |
    case 0x21: // !
      return true;
    default:
      return false;
  }
}

/** Punctuation that ends a sentence rather than a URL when it is a URL's last character. */
function isTrailingPunct(c: number): boolean {
  return c === 0x2e || c === 0x2c || c === 0x3a || c === 0x3b || c === 0x21 || c === 0x3f || c === 0x2a; // . , : ; ! ? *
}

/** Zero-width and soft-hyphen characters: invisible, and a way to break a URL apart; removed before scanning. */
const INVISIBLE = /[\u00ad\u200b-\u200d\u2060\ufeff]/;
const INVISIBLE_G = /[\u00ad\u200b-\u200d\u2060\ufeff]/g;

// ---------------------------------------------------------------------------------------------
// Plain text

/**
 * Length of the scheme at `i` including "://" when it is http, https or the h-less ttp / ttps
 * (case-insensitive), else 0.
 */
function schemeLength(text: string, i: number): number {
  let k = i;
  const first = text.charCodeAt(k) | 0x20;
  if (first === 0x68) k++; // h
  if ((text.charCodeAt(k) | 0x20) !== 0x74 || (text.charCodeAt(k + 1) | 0x20) !== 0x74 || (text.charCodeAt(k + 2) | 0x20) !== 0x70) return 0;
  k += 3;
  if ((text.charCodeAt(k) | 0x20) === 0x73) k++; // s
  return text.startsWith('://', k) ? k + 3 - i : 0;
}

/** Scans the path, query and fragment from `k`: printable ASCII up to a delimiter. Non-ASCII ends it. */
function scanPath(text: string, k: number): number {
  const n = text.length;
  while (k < n) {
    const c = text.charCodeAt(k);
    if (c >= 0x80 || isDelimiter(c)) break;
    k++;
  }
  return k;
}

/**
 * Scans the authority of a URL from `k` (just after "://"), then its path. An IDN host may hold
 * non-ASCII letters, but non-ASCII right after ASCII in the same label ends the URL:
 * `https://gigafile.nuからダウンロード` is the host gigafile.nu followed by Japanese text.
 */
function scanAfterScheme(text: string, k: number): number {
  const n = text.length;
  let labelStart = true;
  let labelAscii = false;
  while (k < n) {
    const c = text.charCodeAt(k);
    if (c === 0x2f || c === 0x3f || c === 0x23) return scanPath(text, k); // / ? #
    if (isDelimiter(c)) return k;
    if (c < 0x80) {
      if (c === 0x2e || c === 0x3a || c === 0x40) {
        labelStart = true; // . : @ start a new label (host label, port, or host after userinfo)
      } else if (labelStart) {
        labelStart = false;
        labelAscii = true;
      }
    } else {
      if (!labelStart && labelAscii) return k;
      labelStart = false;
      labelAscii = false;
    }
    k++;
  }
  return k;
}

/** Drops sentence punctuation and unbalanced closing brackets from the end of text[start, end). */
function trimEnd(text: string, start: number, end: number): number {
  let open = 0;
  let close = 0;
  let openSq = 0;
  let closeSq = 0;
  for (let k = start; k < end; k++) {
    const c = text.charCodeAt(k);
    if (c === 0x28) open++;
    else if (c === 0x29) close++;
    else if (c === 0x5b) openSq++;
    else if (c === 0x5d) closeSq++;
  }
  while (end > start) {
    const c = text.charCodeAt(end - 1);
    if (isTrailingPunct(c) || c === 0x7d) {
      end--;
    } else if (c === 0x29 && close > open) {
      close--;
      end--;
    } else if (c === 0x5d && closeSq > openSq) {
      closeSq--;
      end--;
    } else {
      break;
    }
  }
  return end;
}

/** True for a host that ends in a real (ICANN) top-level domain and is more than a bare suffix. */
function plausibleHost(host: string): boolean {
  if (host.length > 253 || host.length < 4) return false;
  const labels = host.split('.');
  if (labels.length < 2) return false;
  for (const label of labels) {
    if (label === '' || label.length > 63 || label.startsWith('-') || label.endsWith('-')) return false;
  }
  const tld = labels[labels.length - 1]!;
  if (!/^(?:[a-z]{2,24}|xn--[a-z0-9-]{1,59})$/i.test(tld)) return false;
  const r = parseDomain(host, { extractHostname: false, allowPrivateDomains: false });
  return r.isIcann === true && r.domain !== null;
}

/**
 * A scheme-less URL starting at `i` (a boundary followed by an ASCII letter or digit): a host
 * followed by "/" (`we.tl/t-abc`, `97.gigafile.nu/1234-abcd`), or a `www.` host with or without
 * a path. Returns the end, or -1.
 */
function scanBare(text: string, i: number): number {
  const n = text.length;
  let j = i;
  while (j < n && isBareHostChar(text.charCodeAt(j))) j++;
  let hostEnd = j;
  while (hostEnd > i && (text.charCodeAt(hostEnd - 1) === 0x2e || text.charCodeAt(hostEnd - 1) === 0x2d)) hostEnd--;
  if (hostEnd - i < 4 || hostEnd - i > 253) return -1;
  const host = text.slice(i, hostEnd);
  const next = text.charCodeAt(hostEnd);
  const trimmed = hostEnd < j;
  if (!trimmed && next === 0x2f) {
    return plausibleHost(host) ? scanPath(text, hostEnd) : -1;
  }
  if (host.length > 4 && /^www\./i.test(host) && plausibleHost(host)) {
    return !trimmed && (next === 0x3f || next === 0x23) ? scanPath(text, hostEnd) : hostEnd;
  }
  return -1;
}

/**
 * URLs in plain text, in order of appearance, without duplicates: http(s) URLs, `www.` hosts,
 * scheme-less `host.tld/path` forms and h-less `ttps://` forms. A URL ends at whitespace,
 * quotes, `<>`, Japanese punctuation and brackets, or (in the path) any non-ASCII character;
 * trailing `.,:;!?` and unbalanced `)` `]` are left to the sentence. E-mail addresses are not URLs.
 */
export function extractUrls(text: string): string[] {
  if (INVISIBLE.test(text)) text = text.replace(INVISIBLE_G, '');
  const out = new Set<string>();
  const n = text.length;
  let prev = 0x20; // the character before i, as if the text started after a space
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if ((c | 0x20) === 0x68 || (c | 0x20) === 0x74) {
      const s = isAsciiAlnum(prev) ? 0 : schemeLength(text, i);
      if (s > 0) {
        const end = trimEnd(text, i, scanAfterScheme(text, i + s));
        if (end > i + s) {
          out.add(text.slice(i, end));
          i = end;
          prev = text.charCodeAt(end - 1);
          continue;
        }
      }
    }
    if (isAsciiAlnum(c) && isBoundary(prev)) {
      // A failed scan covers a run of host characters, none of which is a boundary, so the
      // next scan starts beyond it: every character is scanned at most twice.
      const raw = scanBare(text, i);
      const end = raw < 0 ? -1 : trimEnd(text, i, raw);
      if (end > i) {
        out.add(text.slice(i, end));
        i = end;
        prev = text.charCodeAt(end - 1);
        continue;
      }
    }
    prev = c;
    i++;
  }
  return [...out];
}

// ---------------------------------------------------------------------------------------------
// HTML

const NAMED_ENTITIES: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', shy: '\u00ad',
  ZeroWidthSpace: '\u200b', zwnj: '\u200c', zwj: '\u200d', NoBreak: '\u2060',
  ensp: '\u2002', emsp: '\u2003', thinsp: '\u2009', hellip: '\u2026', mdash: '\u2014', ndash: '\u2013',
  lsquo: '\u2018', rsquo: '\u2019', ldquo: '\u201c', rdquo: '\u201d', laquo: '\u00ab', raquo: '\u00bb',
  middot: '\u00b7', bull: '\u2022', copy: '\u00a9', reg: '\u00ae', trade: '\u2122', yen: '\u00a5', times: '\u00d7',
  // the ASCII punctuation HTML5 names, which obfuscated links use
  sol: '/', colon: ':', period: '.', comma: ',', quest: '?', equals: '=', num: '#', percnt: '%', commat: '@',
  lowbar: '_', lpar: '(', rpar: ')', lsqb: '[', rsqb: ']', excl: '!', dollar: '$', plus: '+', semi: ';',
  ast: '*', midast: '*', hyphen: '\u2010', dash: '\u2010', Tab: '\t', NewLine: '\n',
});
/** Entities HTML still honours without the closing semicolon. */
const LEGACY_ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'nbsp', 'copy', 'reg', 'shy', 'yen', 'times']);

function codePoint(n: number): string {
  return n > 0 && n <= 0x10ffff && (n < 0xd800 || n > 0xdfff) ? String.fromCodePoint(n) : '\ufffd';
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/**
 * The character reference at `amp` (an "&") as [decoded text, end], or undefined when there is
 * none. Numbers and names are bounded in length, so each "&" costs a constant.
 */
function entityAt(s: string, amp: number): [string, number] | undefined {
  let k = amp + 1;
  if (s.charCodeAt(k) === 0x23) {
    // &#123; or &#x7B;
    k++;
    const hex = (s.charCodeAt(k) | 0x20) === 0x78;
    if (hex) k++;
    const start = k;
    while (k < s.length && k - start < 8 && (hex ? isHexDigit(s.charCodeAt(k)) : s.charCodeAt(k) >= 0x30 && s.charCodeAt(k) <= 0x39)) k++;
    if (k === start) return undefined;
    const value = codePoint(parseInt(s.slice(start, k), hex ? 16 : 10));
    return [value, s.charCodeAt(k) === 0x3b ? k + 1 : k];
  }
  const start = k;
  while (k < s.length && k - start < 32 && isAsciiAlnum(s.charCodeAt(k))) k++;
  if (k === start) return undefined;
  const name = s.slice(start, k);
  const value = NAMED_ENTITIES[name];
  if (value === undefined) return undefined;
  if (s.charCodeAt(k) === 0x3b) return [value, k + 1];
  return LEGACY_ENTITIES.has(name) ? [value, k] : undefined;
}

/** Decodes HTML character references: &amp; &lt; &#47; &#x2F; &nbsp; and the common named ones. */
export function decodeEntities(s: string): string {
  let amp = s.indexOf('&');
  if (amp < 0) return s;
  const parts: string[] = [];
  let copied = 0;
  while (amp >= 0) {
    const entity = entityAt(s, amp);
    if (entity) {
      parts.push(s.slice(copied, amp), entity[0]);
      copied = entity[1];
      amp = s.indexOf('&', copied);
    } else {
      amp = s.indexOf('&', amp + 1);
    }
  }
  parts.push(s.slice(copied));
  return parts.join('');
}

/** Attributes that hold a URL a reader can follow or a client fetches. */
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'background', 'poster', 'cite', 'data-saferedirecturl']);

/** Elements whose content is not text the reader sees. */
const RAW_TEXT = new Set(['script', 'style', 'template']);

/** Elements that separate words (so text on either side does not run together into one URL). */
const BLOCK = new Set([
  'address', 'article', 'aside', 'blockquote', 'body', 'br', 'caption', 'center', 'dd', 'div', 'dl', 'dt', 'fieldset',
  'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'head', 'header', 'hr', 'html', 'img',
  'input', 'li', 'main', 'nav', 'ol', 'option', 'p', 'pre', 'section', 'select', 'table', 'tbody', 'td', 'textarea',
  'tfoot', 'th', 'thead', 'title', 'tr', 'ul',
]);

function isHtmlSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

/** An attribute value as a followable absolute URL, or undefined (relative, mailto:, cid:, javascript:, …). */
function attributeUrl(value: string): string | undefined {
  // The URL parser ignores tabs and newlines anywhere and spaces at either end; so do we.
  const v = decodeEntities(value).replace(/[\t\n\r]/g, '').trim();
  if (/^https?:\/\/./i.test(v)) return v;
  if (v.startsWith('//') && v.length > 2 && v.charCodeAt(2) !== 0x2f) return `https:${v}`;
  return undefined;
}

interface Tag {
  name: string;
  closing: boolean;
  end: number;
}

/**
 * Parses the tag starting at `lt` (a "<" followed by a letter or "/"), passing URL-holding
 * attribute values to `onUrl`. Undefined when the tag never ends.
 */
function parseTag(html: string, lt: number, onUrl: (url: string) => void): Tag | undefined {
  const n = html.length;
  let k = lt + 1;
  const closing = html.charCodeAt(k) === 0x2f;
  if (closing) k++;
  const nameStart = k;
  while (k < n) {
    const c = html.charCodeAt(k);
    if (isHtmlSpace(c) || c === 0x2f || c === 0x3e) break;
    k++;
  }
  const name = html.slice(nameStart, k).toLowerCase();
  for (;;) {
    while (k < n && (isHtmlSpace(html.charCodeAt(k)) || html.charCodeAt(k) === 0x2f)) k++;
    if (k >= n) return undefined;
    if (html.charCodeAt(k) === 0x3e) return { name, closing, end: k + 1 };
    const attrStart = k;
    k++; // the first character belongs to the name even when it is "="
    while (k < n) {
      const c = html.charCodeAt(k);
      if (isHtmlSpace(c) || c === 0x2f || c === 0x3e || c === 0x3d) break;
      k++;
    }
    const attr = html.slice(attrStart, k).toLowerCase();
    while (k < n && isHtmlSpace(html.charCodeAt(k))) k++;
    if (html.charCodeAt(k) !== 0x3d) continue; // no value
    k++;
    while (k < n && isHtmlSpace(html.charCodeAt(k))) k++;
    let value: string;
    const q = html.charCodeAt(k);
    if (q === 0x22 || q === 0x27) {
      const close = html.indexOf(q === 0x22 ? '"' : "'", k + 1);
      if (close < 0) return undefined;
      value = html.slice(k + 1, close);
      k = close + 1;
    } else {
      const start = k;
      while (k < n && !isHtmlSpace(html.charCodeAt(k)) && html.charCodeAt(k) !== 0x3e) k++;
      value = html.slice(start, k);
    }
    if (!closing && URL_ATTRIBUTES.has(attr)) {
      const url = attributeUrl(value);
      if (url !== undefined) onUrl(url);
    }
  }
}

/**
 * The text a reader sees in an HTML part (tags removed, word-separating elements turned into
 * line breaks, script and style dropped, entities decoded), plus the URLs in href/src-like
 * attributes, collected into `urls`.
 */
function scanHtml(html: string, urls: Set<string>): string {
  const text: string[] = [];
  const n = html.length;
  let lower: string | undefined;
  let textStart = 0;
  let i = 0;
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) break;
    const c = html.charCodeAt(lt + 1);
    let end: number;
    let separator = '';
    if (c === 0x21 || c === 0x3f) {
      // <!-- comment -->, <!DOCTYPE …>, <![if mso]>, <?xml …?>
      const isComment = html.startsWith('<!--', lt);
      const close = isComment ? html.indexOf('-->', lt + 4) : html.indexOf('>', lt + 2);
      if (close < 0) {
        text.push(html.slice(textStart, lt));
        textStart = n;
        break;
      }
      end = close + (isComment ? 3 : 1);
    } else if (isAsciiLetter(c) || (c === 0x2f && isAsciiLetter(html.charCodeAt(lt + 2)))) {
      const tag = parseTag(html, lt, (u) => urls.add(u));
      if (!tag) break; // a tag that never ends: the rest is read as text
      end = tag.end;
      if (BLOCK.has(tag.name)) separator = '\n';
      if (!tag.closing && RAW_TEXT.has(tag.name)) {
        lower ??= html.toLowerCase();
        const close = lower.indexOf(`</${tag.name}`, end);
        const gt = close < 0 ? -1 : html.indexOf('>', close);
        end = gt < 0 ? n : gt + 1;
        separator = '\n';
      }
    } else {
      i = lt + 1; // a "<" that starts no tag is text
      continue;
    }
    text.push(html.slice(textStart, lt), separator);
    textStart = i = end;
  }
  if (textStart < n) text.push(html.slice(textStart));
  return decodeEntities(text.join(''));
}

/**
 * URLs in an HTML part, without duplicates: absolute http(s) values of href, src and similar
 * attributes (entities decoded, quoted or not), then URLs in the visible text.
 */
export function extractUrlsFromHtml(html: string): string[] {
  const urls = new Set<string>();
  const text = scanHtml(html, urls);
  for (const u of extractUrls(text)) urls.add(u);
  return [...urls];
}

/** The text a reader sees in an HTML part: tags removed, entities decoded. */
export function htmlToText(html: string): string {
  return scanHtml(html, new Set());
}

// ---------------------------------------------------------------------------------------------
// Parsing, hosts and unwrapping

/** Parses an absolute or scheme-less URL (`we.tl/x`, `www.example.com`, `ttps://…`) as http(s). */
export function parseUrl(url: string): URL | undefined {
  let s = url.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]{0,31}):/.exec(s);
  if (scheme && s.startsWith('//', scheme[0].length)) {
    const name = scheme[1]!.toLowerCase();
    if (name === 'ttp' || name === 'ttps') s = `h${s}`;
  } else if (s.startsWith('//')) {
    s = `http:${s}`;
  } else if (!scheme || scheme[1]!.includes('.') || /^[0-9]/.test(s.slice(scheme[0].length))) {
    s = `http://${s}`; // a host, perhaps with a port: not a scheme
  }
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

/** The lower-case host of a URL (punycode for IDN, no trailing dot), or undefined when it has none. */
export function hostOf(url: string): string | undefined {
  const u = parseUrl(url);
  if (!u) return undefined;
  const host = u.hostname.replace(/\.$/, '');
  return host === '' ? undefined : host;
}

function isAbsoluteHttp(s: string | null | undefined): s is string {
  return typeof s === 'string' && /^https?:\/\/[^/\s]/i.test(s.trim());
}

function param(u: URL, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = u.searchParams.get(name);
    if (isAbsoluteHttp(v)) return v.trim();
  }
  return undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Proofpoint URL Defense v2: `u=` with "-" for "%" and "_" for "/". */
function proofpointV2(u: URL): string | undefined {
  const raw = u.searchParams.get('u');
  if (!raw) return undefined;
  const url = safeDecode(raw.replace(/-/g, '%').replace(/_/g, '/'));
  return isAbsoluteHttp(url) ? url : undefined;
}

const V3_RUN = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Proofpoint URL Defense v3: `https://urldefense.com/v3/__<url>__;<base64url>!…`. Characters it
 * could not leave in the URL are replaced by "*" (one) or "**X" (a run of 2 + index of X), and
 * the replaced characters are carried, in order, base64url-encoded after "__;".
 */
function proofpointV3(url: string): string | undefined {
  const start = url.indexOf('/v3/__');
  if (start < 0) return undefined;
  const from = start + 6;
  const stop = url.indexOf('__;', from);
  if (stop < 0) return undefined;
  const encoded = safeDecode(url.slice(from, stop));
  const bang = url.indexOf('!', stop + 3);
  const bytes = url.slice(stop + 3, bang < 0 ? url.length : bang);
  const replaced = Array.from(Buffer.from(bytes, 'base64url').toString('utf8'));
  let marker = 0;
  let out = '';
  for (let k = 0; k < encoded.length; k++) {
    const ch = encoded[k]!;
    if (ch !== '*') {
      out += ch;
    } else if (encoded[k + 1] === '*' && k + 2 < encoded.length) {
      const run = V3_RUN.indexOf(encoded[k + 2]!) + 2;
      if (run < 2) return undefined;
      out += replaced.slice(marker, marker + run).join('');
      marker += run;
      k += 2;
    } else {
      out += replaced[marker++] ?? '';
    }
  }
  return isAbsoluteHttp(out) ? out : undefined;
}

/** Query parameters generic redirectors put their target in. */
const REDIRECT_PARAMS = ['url', 'u', 'q', 'target', 'redirect', 'redirect_url', 'redirectUrl', 'dest', 'destination', 'goto', 'link'];

/**
 * The URL one wrapper or redirector points to, or undefined when `url` is not one (or its target
 * cannot be read off the URL).
 */
export function unwrapOnce(url: string): string | undefined {
  const u = parseUrl(url);
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) return undefined;
  const host = u.hostname.replace(/\.$/, '');
  const path = u.pathname;

  // Proofpoint URL Defense
  if (host === 'urldefense.com' || host === 'urldefense.proofpoint.com' || host.endsWith('.urldefense.com')) {
    if (path.startsWith('/v3/__')) return proofpointV3(url);
    if (path === '/v2/url') return proofpointV2(u);
    if (path === '/v1/url') return param(u, 'u');
  }
  // Microsoft Defender for Office 365 Safe Links (commercial and government clouds)
  if (/(?:^|\.)safelinks\.protection\.(?:outlook\.com|office365\.us|apps\.mil)$/.test(host)) return param(u, 'url');
  // Mimecast: the target is kept server-side, but the link names its host in domain=
  if (/^protect[a-z0-9-]*\.mimecast(?:-offshore)?\.com$/.test(host) && path.startsWith('/s/')) {
    const domain = u.searchParams.get('domain');
    return domain && /^[a-z0-9.-]+\.[a-z0-9-]+$/i.test(domain) ? `https://${domain.toLowerCase()}/` : undefined;
  }
  // Google redirects (mail, search, YouTube share it)
  if (/^(?:www\.)?google\.[a-z]{2,3}(?:\.[a-z]{2})?$/.test(host) && path === '/url') return param(u, 'q', 'url');
  // Facebook, LinkedIn, Slack
  if ((host === 'l.facebook.com' || host === 'lm.facebook.com' || host === 'l.messenger.com') && path === '/l.php') return param(u, 'u');
  if (/(?:^|\.)linkedin\.com$/.test(host) && (path === '/redir/redirect' || path === '/safety/go')) return param(u, 'url');
  if (host === 'slack-redir.net' && path === '/link') return param(u, 'url');
  // Anything else that carries an absolute http(s) URL in a redirect-style parameter
  if (u.search.length > 1) {
    for (const name of REDIRECT_PARAMS) {
      const v = param(u, name);
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

/**
 * The chain of URLs behind a link: the link itself, then each wrapper's target, up to
 * MAX_UNWRAP_DEPTH deep (stopping at a loop). A safelinks-wrapped we.tl link gives
 * [safelinks URL, https://we.tl/…].
 */
export function unwrapUrl(url: string): string[] {
  const chain = [url];
  let current = url;
  for (let depth = 0; depth < MAX_UNWRAP_DEPTH; depth++) {
    const next = unwrapOnce(current);
    if (next === undefined || chain.includes(next)) break;
    chain.push(next);
    current = next;
  }
  return chain;
}
