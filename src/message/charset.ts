import { isAscii, isUtf8, transcode } from 'node:buffer';
import iconv from 'iconv-lite';
import { decode as decodeCharset } from 'libmime/lib/charset.js';


/**
 * Valid UTF-8 as text. For a body's worth of Japanese, ICU's converter into UTF-16 is about three
 * times faster than V8's UTF-8 decoder; short strings and Node builds without ICU take the plain way.
 */
function validUtf8(buf: Buffer): string {
  if (buf.length < 512) return buf.toString('utf8');
  try {
    return transcode(buf, 'utf8', 'utf16le').toString('utf16le');
  } catch {
    return buf.toString('utf8');
  }
}

/**
 * Header bytes as text. Headers should be ASCII, but real mail carries raw UTF-8 (RFC 6532) and,
 * from old Japanese clients, raw Shift_JIS; anything else is read as Latin-1 so no byte is lost.
 */
export function decodeHeaderBytes(buf: Buffer): string {
  if (isAscii(buf)) return buf.toString('latin1');
  if (isUtf8(buf)) return validUtf8(buf);
  const sjis = iconv.decode(buf, 'Shift_JIS');
  return sjis.includes('\ufffd') ? buf.toString('latin1') : sjis;
}

/** Body bytes in a named charset as text (ISO-2022-JP, Shift_JIS, EUC-JP, UTF-8, …). */
export function decodeText(buf: Buffer, charset: string | undefined): string {
  const name = (charset ?? '').trim().toLowerCase();
  // Unlabelled or mislabelled "ASCII" text is often raw UTF-8 or Shift_JIS in practice.
  if (name === '' || name === 'us-ascii' || name === 'utf-8' || name === 'utf8') return decodeHeaderBytes(buf);
  try {
    return decodeCharset(buf, name);
  } catch {
    return decodeHeaderBytes(buf);
  }
}
