/**
 * Encrypted ZIPs from src/zip opened by programs nobody here wrote: 7-Zip (both ciphers),
 * Info-ZIP unzip and Python's zipfile (ZipCrypto; neither reads WinZip AES). Names and SHA-256
 * of every extracted file are compared with the originals; a wrong password must fail in each.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEVEN_ZIP } from '../support/archives.js';
import { requireTool } from '../support/tools.js';
import { generatePassword } from '../../src/zip/password.js';
import {
  expectedTree,
  type Fixture,
  hashTree,
  makeTempDir,
  run,
  runBuffer,
  sha256,
  streamEntries,
  writeFixtures,
  zipToFile,
} from './fixtures.js';

const has7z = requireTool(SEVEN_ZIP, '7zip');
const hasUnzip = requireTool('unzip', 'unzip');
const hasPython = requireTool('python3', 'python3');

const CIPHERS = ['aes256', 'zipcrypto'] as const;
const ENCODINGS = ['utf8', 'cp932'] as const;
const WRONG = 'Wrong-Password-9';

let dir: string;
let fixtures: Fixture[];
const password = generatePassword();
/** archive path per "cipher/names" */
const archives = new Map<string, string>();

beforeAll(async () => {
  dir = makeTempDir();
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  fixtures = writeFixtures(src);
  for (const cipher of CIPHERS) {
    for (const names of ENCODINGS) {
      const file = path.join(dir, `${cipher}-${names}.zip`);
      await zipToFile(file, streamEntries(fixtures), { password, cipher, names });
      archives.set(`${cipher}/${names}`, file);
    }
  }
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const extractDir = (label: string) => {
  const out = path.join(dir, `x-${label}-${Math.random().toString(36).slice(2)}`);
  fs.mkdirSync(out);
  return out;
};

describe.skipIf(!has7z)('7-Zip opens them', () => {
  for (const cipher of CIPHERS) {
    for (const names of ENCODINGS) {
      it(`${cipher}, ${names} names: tests OK, extracts every file with its name and content`, () => {
        const zip = archives.get(`${cipher}/${names}`)!;
        const t = run(SEVEN_ZIP, ['t', `-p${password}`, zip]);
        expect(t.status, t.stdout + t.stderr).toBe(0);
        expect(t.stdout).toContain('Everything is Ok');
        expect(t.stdout).toContain(`Files: ${fixtures.length}`);

        const out = extractDir(`7z-${cipher}-${names}`);
        const x = run(SEVEN_ZIP, ['x', `-p${password}`, `-o${out}`, '-y', zip]);
        expect(x.status, x.stdout + x.stderr).toBe(0);
        // 7-Zip on Linux writes names without the UTF-8 flag as their raw (here CP932) bytes.
        expect(hashTree(out, names)).toEqual(expectedTree(fixtures, names));
      });

      it(`${cipher}, ${names} names: a wrong password fails`, () => {
        const zip = archives.get(`${cipher}/${names}`)!;
        const t = run(SEVEN_ZIP, ['t', `-p${WRONG}`, zip]);
        expect(t.status).not.toBe(0);
        expect(t.stdout + t.stderr).toMatch(/Wrong password|CRC Failed|Data Error/);
        const out = extractDir(`7z-wrong-${cipher}-${names}`);
        expect(run(SEVEN_ZIP, ['x', `-p${WRONG}`, `-o${out}`, '-y', zip]).status).not.toBe(0);
      });
    }
  }

  it('lists the methods chosen: DEFLATE for text, STORE for random, already-compressed and empty files', () => {
    const listing = run(SEVEN_ZIP, ['l', '-slt', `-p${password}`, archives.get('aes256/utf8')!]).stdout;
    const methods = Object.fromEntries(
      listing
        .split(/\n\n/)
        .map((block) => [/^Path = (.*)$/m.exec(block)?.[1], /^Method = (.*)$/m.exec(block)?.[1]])
        .filter(([p, m]) => p && m),
    );
    expect(methods).toMatchObject({
      '見積書.txt': 'AES-256 Deflate',
      '表計算ソフト 集計.csv': 'AES-256 Deflate',
      '請求書 2026年11月.xlsx': 'AES-256 Store',
      '現場写真.jpg': 'AES-256 Store',
      '作業ログ.txt.gz': 'AES-256 Store',
      '空のファイル.dat': 'AES-256 Store',
      'empty.txt': 'AES-256 Store',
    });
    const zc = run(SEVEN_ZIP, ['l', '-slt', `-p${password}`, archives.get('zipcrypto/utf8')!]).stdout;
    expect(zc).toContain('Method = ZipCrypto Deflate');
    expect(zc).toContain('Method = ZipCrypto Store');
  });
});

describe.skipIf(!hasUnzip)('Info-ZIP unzip opens ZipCrypto', () => {
  it('UTF-8 names: tests OK and extracts every file with its name and content', () => {
    const zip = archives.get('zipcrypto/utf8')!;
    const t = run('unzip', ['-t', '-P', password, zip]);
    expect(t.status, t.stdout + t.stderr).toBe(0);
    expect(t.stdout).toContain('No errors detected');
    const out = extractDir('unzip-utf8');
    const x = run('unzip', ['-q', '-P', password, '-d', out, zip]);
    expect(x.status, x.stdout + x.stderr).toBe(0);
    expect(hashTree(out, 'utf8')).toEqual(expectedTree(fixtures, 'utf8'));
  });

  // unzip on Unix reads names without the UTF-8 flag as CP437 and treats 0x5C (the second byte
  // of 表 and ソ in Shift_JIS) as a path separator, so names are checked with 7-Zip and Python;
  // here the data: `unzip -p` writes every file's content in archive order.
  it('CP932 names: tests OK and every file content comes out intact', () => {
    const zip = archives.get('zipcrypto/cp932')!;
    const t = run('unzip', ['-t', '-P', password, zip]);
    expect(t.stdout).toContain('No errors detected');
    const p = runBuffer('unzip', ['-p', '-P', password, zip]);
    expect(p.status).toBe(0);
    expect(sha256(p.stdout)).toBe(sha256(Buffer.concat(fixtures.map((f) => fs.readFileSync(f.file)))));
  });

  it('a wrong password fails', () => {
    for (const names of ENCODINGS) {
      const zip = archives.get(`zipcrypto/${names}`)!;
      const t = run('unzip', ['-t', '-P', WRONG, zip]);
      expect(t.status).not.toBe(0);
      expect(t.stdout + t.stderr).toMatch(/incorrect password|bad CRC|invalid compressed data/);
      const out = extractDir(`unzip-wrong-${names}`);
      expect(run('unzip', ['-q', '-P', WRONG, '-d', out, zip]).status).not.toBe(0);
    }
  });
});

const PYTHON_EXTRACT = `
import sys, zipfile
zip_path, out, pwd = sys.argv[1], sys.argv[2], sys.argv[3].encode()
with zipfile.ZipFile(zip_path) as zf:
    for info in zf.infolist():
        if not info.flag_bits & 0x800:
            info.filename = info.filename.encode('cp437').decode('cp932')
    zf.extractall(out, members=zf.infolist(), pwd=pwd)
    zf.setpassword(pwd)
    for info in zf.infolist():
        zf.read(info)
`;

describe.skipIf(!hasPython)("Python's zipfile opens ZipCrypto", () => {
  for (const names of ENCODINGS) {
    it(`${names} names: extracts every file with its name and content`, () => {
      const out = extractDir(`py-${names}`);
      const r = run('python3', ['-c', PYTHON_EXTRACT, archives.get(`zipcrypto/${names}`)!, out, password]);
      expect(r.status, r.stderr).toBe(0);
      expect(hashTree(out, 'utf8')).toEqual(expectedTree(fixtures, names));
    });

    it(`${names} names: a wrong password fails`, () => {
      const out = extractDir(`py-wrong-${names}`);
      const r = run('python3', ['-c', PYTHON_EXTRACT, archives.get(`zipcrypto/${names}`)!, out, WRONG]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/Bad password|Bad CRC-32|Error -3/);
    });
  }
});

describe.skipIf(!has7z)('multi-megabyte entries, streamed', () => {
  const MB = 1024 * 1024;
  const random = randomBytes(20 * MB);
  // 8 MB alternating runs of one byte and random bytes: DEFLATE as a stream, in both directions.
  const mixed = Buffer.concat(Array.from({ length: 128 }, (_, i) => (i % 2 ? randomBytes(64 * 1024) : Buffer.alloc(64 * 1024, i))));
  const chunks = (buf: Buffer, size: number) => Readable.from(Array.from({ length: Math.ceil(buf.length / size) }, (_, i) => buf.subarray(i * size, (i + 1) * size)));

  for (const cipher of CIPHERS) {
    it(`${cipher}: 20 MB random (stored) and 8 MB mixed (deflated) come out intact from 7-Zip${cipher === 'zipcrypto' ? ' and unzip' : ''}`, async () => {
      const zip = path.join(dir, `big-${cipher}.zip`);
      await zipToFile(
        zip,
        [
          { name: '大きなファイル.bin', content: chunks(random, 1 << 20) },
          { name: 'mixed.dat', content: chunks(mixed, 100_000) },
          { name: 'あと.txt', content: Buffer.from('後続\n') },
        ],
        { password, cipher, names: 'utf8' },
      );
      const out = extractDir(`big-${cipher}`);
      const x = run(SEVEN_ZIP, ['x', `-p${password}`, `-o${out}`, '-y', zip]);
      expect(x.status, x.stdout + x.stderr).toBe(0);
      expect(hashTree(out, 'utf8')).toEqual({ '大きなファイル.bin': sha256(random), 'mixed.dat': sha256(mixed), 'あと.txt': sha256(Buffer.from('後続\n')) });
      expect(run(SEVEN_ZIP, ['l', '-slt', `-p${password}`, zip]).stdout).toMatch(/Path = mixed\.dat\n(.*\n)*?Method = \S+ Deflate/);
      if (cipher === 'zipcrypto' && hasUnzip) {
        const p = runBuffer('unzip', ['-p', '-P', password, zip, '大きなファイル.bin', 'mixed.dat']);
        expect(p.status, p.stderr).toBe(0);
        expect(sha256(p.stdout)).toBe(sha256(Buffer.concat([random, mixed])));
      }
    });
  }
});
