import { isAscii, isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { decode as decodeCharset } from 'libmime/lib/charset.js';


/**
 * Header bytes as text. Headers should be ASCII, but real mail carries raw UTF-8 (RFC 6532) and,
 * from old Japanese clients, raw Shift_JIS; anything else is read as Latin-1 so no byte is lost.
 */
export function decodeHeaderBytes(buf: Buffer): string {
  if (isAscii(buf)) return buf.toString('latin1');
  if (isUtf8(buf)) return buf.toString('utf8');
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
