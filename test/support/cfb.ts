import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requirePythonModule } from './tools.js';

const FREE = 0xffffffff;
const END_OF_CHAIN = 0xfffffffe;
const FAT_SECTOR = 0xfffffffd;
const DIFAT_SECTOR = 0xfffffffc;
const NO_STREAM = 0xffffffff;
const MINI_CUTOFF = 4096;
const MINI_SECTOR = 64;

/**
 * A minimal OLE compound file ([MS-CFB]) holding the given streams in its root storage: header,
 * FAT (listed in the header's DIFAT, then in DIFAT sectors past 109 FAT sectors), directory, mini
 * FAT and mini stream for streams under 4096 bytes. Version 3 has 512-byte sectors, version 4 has
 * 4096-byte ones.
 */
export function compoundFile(streams: Record<string, Buffer>, version: 3 | 4 = 3): Buffer {
  const sectorSize = version === 4 ? 4096 : 512;
  const sectors: Buffer[] = [];
  const fat: number[] = [];
  /** Appends data as a chain of whole sectors; returns its first sector. */
  const allocate = (data: Buffer, mark?: number): number => {
    if (data.length === 0) return END_OF_CHAIN;
    const start = sectors.length;
    const count = Math.ceil(data.length / sectorSize);
    for (let i = 0; i < count; i++) {
      const sector = Buffer.alloc(sectorSize);
      data.copy(sector, 0, i * sectorSize, (i + 1) * sectorSize);
      sectors.push(sector);
      fat.push(mark ?? (i === count - 1 ? END_OF_CHAIN : start + i + 1));
    }
    return start;
  };

  // CFB orders siblings by name length, then by upper-cased name
  const names = Object.keys(streams).sort((a, b) => a.length - b.length || (a.toUpperCase() < b.toUpperCase() ? -1 : 1));
  const starts = new Map<string, number>();
  const mini: Buffer[] = [];
  const miniFat: number[] = [];
  for (const name of names) {
    const data = streams[name]!;
    if (data.length >= MINI_CUTOFF) {
      starts.set(name, allocate(data));
    } else if (data.length > 0) {
      const start = miniFat.length;
      const count = Math.ceil(data.length / MINI_SECTOR);
      for (let i = 0; i < count; i++) miniFat.push(i === count - 1 ? END_OF_CHAIN : start + i + 1);
      mini.push(data, Buffer.alloc(count * MINI_SECTOR - data.length));
      starts.set(name, start);
    } else {
      starts.set(name, END_OF_CHAIN);
    }
  }
  const miniStream = Buffer.concat(mini);
  const miniStreamStart = allocate(miniStream);
  const miniFatBytes = u32s(miniFat, sectorSize);
  const miniFatStart = allocate(miniFatBytes);

  // Directory: root entry, then the streams as a balanced binary tree, the deepest level red.
  const entries: Buffer[] = [];
  const children: { left: number; right: number; depth: number }[] = [];
  const build = (lo: number, hi: number, depth: number): number => {
    if (lo > hi) return NO_STREAM;
    const mid = (lo + hi) >> 1;
    children[mid] = { left: build(lo, mid - 1, depth + 1), right: build(mid + 1, hi, depth + 1), depth };
    return mid + 1;
  };
  const top = build(0, names.length - 1, 0);
  const deepest = Math.max(0, ...children.map((c) => c.depth));
  entries.push(dirEntry('Root Entry', 5, 1, NO_STREAM, NO_STREAM, top, miniStreamStart, miniStream.length));
  names.forEach((name, i) => {
    const c = children[i]!;
    const red = c.depth === deepest && c.depth > 0;
    entries.push(dirEntry(name, 2, red ? 0 : 1, c.left, c.right, NO_STREAM, starts.get(name)!, streams[name]!.length));
  });
  while ((entries.length * 128) % sectorSize) entries.push(dirEntry('', 0, 0, NO_STREAM, NO_STREAM, NO_STREAM, 0, 0));
  const directory = Buffer.concat(entries);
  const directoryStart = allocate(directory);

  // FAT sectors: enough to describe every sector, themselves and the DIFAT sectors included.
  // The header lists the first 109; DIFAT sectors list the rest, the last entry of each the next one.
  const perSector = sectorSize / 4;
  const difatFor = (fats: number) => Math.max(0, Math.ceil((fats - 109) / (perSector - 1)));
  let fatCount = 1;
  while (fatCount * perSector < sectors.length + fatCount + difatFor(fatCount)) fatCount++;
  const difatCount = difatFor(fatCount);
  const fatStart = sectors.length;
  for (let i = 0; i < fatCount; i++) allocate(Buffer.alloc(sectorSize), FAT_SECTOR);
  const difatStart = sectors.length;
  for (let i = 0; i < difatCount; i++) {
    const difat = Buffer.alloc(sectorSize, 0xff);
    for (let k = 0; k < perSector - 1; k++) {
      const n = 109 + i * (perSector - 1) + k;
      if (n < fatCount) difat.writeUInt32LE(fatStart + n, 4 * k);
    }
    difat.writeUInt32LE(i === difatCount - 1 ? END_OF_CHAIN : difatStart + i + 1, sectorSize - 4);
    allocate(difat, DIFAT_SECTOR);
  }
  const fatBytes = u32s(fat, sectorSize);
  for (let i = 0; i < fatCount; i++) fatBytes.copy(sectors[fatStart + i]!, 0, i * sectorSize, (i + 1) * sectorSize);

  const header = Buffer.alloc(sectorSize);
  Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(header, 0);
  header.writeUInt16LE(0x3e, 24); // minor version
  header.writeUInt16LE(version, 26);
  header.writeUInt16LE(0xfffe, 28); // byte order
  header.writeUInt16LE(version === 4 ? 12 : 9, 30); // sector shift
  header.writeUInt16LE(6, 32); // mini sector shift
  header.writeUInt32LE(version === 4 ? directory.length / sectorSize : 0, 40);
  header.writeUInt32LE(fatCount, 44);
  header.writeUInt32LE(directoryStart, 48);
  header.writeUInt32LE(MINI_CUTOFF, 56);
  header.writeUInt32LE(miniFatStart, 60);
  header.writeUInt32LE(miniFatBytes.length / sectorSize, 64);
  header.writeUInt32LE(difatCount ? difatStart : END_OF_CHAIN, 68);
  header.writeUInt32LE(difatCount, 72);
  for (let i = 0; i < 109; i++) header.writeUInt32LE(i < fatCount ? fatStart + i : FREE, 76 + 4 * i);
  return Buffer.concat([header, ...sectors]);
}

/** Little-endian 32-bit values, padded with FREE to whole sectors. */
function u32s(values: number[], sectorSize: number): Buffer {
  const out = Buffer.alloc(Math.ceil((values.length * 4) / sectorSize) * sectorSize, 0xff);
  values.forEach((v, i) => out.writeUInt32LE(v, 4 * i));
  return out;
}

function dirEntry(name: string, type: number, color: number, left: number, right: number, child: number, start: number, size: number): Buffer {
  const e = Buffer.alloc(128);
  e.write(name, 0, 'utf16le');
  e.writeUInt16LE(name ? (name.length + 1) * 2 : 0, 64);
  e[66] = type;
  e[67] = color;
  e.writeUInt32LE(left, 68);
  e.writeUInt32LE(right, 72);
  e.writeUInt32LE(child, 76);
  e.writeUInt32LE(start, 116);
  e.writeBigUInt64LE(BigInt(size), 120);
  return e;
}

/** EncryptionInfo of agile encryption ([MS-OFFCRYPTO] 2.3.4.10): version 4.4, reserved 0x40, then the XML descriptor. */
export function agileEncryptionInfo(): Buffer {
  const xml =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' +
    '<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password">' +
    '<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/>' +
    '<keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password">' +
    '<p:encryptedKey spinCount="100000" saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/>' +
    '</keyEncryptor></keyEncryptors></encryption>';
  const head = Buffer.alloc(8);
  head.writeUInt16LE(4, 0);
  head.writeUInt16LE(4, 2);
  head.writeUInt32LE(0x40, 4);
  return Buffer.concat([head, Buffer.from(xml, 'utf8')]);
}

/** EncryptedPackage: the clear package's size (8 bytes), then the given (cipher) bytes. */
export function encryptedPackage(data: Buffer, clearSize = data.length): Buffer {
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(clearSize));
  return Buffer.concat([size, data]);
}

/** A python3 that has Debian's python3-olefile, or undefined after a SKIPPED note (an error under CI=true). */
export const requireOlefile = (): string | undefined => requirePythonModule('olefile', 'python3-olefile');

/** The streams of a compound file as olefile reads them, strict about defects: {path: bytes}. */
export function readWithOlefile(python: string, file: Buffer): Record<string, Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-cfb-'));
  const target = path.join(dir, 'file.bin');
  fs.writeFileSync(target, file);
  try {
  const script =
    'import json, sys, olefile\n' +
    'o = olefile.OleFileIO(sys.argv[1], raise_defects=olefile.DEFECT_INCORRECT)\n' +
    "print(json.dumps({'/'.join(p): o.openstream(p).read().hex() for p in o.listdir()}))\n";
    const out = JSON.parse(execFileSync(python, ['-c', script, target], { encoding: 'utf8', maxBuffer: 1 << 30 })) as Record<string, string>;
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Buffer.from(v, 'hex')]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
