import { hexValue, isBase64Char } from '../util/bytes.js';
import { findEncodedBlocks } from './embedded.js';

const NOT_BASE64 = /[^A-Za-z0-9+/=]/g;

/** A body with its Content-Transfer-Encoding undone (unknown encodings: the bytes as they are). */
export function decodeTransfer(body: Buffer, encoding: string): Buffer {
  switch (encoding) {
    case 'base64': {
      // Node's decoder skips whatever is outside the alphabet, except that it reads - and _ as
      // base64url digits: only then must they be removed first (they are not base64, RFC 2045)
      const text = body.toString('latin1');
      return Buffer.from(body.includes(0x2d) || body.includes(0x5f) ? text.replace(NOT_BASE64, '') : text, 'base64');
    }
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    case 'x-uuencode':
    case 'uuencode':
    case 'x-uue':
      // what Outlook writes for uuencoded parts: the body is one uuencode block
      return findEncodedBlocks(body).find((b) => b.kind === 'uuencode')?.content ?? body;
    default:
      return body;
  }
}

/**
 * Whether decoders would read this base64 differently: data going on after padding (`QUI=QUJD`:
 * Node stops at the first `=`, Python reads on), or a count of data characters that padding does
 * not complete (`QUI`, or text labelled base64: Python then gives the raw bytes, Node what it can
 * decode).
 */
export function base64Disagrees(body: Buffer): boolean {
  let data = 0;
  let pads = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (isBase64Char(c)) {
      if (pads > 0) return true;
      data++;
    } else if (c === 0x3d) pads++;
  }
  const rest = data % 4;
  return !(rest === 0 || (rest === 2 && pads >= 2) || (rest === 3 && pads >= 1));
}


/** Quoted-printable in one pass: soft breaks removed, =XX decoded, a broken escape kept as written. */
function decodeQuotedPrintable(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(body.length);
  let n = 0;
  // white space at the end of a line is transport padding (RFC 2045), unless it was written as
  // =20 or stands before a soft line break: nothing before `floor` is trimmed
  let floor = 0;
  /** Ends a line at n: its padding dropped. The end of the part ends its last line too. */
  const trimPadding = () => {
    const cr = n > floor && out[n - 1] === 0x0d;
    let e = cr ? n - 1 : n;
    while (e > floor && (out[e - 1] === 0x20 || out[e - 1] === 0x09)) e--;
    n = e;
    if (cr) out[n++] = 0x0d;
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === 0x0a) {
      trimPadding();
      out[n++] = 0x0a;
      floor = n;
      continue;
    }
    if (c === 0x3d) {
      const h = hexValue(body[i + 1]);
      const l = hexValue(body[i + 2]);
      if (h >= 0 && l >= 0) {
        out[n++] = (h << 4) | l;
        floor = n;
        i += 2;
        continue;
      }
      // a soft line break: `=`, optional white space, then the line end or the end of the part
      let j = i + 1;
      while (body[j] === 0x20 || body[j] === 0x09) j++;
      const soft = j >= body.length ? j - 1 : body[j] === 0x0d && body[j + 1] === 0x0a ? j + 1 : body[j] === 0x0a ? j : -1;
      if (soft >= 0) {
        floor = n;
        i = soft;
        continue;
      }
    }
    out[n++] = c;
  }
  trimPadding();
  return out.subarray(0, n);
}
