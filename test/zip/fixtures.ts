import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';
import { createEncryptedZip, type ZipEntryInput, type ZipOptions } from '../../src/zip/writer.js';

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

export function makeTempDir(prefix = 'outguard-zip-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Child processes get a UTF-8 locale, so 7-Zip, unzip and Python write UTF-8 names as UTF-8 on any machine. */
export const TOOL_ENV = { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8', PYTHONIOENCODING: 'utf-8' };

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], cwd?: string): RunResult {
  const r = spawnSync(command, args, { cwd, env: TOOL_ENV, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like run(), but the raw stdout bytes. */
export function runBuffer(command: string, args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(command, args, { env: TOOL_ENV, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

const PROSE = [
  'いつも大変お世話になっております。',
  '標記の件につきまして、下記のとおりお見積もり申し上げます。',
  '納期は契約締結後二か月以内を予定しております。',
  'ご不明な点がございましたら、担当までお問い合わせください。',
  '本見積書の有効期限は発行日から三十日間です。',
  '受託者は、委託者の情報資産を適切に管理しなければならない。',
];

/** Japanese business prose of about `bytes` bytes (UTF-8), varied enough not to be a single repeat. */
export function japaneseText(bytes: number, seed = 1): Buffer {
  let x = seed;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const s = `${PROSE[next() % PROSE.length]}（案件番号 ${next() % 100000}、金額 ${(next() % 9000000) + 1000} 円）\n`;
    parts.push(s);
    n += Buffer.byteLength(s);
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

export interface Fixture {
  /** Name as attached. */
  name: string;
  file: string;
  sha256: string;
  size: number;
}

/**
 * The attachment set: Japanese names, a compressible text file big enough to be deflated as a
 * stream, an .xlsx-like random binary, a .jpg of random bytes, a real gzip, two empty files, a
 * name with spaces and full-width characters, a name whose Shift_JIS bytes contain 0x5C (表, ソ),
 * and one with 〜 (WAVE DASH), which CP932 writes as ～.
 */
export function writeFixtures(dir: string): Fixture[] {
  const csv = Buffer.from(
    ['日付,部署,件名,金額', ...Array.from({ length: 12000 }, (_, i) => `2026-11-${String((i % 28) + 1).padStart(2, '0')},総務部,備品購入 ${i},${(i * 7919) % 100000}`)].join('\r\n'),
  );
  const files: Record<string, Buffer> = {
    '見積書.txt': japaneseText(30_000),
    '請求書 2026年11月.xlsx': randomBytes(200_000),
    '現場写真.jpg': Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(120_000)]),
    '作業ログ.txt.gz': zlib.gzipSync(japaneseText(50_000, 7)),
    '空のファイル.dat': Buffer.alloc(0),
    'empty.txt': Buffer.alloc(0),
    '議事録 （第３回）　最終版.txt': Buffer.from('出席者：山田、鈴木\r\n議題：ネットワーク更改\r\n'),
    '表計算ソフト 集計.csv': csv,
    '4月〜6月 実績.txt': japaneseText(5_000, 3),
  };
  return Object.entries(files).map(([name, content]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return { name, file, sha256: sha256(content), size: content.length };
  });
}

/** Entries reading the fixtures from disk as streams. */
export function streamEntries(fixtures: Fixture[]): ZipEntryInput[] {
  return fixtures.map((f) => ({ name: f.name, content: fs.createReadStream(f.file), mtime: new Date(2026, 10, 26, 10, 30, 0) }));
}

/** Writes the archive to a file, streaming. */
export async function zipToFile(file: string, entries: ZipEntryInput[], options: ZipOptions): Promise<void> {
  await pipeline(createEncryptedZip(entries, options), fs.createWriteStream(file));
}

/** The name a fixture has in the archive: CP932 writes 〜 as ～. */
export function expectedName(name: string, names: 'utf8' | 'cp932'): string {
  return names === 'cp932' ? name.replace(/\u301c/g, '\uff5e') : name;
}

/** Every regular file under dir: name (decoded from its raw bytes) → SHA-256. */
export function hashTree(dir: string, names: 'utf8' | 'cp932'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of fs.readdirSync(dir, { encoding: 'buffer' })) {
    const full = path.join(dir, raw.toString('latin1'));
    const p = Buffer.concat([Buffer.from(dir + path.sep), raw]);
    const stat = fs.statSync(p);
    if (!stat.isFile()) throw new Error(`unexpected non-file ${full} in extracted tree`);
    const name = names === 'cp932' ? iconv.decode(raw, 'cp932') : raw.toString('utf8');
    out[name] = sha256(fs.readFileSync(p));
  }
  return out;
}

export function expectedTree(fixtures: Fixture[], names: 'utf8' | 'cp932'): Record<string, string> {
  return Object.fromEntries(fixtures.map((f) => [expectedName(f.name, names), f.sha256]));
}

/** One record of a ZIP central directory, as the writer wrote it. */
export interface CentralRecord {
  versionMadeBy: number;
  versionNeeded: number;
  flags: number;
  method: number;
  time: number;
  date: number;
  crc: number;
  compressedSize: number;
  size: number;
  nameBytes: Buffer;
  extra: Map<number, Buffer>;
  offset: number;
}

/** Parses the central directory (no ZIP64, no comment), for structural assertions. */
export function centralDirectory(zip: Buffer): CentralRecord[] {
  const eocd = zip.length - 22;
  if (zip.readUInt32LE(eocd) !== 0x06054b50) throw new Error('no end record in the last 22 bytes');
  const count = zip.readUInt16LE(eocd + 10);
  const size = zip.readUInt32LE(eocd + 12);
  let pos = zip.readUInt32LE(eocd + 16);
  if (pos + size !== eocd) throw new Error('central directory does not end at the end record');
  const records: CentralRecord[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(pos) !== 0x02014b50) throw new Error(`bad central record signature at ${pos}`);
    const nameLength = zip.readUInt16LE(pos + 28);
    const extraLength = zip.readUInt16LE(pos + 30);
    const commentLength = zip.readUInt16LE(pos + 32);
    const extraBytes = zip.subarray(pos + 46 + nameLength, pos + 46 + nameLength + extraLength);
    const extra = new Map<number, Buffer>();
    for (let e = 0; e + 4 <= extraBytes.length; ) {
      const id = extraBytes.readUInt16LE(e);
      const len = extraBytes.readUInt16LE(e + 2);
      extra.set(id, extraBytes.subarray(e + 4, e + 4 + len));
      e += 4 + len;
    }
    records.push({
      versionMadeBy: zip.readUInt16LE(pos + 4),
      versionNeeded: zip.readUInt16LE(pos + 6),
      flags: zip.readUInt16LE(pos + 8),
      method: zip.readUInt16LE(pos + 10),
      time: zip.readUInt16LE(pos + 12),
      date: zip.readUInt16LE(pos + 14),
      crc: zip.readUInt32LE(pos + 16),
      compressedSize: zip.readUInt32LE(pos + 20),
      size: zip.readUInt32LE(pos + 24),
      nameBytes: Buffer.from(zip.subarray(pos + 46, pos + 46 + nameLength)),
      extra,
      offset: zip.readUInt32LE(pos + 42),
    });
    pos += 46 + nameLength + extraLength + commentLength;
  }
  return records;
}
