/** One entry of a ZIP file's central directory. */
export interface ZipEntry {
  name: string;
  encrypted: boolean;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;

/**
 * Reads the central directory of a ZIP file: entry names and their encryption flag.
 * Returns undefined when the bytes are not a readable ZIP (so callers can treat it as opaque).
 */
export function readZipDirectory(buf: Buffer): ZipEntry[] | undefined {
  if (buf.length < 22 || buf.readUInt32LE(0) !== 0x04034b50) return undefined;
  // The end record sits in the last 22 bytes plus at most a 64 KiB comment.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return undefined;
  const count = buf.readUInt16LE(eocd + 10);
  let pos = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (pos + 46 > buf.length || buf.readUInt32LE(pos) !== CENTRAL) return entries.length ? entries : undefined;
    const flags = buf.readUInt16LE(pos + 8);
    const nameLength = buf.readUInt16LE(pos + 28);
    const extraLength = buf.readUInt16LE(pos + 30);
    const commentLength = buf.readUInt16LE(pos + 32);
    const nameBytes = buf.subarray(pos + 46, pos + 46 + nameLength);
    // bit 11: UTF-8 names; otherwise names are CP437 or, from Japanese Windows, CP932
    const name = flags & 0x800 ? nameBytes.toString('utf8') : nameBytes.toString('latin1');
    entries.push({ name, encrypted: (flags & 1) === 1 });
    pos += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
