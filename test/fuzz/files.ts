/**
 * File contents and transfer encodings the generator needs, crafted by hand so that every byte
 * comes from the PRNG: PDFs, genuine tiny PNGs, ZIPs (plain, partly encrypted, lying central
 * directories), OLE/CFB and 7z headers that look encrypted, TNEF, and the in-body encodings
 * (uuencode, yEnc, BinHex 4.0) that mail clients decode.
 */
import zlib from 'node:zlib';
import type { Rng } from './random.js';
import { crc32 } from '../../src/zip/crc32.js';
import { pngChunk, uuencodeLines } from '../support/encoders.js';

export { crc32 };

/** CRC-16/XMODEM, the CRC of BinHex 4.0. */
function crc16(buf: Buffer): number {
  let c = 0;
  for (const b of buf) {
    c ^= b << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  }
  return c;
}

// ---- files ------------------------------------------------------------------------------------

/** A PDF-looking file; with `encryptMarker` its text names /Encrypt although nothing is encrypted. */
export function pdf(rng: Rng, opts: { encryptMarker?: boolean } = {}): Buffer {
  const body = rng.bool() ? rng.text(rng.range(60, 1500)) : rng.bytes(rng.range(60, 1500)).toString('latin1');
  const enc = opts.encryptMarker ? `trailer\n<< /Root 1 0 R /Encrypt 5 0 R /ID [<${rng.token(16)}>] >>\n` : `trailer\n<< /Root 1 0 R /Size ${rng.range(3, 99)} >>\n`;
  return Buffer.from(`%PDF-1.${rng.range(3, 7)}\n%${rng.token(6)}\n1 0 obj\n<< /Type /Catalog /X ${rng.token(10)} >>\nstream\n${body}\nendstream\n${enc}%%EOF\n`, 'latin1');
}

/** A genuine PNG (RGB, random pixels): small, and decodable by any viewer. */
export function png(rng: Rng): Buffer {
  const w = rng.range(2, 24);
  const h = rng.range(2, 24);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) rows.push(Buffer.concat([Buffer.from([0]), rng.bytes(w * 3)]));
  // level 0: stored deflate blocks, so the random pixels appear as they are in the file
  const idat = zlib.deflateSync(Buffer.concat(rows), { level: 0 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

export interface ZipSpec {
  name: string;
  data: Buffer;
  /** The encryption flag in the central directory. */
  encrypted: boolean;
  /** The encryption flag in the local header (default: the same as `encrypted`). */
  localEncrypted?: boolean;
}

/** A stored (uncompressed) ZIP with the flags as given; "encrypted" data is just random bytes. */
export function zip(entries: ZipSpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(((e.localEncrypted ?? e.encrypted) ? 1 : 0) | 0x800, 6);
    lh.writeUInt16LE(0, 8);
    lh.writeUInt32LE(0x5a210000, 10);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(e.data.length, 18);
    lh.writeUInt32LE(e.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE((e.encrypted ? 1 : 0) | 0x800, 8);
    ch.writeUInt32LE(0x5a210000, 12);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(e.data.length, 20);
    ch.writeUInt32LE(e.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, e.data);
    centrals.push(ch, name);
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** An .xlsx-shaped (plain) ZIP. */
export function xlsx(rng: Rng): Buffer {
  return zip([
    { name: '[Content_Types].xml', data: Buffer.from(`<?xml version="1.0"?><Types id="${rng.token(12)}"/>`), encrypted: false },
    { name: 'xl/worksheets/sheet1.xml', data: Buffer.from(`<sheetData>${rng.csv(rng.range(3, 30))}</sheetData>`), encrypted: false },
  ]);
}

/** An OLE/CFB container naming an EncryptedPackage stream whose content is in the clear. */
export function fakeEncryptedOffice(rng: Rng): Buffer {
  const header = Buffer.alloc(512);
  header.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 0);
  header.writeUInt16LE(0x3e, 24);
  header.writeUInt16LE(3, 26);
  header.writeUInt16LE(0xfffe, 28);
  header.writeUInt16LE(9, 30);
  const dir = Buffer.alloc(512);
  dir.write('EncryptedPackage', 0, 'utf16le');
  dir.writeUInt16LE(34, 64);
  return Buffer.concat([header, dir, Buffer.from(rng.text(rng.range(200, 2000)), 'latin1')]);
}

/** A 7z start header whose "next header" lists the AES coder (06 F1 07 01), with clear content. */
export function fakeEncrypted7z(rng: Rng): Buffer {
  const packed = Buffer.from(rng.text(rng.range(100, 1500)), 'latin1');
  const next = Buffer.concat([Buffer.from([0x01, 0x04, 0x06, 0x00, 0x01, 0x09, 0x00, 0x07, 0x0b, 0x01, 0x00, 0x01, 0x24, 0x06, 0xf1, 0x07, 0x01]), rng.bytes(8)]);
  const start = Buffer.alloc(32);
  start.set([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00, 0x04], 0);
  start.writeBigUInt64LE(BigInt(packed.length), 12);
  start.writeBigUInt64LE(BigInt(next.length), 20);
  start.writeUInt32LE(crc32(next), 28);
  start.writeUInt32LE(crc32(start.subarray(12, 32)), 8);
  return Buffer.concat([start, packed, next]);
}

/** A winmail.dat-shaped TNEF stream carrying a file in the clear. */
export function tnef(rng: Rng): Buffer {
  const file = rng.bytes(rng.range(100, 1200));
  const attr = Buffer.alloc(9);
  attr[0] = 2;
  attr.writeUInt32LE(0x0006800f, 1); // attAttachData
  attr.writeUInt32LE(file.length, 5);
  return Buffer.concat([Buffer.from([0x78, 0x9f, 0x3e, 0x22]), rng.bytes(2), attr, file, Buffer.alloc(2)]);
}

/** The image formats the inline-image exemption accepts, by their magic bytes. */
export function imageMagicMatches(contentType: string, b: Buffer): boolean {
  switch (contentType.toLowerCase()) {
    case 'image/png':
      return b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    case 'image/jpeg':
      return b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
    case 'image/gif':
      return b.subarray(0, 4).toString('latin1') === 'GIF8';
    case 'image/webp':
      return b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP';
    case 'image/bmp':
      return b.subarray(0, 2).toString('latin1') === 'BM';
    default:
      return false;
  }
}

// ---- transfer encodings -----------------------------------------------------------------------

export function base64Lines(buf: Buffer, width = 76): string {
  const s = buf.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < s.length; i += width) lines.push(s.slice(i, i + width));
  return lines.join('\r\n');
}

/** Quoted-printable; `text` keeps CRLF as line breaks, otherwise every byte is data. */
export function quotedPrintable(buf: Buffer, text: boolean): string {
  const out: string[] = [];
  let line = '';
  const push = (tok: string) => {
    if (line.length + tok.length > 75) {
      out.push(line + '=');
      line = '';
    }
    line += tok;
  };
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (text && b === 0x0d && buf[i + 1] === 0x0a) {
      if (line.endsWith(' ') || line.endsWith('\t')) line = line.slice(0, -1) + (line.endsWith(' ') ? '=20' : '=09');
      out.push(line);
      line = '';
      i++;
    } else if ((b >= 33 && b <= 126 && b !== 61) || (b === 32 && text)) push(String.fromCharCode(b));
    else push('=' + b.toString(16).toUpperCase().padStart(2, '0'));
  }
  out.push(line);
  return out.join('\r\n');
}

/** A uuencoded block (`begin 644 name` … `end`), CRLF lines. */
export const uuencode = (name: string, buf: Buffer): string => uuencodeLines(name, buf).join('\r\n');

/** yEnc; every critical byte is escaped (0, TAB, LF, CR, space, dot, =), which decoders accept. */
export function yencode(name: string, buf: Buffer): Buffer {
  const parts: number[] = [];
  let col = 0;
  for (const b of buf) {
    const o = (b + 42) & 0xff;
    if ([0, 9, 10, 13, 32, 46, 61].includes(o)) {
      parts.push(0x3d, (o + 64) & 0xff);
      col += 2;
    } else {
      parts.push(o);
      col++;
    }
    if (col >= 128) {
      parts.push(13, 10);
      col = 0;
    }
  }
  const head = `=ybegin line=128 size=${buf.length} name=${name}\r\n`;
  const tail = `\r\n=yend size=${buf.length} crc32=${crc32(buf).toString(16).padStart(8, '0')}`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(parts), Buffer.from(tail, 'latin1')]);
}

export const BINHEX_ALPHABET = '!"#$%&\'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr';

/** BinHex 4.0 of a data fork (no resource fork); 0x90 bytes are escaped as 0x90 0x00. */
export function binhex(name: string, data: Buffer): string {
  const n = Buffer.from(name, 'latin1');
  const header = Buffer.alloc(1 + n.length + 1 + 4 + 4 + 2 + 4 + 4);
  header[0] = n.length;
  n.copy(header, 1);
  let p = 2 + n.length;
  header.write('BINA', p, 'latin1');
  header.write('????', p + 4, 'latin1');
  p += 10;
  header.writeUInt32BE(data.length, p);
  header.writeUInt32BE(0, p + 4);
  const crc = (b: Buffer) => {
    const c = Buffer.alloc(2);
    c.writeUInt16BE(crc16(b), 0);
    return c;
  };
  const stream = Buffer.concat([header, crc(header), data, crc(data), crc(Buffer.alloc(0))]);
  const rle: number[] = [];
  for (const b of stream) b === 0x90 ? rle.push(0x90, 0x00) : rle.push(b);
  let bits = '';
  let out = ':';
  let acc = 0;
  let nbits = 0;
  for (const b of rle) {
    acc = (acc << 8) | b;
    nbits += 8;
    while (nbits >= 6) {
      nbits -= 6;
      bits += BINHEX_ALPHABET[(acc >> nbits) & 63];
      acc &= (1 << nbits) - 1;
    }
  }
  if (nbits > 0) bits += BINHEX_ALPHABET[(acc << (6 - nbits)) & 63];
  out += bits + ':';
  const lines: string[] = [];
  for (let i = 0; i < out.length; i += 64) lines.push(out.slice(i, i + 64));
  return `(This file must be converted with BinHex 4.0)\r\n${lines.join('\r\n')}`;
}
