import { crc32 } from '../../zip/crc32.js';
import { u32, u64 } from '../../util/bytes.js';
import { compressible } from './ciphertext.js';
import { Malformed, falseIfMalformed } from './malformed.js';

export const SIGNATURE = Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]);
const AES_CODER = Buffer.from([0x06, 0xf1, 0x07, 0x01]);
// property ids of 7zFormat.txt
const K_END = 0x00;
const K_PACK_INFO = 0x06;
const K_UNPACK_INFO = 0x07;
const K_SIZE = 0x09;
const K_CRC = 0x0a;
const K_FOLDER = 0x0b;
const K_CODERS_UNPACK_SIZE = 0x0c;
const K_ENCODED_HEADER = 0x17;
/** Far more coders and streams than 7-Zip ever writes for one folder. */
const MAX_COUNT = 64;

/** Reads 7z's property stream: bytes and 7-Zip's variable-length numbers. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos = 0,
  ) {}

  byte(): number {
    if (this.pos >= this.buf.length) throw new Malformed();
    return this.buf[this.pos++]!;
  }

  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new Malformed();
    this.pos += n;
    return this.buf.subarray(this.pos - n, this.pos);
  }

  /** The first byte's leading 1 bits count the little-endian bytes that follow; its remaining bits are the top. */
  number(): number {
    const first = this.byte();
    let value = 0;
    let mask = 0x80;
    for (let i = 0; i < 8; i++) {
      if ((first & mask) === 0) return value + (first & (mask - 1)) * 2 ** (8 * i);
      value += this.byte() * 2 ** (8 * i);
      mask >>= 1;
    }
    return value;
  }

  /** A count small enough to loop over. */
  count(max = MAX_COUNT): number {
    const n = this.number();
    if (n > max) throw new Malformed();
    return n;
  }

  /** Digests: an all-defined byte or a bit vector, then a CRC for each defined stream. */
  digests(n: number): void {
    let defined = n;
    if (this.byte() === 0) {
      const bits = this.bytes(Math.ceil(n / 8));
      defined = 0;
      for (let i = 0; i < n; i++) if (bits[i >> 3]! & (0x80 >> (i & 7))) defined++;
    }
    this.bytes(4 * defined);
  }
}

/**
 * A 7z archive with encrypted headers (7zz a -mhe=on -p…): the next header is an encoded header
 * whose folder runs through the AES coder, so nothing, not even the file list, reads without the
 * password. Start header and next header CRCs must match, and the packed streams must look like
 * ciphertext.
 */
export function isEncrypted7z(buf: Buffer): boolean {
  if (buf.length < 32 || !buf.subarray(0, 6).equals(SIGNATURE)) return false;
  if (crc32(buf.subarray(12, 32)) !== u32(buf, 8)) return false;
  const offset = u64(buf, 12);
  const size = u64(buf, 20);
  if (offset < 0 || size <= 0 || 32 + offset + size > buf.length) return false;
  const header = buf.subarray(32 + offset, 32 + offset + size);
  if (crc32(header) !== u32(buf, 28)) return false;
  return falseIfMalformed(() => encodedThroughAes(new Reader(header), offset)) && !compressible(buf.subarray(32, 32 + offset));
}

/** kEncodedHeader, then StreamsInfo: PackInfo, and UnpackInfo with exactly one folder that has the AES coder. */
function encodedThroughAes(r: Reader, packedBytes: number): boolean {
  if (r.byte() !== K_ENCODED_HEADER || r.byte() !== K_PACK_INFO) return false;
  const packPos = r.number();
  const packStreams = r.count();
  let packed = 0;
  for (let id = r.byte(); id !== K_END; id = r.byte()) {
    if (id === K_SIZE) for (let i = 0; i < packStreams; i++) packed += r.number();
    else if (id === K_CRC) r.digests(packStreams);
    else return false;
  }
  // the header's packed stream lies among the packed streams, before the header
  if (packStreams === 0 || packPos + packed > packedBytes) return false;

  if (r.byte() !== K_UNPACK_INFO || r.byte() !== K_FOLDER) return false;
  if (r.number() !== 1 || r.byte() !== 0) return false; // one folder, defined inline
  let aes = false;
  let inStreams = 0;
  let outStreams = 0;
  const coders = r.count();
  for (let c = 0; c < coders; c++) {
    const flags = r.byte();
    if (flags & 0x80) return false; // alternative methods: never written by 7-Zip
    if (r.bytes(flags & 0x0f).equals(AES_CODER)) aes = true;
    inStreams += flags & 0x10 ? r.count() : 1;
    outStreams += flags & 0x10 ? r.count() : 1;
    if (flags & 0x20) r.bytes(r.number());
  }
  if (coders === 0 || outStreams === 0 || inStreams < outStreams - 1) return false;
  // bind pairs: in index, out index
  for (let i = 0; i < outStreams - 1; i++) {
    r.number();
    r.number();
  }
  const packedInFolder = inStreams - (outStreams - 1);
  if (packedInFolder > 1) for (let i = 0; i < packedInFolder; i++) r.number();
  if (packedInFolder !== packStreams) return false;
  if (r.byte() !== K_CODERS_UNPACK_SIZE) return false;
  for (let i = 0; i < outStreams; i++) r.number();
  for (let id = r.byte(); id !== K_END; id = r.byte()) {
    if (id === K_CRC) r.digests(1);
    else return false;
  }
  return aes;
}
