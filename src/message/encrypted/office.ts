import { u16, u32 } from '../../util/bytes.js';
import { LOCAL_SIG } from '../zip-directory.js';
import { SAMPLE, compressible } from './ciphertext.js';
import { Malformed, falseIfMalformed } from './malformed.js';

export const SIGNATURE = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const END_OF_CHAIN = 0xfffffffe;
const FREE = 0xffffffff;
const NO_STREAM = 0xffffffff;
const MINI_SECTOR = 64;
/** Streams under this size live in the mini stream. */
const MINI_CUTOFF = 4096;
const HEADER_DIFAT = 109;

interface Entry {
  name: string;
  type: number;
  left: number;
  right: number;
  child: number;
  start: number;
  size: number;
}

/**
 * An OLE compound file ([MS-CFB]) as Office writes a password-protected document ([MS-OFFCRYPTO]):
 * EncryptionInfo (standard 2.2/3.2/4.2 or agile 4.4) and EncryptedPackage streams in the root
 * storage, the package looking like ciphertext. Sectors are followed through the FAT (found
 * through the DIFAT) and the mini FAT, every chain bounded by the number of sectors.
 */
export function isEncryptedOffice(buf: Buffer): boolean {
  return falseIfMalformed(() => check(buf));
}

function check(buf: Buffer): boolean {
  if (buf.length < 512 || !buf.subarray(0, 8).equals(SIGNATURE) || u16(buf, 28) !== 0xfffe) return false;
  const major = u16(buf, 26);
  const shift = u16(buf, 30);
  if (!((major === 3 && shift === 9) || (major === 4 && shift === 12)) || u16(buf, 32) !== 6 || u32(buf, 56) !== MINI_CUTOFF) return false;
  const cfb = new Compound(buf, 1 << shift);

  const dir = cfb.read(cfb.chain(u32(buf, 48)));
  const entry = (id: number) => (id < dir.length / 128 ? entryAt(dir, id * 128) : undefined);
  const root = entry(0);
  if (!root || root.type !== 5) return false;

  // The root's children form a tree through left/right sibling links.
  const found = new Map<string, Entry>();
  const seen = new Set<number>();
  const todo = [root.child];
  while (todo.length) {
    const id = todo.pop()!;
    if (id === NO_STREAM) continue;
    const e = entry(id);
    if (!e || seen.has(id)) return false;
    seen.add(id);
    if (e.type === 2) {
      if (found.has(e.name)) return false; // two streams of one name: which would Office read?
      found.set(e.name, e);
    }
    todo.push(e.left, e.right);
  }
  const info = found.get('EncryptionInfo');
  const pkg = found.get('EncryptedPackage');
  // the package: its clear size (8 bytes), then at least one AES block
  if (!info || !pkg || info.size < 8 || pkg.size < 8 + 16) return false;

  const version = cfb.stream(info, root, 4);
  const vMajor = version.readUInt16LE(0);
  const vMinor = version.readUInt16LE(2);
  const known = (vMinor === 2 && vMajor >= 2 && vMajor <= 4) || (vMajor === 4 && vMinor === 4);
  const data = cfb.stream(pkg, root, 8 + SAMPLE).subarray(8);
  // ciphertext: not compressible, and not a clear OOXML package (a ZIP) under the encrypted name
  return known && !compressible(data) && data.readUInt32LE(0) !== LOCAL_SIG;
}

function entryAt(dir: Buffer, p: number): Entry {
  const nameLength = dir.readUInt16LE(p + 64);
  // the length counts the terminating NUL
  const name = nameLength >= 2 && nameLength <= 64 ? dir.toString('utf16le', p, p + nameLength - 2) : '';
  return {
    name,
    type: dir[p + 66]!,
    left: dir.readUInt32LE(p + 68),
    right: dir.readUInt32LE(p + 72),
    child: dir.readUInt32LE(p + 76),
    start: dir.readUInt32LE(p + 116),
    // version 3 files may leave garbage in the high half; no real stream is 4 GiB
    size: dir.readUInt32LE(p + 120),
  };
}

class Compound {
  /** Whole sectors after the header. */
  private readonly sectors: number;
  private readonly fatSectors: number[] = [];
  private miniFat?: number[];
  private miniStream?: Buffer;

  constructor(
    private readonly buf: Buffer,
    private readonly sectorSize: number,
  ) {
    this.sectors = Math.floor(buf.length / sectorSize) - 1;
    const wanted = u32(buf, 44);
    if (wanted > this.sectors) throw new Malformed();
    // The DIFAT: 109 FAT sector numbers in the header, more in a chain of DIFAT sectors, each ending with the next one's number.
    const add = (s: number) => {
      if (s !== FREE && this.fatSectors.length < wanted) this.fatSectors.push(this.sector(s));
    };
    for (let i = 0; i < HEADER_DIFAT; i++) add(u32(buf, 76 + 4 * i));
    const perSector = sectorSize / 4 - 1;
    let next = u32(buf, 68);
    const difatSectors = u32(buf, 72);
    for (let n = 0; this.fatSectors.length < wanted; n++) {
      if (n >= difatSectors || n >= this.sectors) throw new Malformed();
      const at = this.offset(next);
      for (let i = 0; i < perSector; i++) add(buf.readUInt32LE(at + 4 * i));
      next = buf.readUInt32LE(at + 4 * perSector);
    }
  }

  /** The file offset of a sector, which must lie wholly in the file. */
  private offset(s: number): number {
    return (this.sector(s) + 1) * this.sectorSize;
  }

  private sector(s: number): number {
    if (!(s >= 0 && s < this.sectors)) throw new Malformed();
    return s;
  }

  private fat(s: number): number {
    const per = this.sectorSize / 4;
    const fatSector = this.fatSectors[Math.floor(s / per)];
    if (fatSector === undefined) throw new Malformed();
    return this.buf.readUInt32LE(this.offset(fatSector) + 4 * (s % per));
  }

  /** A sector chain; a chain longer than the file has sectors is a loop. */
  chain(start: number): number[] {
    const out: number[] = [];
    for (let s = start; s !== END_OF_CHAIN; s = this.fat(s)) {
      if (out.length >= this.sectors) throw new Malformed();
      out.push(this.sector(s));
    }
    return out;
  }

  read(chain: number[]): Buffer {
    return Buffer.concat(chain.map((s) => this.buf.subarray(this.offset(s), this.offset(s) + this.sectorSize)));
  }

  /** The first `max` bytes of a stream, from the mini stream when it is under the cutoff. */
  stream(e: Entry, root: Entry, max: number): Buffer {
    const want = Math.min(e.size, max);
    let data: Buffer;
    if (e.size < MINI_CUTOFF) {
      const mini = this.mini(root);
      const parts: Buffer[] = [];
      let s = e.start;
      for (let got = 0; got < want; got += MINI_SECTOR) {
        const at = s * MINI_SECTOR;
        if (!(at >= 0 && at + MINI_SECTOR <= mini.stream.length) || parts.length >= mini.fat.length) throw new Malformed();
        parts.push(mini.stream.subarray(at, at + MINI_SECTOR));
        s = mini.fat[s] ?? FREE;
      }
      data = Buffer.concat(parts);
    } else {
      // the whole chain must be there, though only its start is read
      const chain = this.chain(e.start);
      if (chain.length * this.sectorSize < e.size) throw new Malformed();
      data = this.read(chain.slice(0, Math.ceil(want / this.sectorSize)));
    }
    if (data.length < want) throw new Malformed();
    return data.subarray(0, want);
  }

  /** The mini FAT and the mini stream (the root entry's stream). */
  private mini(root: Entry): { fat: number[]; stream: Buffer } {
    if (!this.miniFat || !this.miniStream) {
      const table = this.read(this.chain(u32(this.buf, 60)));
      this.miniFat = Array.from({ length: table.length / 4 }, (_, i) => table.readUInt32LE(4 * i));
      this.miniStream = this.read(this.chain(root.start)).subarray(0, root.size);
    }
    return { fat: this.miniFat, stream: this.miniStream };
  }
}
