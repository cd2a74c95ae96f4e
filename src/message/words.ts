import libmime from 'libmime';

/** Text with its RFC 2047 encoded words (`=?charset?B|Q?…?=`) decoded; anything unreadable stays as written. */
export function decodeWords(text: string): string {
  if (!text.includes('=?')) return text;
  // The common case, in every Outlook, Thunderbird and Apple Mail header: nothing but UTF-8 "B"
  // words. Each word's bytes are joined before decoding, since a character may be split between words.
  if (UTF8_B_WORDS.test(text)) {
    const words = text.match(UTF8_B_WORD)!.map((w) => Buffer.from(w.slice(10, -2), 'base64'));
    return Buffer.concat(words).toString('utf8');
  }
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}

// whole base64 quanta only: anything unusual (a word split mid-quantum) is left to libmime
const B64 = '(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?';
const UTF8_B_WORDS = new RegExp(`^(?:=\\?utf-8\\?b\\?${B64}\\?=[ \\t\\r\\n]*)+$`, 'i');
const UTF8_B_WORD = new RegExp(`=\\?utf-8\\?b\\?${B64}\\?=`, 'gi');
