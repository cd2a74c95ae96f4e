import { u32, u64 } from '../util/bytes.js';

/** One entry of a ZIP file's central directory. */
export interface ZipEntry {
  name: string;
  encrypted: boolean;
}

/** A central directory record, ZIP64 values resolved. */
export interface CentralRecord {
  name: string;
  nameBytes: Buffer;
  extra: Buffer;
  flags: number;
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local header. */
  offset: number;
}

export interface CentralDirectory {
  records: CentralRecord[];
  /** Entries announced by the end record (ZIP64 one if any). */
  total: number;
  /** Where the central directory starts. */
  start: number;
  /**
   * Every announced record was read, the records fill the directory exactly, ZIP64 values were
   * all found, the end record's comment runs to the end of the file and there is one disk.
   */
  wellFormed: boolean;
}

export const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

/** The data of the first extra field with this id, or undefined. */
export function findExtra(extra: Buffer, id: number): Buffer | undefined {
  for (let p = 0; p + 4 <= extra.length; ) {
    const size = extra.readUInt16LE(p + 2);
    if (p + 4 + size > extra.length) return undefined;
    if (extra.readUInt16LE(p) === id) return extra.subarray(p + 4, p + 4 + size);
    p += 4 + size;
  }
  return undefined;
}

/** The end of central directory record: the one whose comment ends the file, else the last one seen. */
function findEnd(buf: Buffer): { pos: number; exact: boolean } | undefined {
  let found = -1;
  // It sits in the last 22 bytes plus at most a 64 KiB comment.
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - MAX16); i--) {
    if (buf[i] !== 0x50 || buf.readUInt32LE(i) !== EOCD_SIG) continue;
    if (i + 22 + buf.readUInt16LE(i + 20) === buf.length) return { pos: i, exact: true };
    if (found < 0) found = i;
  }
  return found < 0 ? undefined : { pos: found, exact: false };
}

/**
 * Reads a ZIP file's central directory (through the ZIP64 end record when the classic one is
 * saturated). Never throws; undefined when no end record is found. Records that do not parse end
 * the list early and leave wellFormed false, so a lenient caller still gets what could be read.
 */
export function readCentralDirectory(buf: Buffer): CentralDirectory | undefined {
  if (buf.length < 22) return undefined;
  const end = findEnd(buf);
  if (!end) return undefined;
  const e = end.pos;
  let disks = buf.readUInt16LE(e + 4) | buf.readUInt16LE(e + 6);
  let onDisk = buf.readUInt16LE(e + 8);
  let total = buf.readUInt16LE(e + 10);
  let size = buf.readUInt32LE(e + 12);
  let start = buf.readUInt32LE(e + 16);
  let limit = e;
  let wellFormed = end.exact;
  if (total === MAX16 || onDisk === MAX16 || size === MAX32 || start === MAX32) {
    const z = u32(buf, e - 20) === ZIP64_LOCATOR_SIG ? u64(buf, e - 12) : -1;
    if (z >= 0 && z + 56 <= e - 20 && u32(buf, z) === ZIP64_EOCD_SIG) {
      disks = u32(buf, z + 16) | u32(buf, z + 20);
      onDisk = u64(buf, z + 24);
      total = u64(buf, z + 32);
      size = u64(buf, z + 40);
      start = u64(buf, z + 48);
      limit = z;
    } else if (total === MAX16 && size !== MAX32 && start !== MAX32) {
      // exactly 65,535 entries without ZIP64: legal, the classic values stand
    } else {
      return undefined;
    }
  }
  if (disks !== 0 || onDisk !== total || total < 0 || size < 0 || start < 0 || start + size > limit) wellFormed = false;

  const records: CentralRecord[] = [];
  let p = start;
  // every record takes at least 46 bytes, so this ends within the buffer whatever `total` says
  while (records.length < total && p >= 0 && p + 46 <= buf.length && buf.readUInt32LE(p) === CENTRAL_SIG) {
    const flags = buf.readUInt16LE(p + 8);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const next = p + 46 + nameLength + extraLength + buf.readUInt16LE(p + 32);
    if (next > buf.length) break;
    const nameBytes = buf.subarray(p + 46, p + 46 + nameLength);
    const extra = buf.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength);
    const r: CentralRecord = {
      // bit 11: UTF-8 names; otherwise names are CP437 or, from Japanese Windows, CP932
      name: flags & 0x800 ? nameBytes.toString('utf8') : nameBytes.toString('latin1'),
      nameBytes,
      extra,
      flags,
      method: buf.readUInt16LE(p + 10),
      compressedSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      offset: buf.readUInt32LE(p + 42),
    };
    // ZIP64 extra field: the saturated values, in this order
    if (r.size === MAX32 || r.compressedSize === MAX32 || r.offset === MAX32) {
      const z = findExtra(extra, 0x0001) ?? Buffer.alloc(0);
      let q = 0;
      const take = () => {
        const v = u64(z, q);
        q += 8;
        if (v < 0) wellFormed = false;
        return v;
      };
      if (r.size === MAX32) r.size = take();
      if (r.compressedSize === MAX32) r.compressedSize = take();
      if (r.offset === MAX32) r.offset = take();
    }
    records.push(r);
    p = next;
  }
  if (records.length !== total || p !== start + size) wellFormed = false;
  return { records, total, start, wellFormed };
}

/**
 * Reads the central directory of a ZIP file: entry names and their encryption flag.
 * Returns undefined when the bytes are not a readable ZIP (so callers can treat it as opaque);
 * a directory cut short gives the entries read so far. Never throws.
 */
export function readZipDirectory(buf: Buffer): ZipEntry[] | undefined {
  try {
    if (u32(buf, 0) !== LOCAL_SIG) return undefined;
    const dir = readCentralDirectory(buf);
    if (!dir || (dir.records.length === 0 && dir.total !== 0)) return undefined;
    return dir.records.map((r) => ({ name: r.name, encrypted: (r.flags & 1) === 1 }));
  } catch {
    return undefined;
  }
}
