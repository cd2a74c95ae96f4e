import { describe, expect, it } from 'vitest';
import { imageKind } from '../../src/message/images.js';
import { pngChunk, tinyPng } from '../support/encoders.js';

const chunk = pngChunk;
const png = tinyPng;
/** A 1×1 GIF89a. */
const gif = (): Buffer => Buffer.from('47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b', 'hex');
/** The structure of a JPEG: SOI, an APP0 (JFIF) segment, a start of scan, entropy-coded data (with a stuffed FF00 and a restart marker), EOI. */
const jpeg = (): Buffer =>
  Buffer.concat([Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'), Buffer.from('ffda000801010000003f00', 'hex'), Buffer.alloc(20, 0x11), Buffer.from('ff00', 'hex'), Buffer.alloc(20, 0x22), Buffer.from('ffd0', 'hex'), Buffer.alloc(8, 0x33), Buffer.from('ffd9', 'hex')]);
const webp = (payload: number): Buffer => {
  const buf = Buffer.alloc(12 + payload, 0x22);
  buf.write('RIFF', 0, 'latin1');
  buf.writeUInt32LE(4 + payload, 4);
  buf.write('WEBP', 8, 'latin1');
  buf.write('VP8L', 12, 'latin1');
  return buf;
};
const bmp = (size = 58): Buffer => {
  const buf = Buffer.alloc(size);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(size, 2);
  buf.writeUInt32LE(54, 10);
  return buf;
};
const ZIP = Buffer.concat([Buffer.from('504b0304', 'hex'), Buffer.alloc(26), Buffer.from('secret.txt'), Buffer.from('504b0506', 'hex'), Buffer.alloc(18)]);

describe('imageKind: whole images of the formats every client shows', () => {
  it('recognises whole PNG, JPEG, GIF (87a and 89a), WebP and BMP images', () => {
    expect(imageKind(png())).toBe('png');
    expect(imageKind(jpeg())).toBe('jpeg');
    expect(imageKind(gif())).toBe('gif');
    const gif87 = gif();
    gif87.write('87a', 3, 'latin1');
    expect(imageKind(gif87)).toBe('gif');
    expect(imageKind(webp(20))).toBe('webp');
    expect(imageKind(bmp())).toBe('bmp');
  });

  it('takes a JPEG followed by line breaks or NUL padding (what transports and encoders leave)', () => {
    expect(imageKind(Buffer.concat([jpeg(), Buffer.from('\r\n\0\0')]))).toBe('jpeg');
  });

  it('takes a WebP whose odd-sized payload lacks its pad byte', () => {
    const odd = webp(21);
    expect(imageKind(odd)).toBe('webp');
    expect(imageKind(odd.subarray(0, odd.length - 1))).toBeUndefined();
  });

  it('refuses an image with data appended after its end marker', () => {
    expect(imageKind(Buffer.concat([png(), ZIP]))).toBeUndefined();
    expect(imageKind(Buffer.concat([jpeg(), ZIP]))).toBeUndefined();
    expect(imageKind(Buffer.concat([gif(), ZIP]))).toBeUndefined();
    expect(imageKind(Buffer.concat([webp(20), ZIP]))).toBeUndefined();
    expect(imageKind(Buffer.concat([bmp(), ZIP]))).toBeUndefined();
  });

  it('refuses a truncated image', () => {
    expect(imageKind(png().subarray(0, 40))).toBeUndefined();
    expect(imageKind(jpeg().subarray(0, 30))).toBeUndefined();
    expect(imageKind(gif().subarray(0, 30))).toBeUndefined();
    expect(imageKind(webp(20).subarray(0, 24))).toBeUndefined();
    expect(imageKind(bmp().subarray(0, 40))).toBeUndefined();
  });

  it('refuses other bytes, short inputs and lookalike headers', () => {
    expect(imageKind(Buffer.alloc(0))).toBeUndefined();
    expect(imageKind(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
    expect(imageKind(ZIP)).toBeUndefined();
    expect(imageKind(Buffer.from('%PDF-1.4 ... %%EOF'))).toBeUndefined();
    expect(imageKind(Buffer.from('89504e470d0a1a0a', 'hex'))).toBeUndefined();
    expect(imageKind(Buffer.from('ffd8ffd9', 'hex'))).toBe('jpeg');
    expect(imageKind(Buffer.from('ffd8ff', 'hex'))).toBeUndefined();
    expect(imageKind(Buffer.from('GIF8xa;;;;;;;;;'))).toBeUndefined();
    expect(imageKind(Buffer.from('BM and then some text that is long'))).toBeUndefined();
  });

  // the format is walked to its first end marker: glued-on data that ends in the marker again is still found
  it('refuses a PNG with a file glued on behind it followed by a second IEND chunk', () => {
    expect(imageKind(Buffer.concat([png(), ZIP, chunk('IEND', Buffer.alloc(0))]))).toBeUndefined();
  });

  it('refuses a GIF with a file glued on behind it that ends in ";"', () => {
    expect(imageKind(Buffer.concat([gif(), ZIP, Buffer.from(';')]))).toBeUndefined();
  });

  it('refuses a JPEG with a file glued on behind it that ends in FFD9', () => {
    expect(imageKind(Buffer.concat([jpeg(), ZIP, Buffer.from('ffd9', 'hex')]))).toBeUndefined();
  });
});
