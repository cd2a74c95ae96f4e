import { u16, u32, u64 } from '../../util/bytes.js';
import { type CentralRecord, findExtra, LOCAL_SIG, readCentralDirectory } from '../zip-directory.js';
import { compressible, inflates } from './ciphertext.js';

const DESCRIPTOR_SIG = 0x08074b50;
const METHOD_AES = 99;
const AES_EXTRA = 0x9901;

/**
 * A ZIP whose every file is encrypted. The central directory (what unzip tools list) and the
 * local headers (what streaming tools read) must describe the same entries, every file entry
 * must be flagged encrypted in both, and its stored bytes must look like ciphertext.
 */
export function isEncryptedZip(buf: Buffer): boolean {
  if (u32(buf, 0) !== LOCAL_SIG) return false;
  const dir = readCentralDirectory(buf);
  if (!dir || !dir.wellFormed || dir.records.length === 0) return false;
  const byOffset = new Map<number, CentralRecord>();
  for (const r of dir.records) {
    if (byOffset.has(r.offset)) return false;
    byOffset.set(r.offset, r);
  }

  // Walk the local headers from the start of the file to the central directory; each advances
  // the position, so this is linear in the file size.
  let pos = 0;
  let count = 0;
  let files = 0;
  while (pos < dir.start && u32(buf, pos) === LOCAL_SIG) {
    const central = byOffset.get(pos);
    const flags = u16(buf, pos + 6);
    const method = u16(buf, pos + 8);
    const nameLength = u16(buf, pos + 26);
    const extraLength = u16(buf, pos + 28);
    if (!central || extraLength < 0) return false;
    const dataStart = pos + 30 + nameLength + extraLength;
    const dataEnd = dataStart + central.compressedSize;
    if (dataEnd > dir.start || central.compressedSize < 0) return false;
    const extra = buf.subarray(pos + 30 + nameLength, dataStart);
    if (!buf.subarray(pos + 30, pos + 30 + nameLength).equals(central.nameBytes) || method !== central.method) return false;
    // without a data descriptor (bit 3) the local header carries the size itself: it must agree
    if (!(flags & 8) && localCompressedSize(buf, pos, extra) !== central.compressedSize) return false;

    // directories (a name ending in "/", no data) need not be encrypted; every file must be
    const directory = central.nameBytes.at(-1) === 0x2f && central.size === 0 && central.compressedSize === 0;
    if (!directory) {
      files++;
      if (!(flags & 1) || !(central.flags & 1)) return false;
      const aes = method === METHOD_AES ? findExtra(central.extra, AES_EXTRA) : undefined;
      if (method === METHOD_AES && (!aes || !findExtra(extra, AES_EXTRA))) return false;
      if (!looksEncrypted(buf.subarray(dataStart, dataEnd), aes)) return false;
    }
    pos = flags & 8 ? skipDescriptor(buf, dataEnd, central.compressedSize, dir.start) : dataEnd;
    if (pos < 0) return false;
    count++;
  }
  return pos === dir.start && count === dir.records.length && files > 0;
}

/** The compressed size in a local header, from its ZIP64 extra field (which then holds both sizes) when saturated. */
function localCompressedSize(buf: Buffer, pos: number, extra: Buffer): number {
  const size = u32(buf, pos + 18);
  if (size !== 0xffffffff && u32(buf, pos + 22) !== 0xffffffff) return size;
  const z = findExtra(extra, 0x0001);
  return z ? u64(z, 8) : -1;
}

/**
 * The position after a data descriptor: 12 or 20 bytes (ZIP64), optionally after a signature,
 * whose compressed size matches the central directory and that is followed by the next local
 * header or the central directory. -1 when none fits.
 */
function skipDescriptor(buf: Buffer, pos: number, compressedSize: number, limit: number): number {
  const bases = u32(buf, pos) === DESCRIPTOR_SIG ? [pos + 4, pos] : [pos];
  for (const base of bases) {
    for (const wide of [false, true]) {
      const next = base + (wide ? 20 : 12);
      const size = wide ? u64(buf, base + 4) : u32(buf, base + 4);
      if (next <= limit && size === compressedSize && (next === limit || u32(buf, next) === LOCAL_SIG)) return next;
    }
  }
  return -1;
}

/**
 * Stored bytes of an encrypted entry must look like ciphertext: not compressible (clear text under
 * a fake flag) and not DEFLATE (clear compressed data under a fake flag), whether read from the
 * start or from where the ciphertext begins after the ZipCrypto header (12 bytes) or the AES salt
 * and password verifier (8, 12 or 16 bytes + 2, by the 0x9901 strength byte).
 */
function looksEncrypted(data: Buffer, aes: Buffer | undefined): boolean {
  const skip = aes ? 4 * ((aes[4] ?? 3) + 1) + 2 : 12;
  return !compressible(data) && !inflates(data) && !inflates(data.subarray(skip));
}
