/**
 * Encrypted ZIP throughput and memory: outguard's writer (src/zip) against 7-Zip and against the
 * npm packages archiver + archiver-zip-encrypted on the same files, in one run.
 * `npm run bench:zip`.
 *
 * Throughput: AES-256 archives of three data sets, each made by outguard and by archiver with
 * archiver-zip-encrypted (`zip-encrypted` format, zlib level 5), both in this process streaming
 * the files from disk to an archive on disk, and by `7zz a -tzip -mem=AES256 -mx=5 -mmt=1` (a
 * child process, same files, same disk):
 *   - random:  one 100 MB file of random bytes (incompressible),
 *   - text:    one 30 MB file of Japanese business prose (UTF-8),
 *   - office:  a mixed set: .docx-like (ZIPped XML), CSV, and PNG-like files.
 * Each is timed BENCH_ZIP_ROUNDS times (default 3), rotating who goes first; the median counts.
 * MB/s is 10^6 bytes of input per second. ratio = outguard / 7-Zip (target ≥ 1.0); the
 * outguard / archiver ratio is for information. outguard's and archiver's archives are checked
 * with `7zz t` once. ZipCrypto figures (one round; archiver-zip-encrypted's `zip20`) follow for
 * information.
 *
 * Memory: ten messages with 25 MB of attachments each, zipped at once in a child process
 * (bench/zip-memory.ts), peak RSS from /proc/self/status VmHWM and 50 ms samples (target
 * < 400 MB): by outguard once with attachments streamed from disk, once held in memory as
 * Buffers, as a parsed message holds them; and by archiver, streamed from disk.
 *
 * Prints a table and one JSON line. Files live in a temp dir, removed at the end (BENCH_KEEP=1
 * keeps it). Exit status 0 unless something failed; a ratio or memory figure off target is
 * reported, not failed (BENCH_ENFORCE=1 makes it exit 3).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import archiver from 'archiver';
import zipEncrypted from 'archiver-zip-encrypted';
import { createEncryptedZip } from '../src/zip/writer.js';
import { NAMES, OBJECTS, SUBJECTS, japaneseProse, prng, writeRandom } from './data.js';

const SEVEN_ZIP = ['7zz', '7z'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
if (!SEVEN_ZIP) {
  console.error('7-Zip not found: install the Debian package "7zip" (apt-get install -y 7zip)');
  process.exit(1);
}
const ROUNDS = Math.max(1, Number(process.env.BENCH_ZIP_ROUNDS ?? 3));
const PASSWORD = 'Bench-Pass-2026';
const MB = 1e6;
const MiB = 1024 * 1024;
const ENV = { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' };
const here = path.dirname(fileURLToPath(import.meta.url));
archiver.registerFormat('zip-encrypted', zipEncrypted);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-bench-zip-'));
const cleanup = () => {
  if (process.env.BENCH_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

// ---- data ---------------------------------------------------------------------------------

function csv(rows: number, seed: number): Buffer {
  const r = prng(seed);
  const lines = ['伝票番号,日付,部署,担当者,品目,数量,単価,金額,備考'];
  for (let i = 0; i < rows; i++) {
    const qty = 1 + r(50);
    const price = (1 + r(500)) * 100;
    lines.push(`${100000 + i},2026/${1 + r(12)}/${1 + r(28)},${SUBJECTS[r(SUBJECTS.length)]},${NAMES[r(NAMES.length)]},${OBJECTS[r(OBJECTS.length)]},${qty},${price},${qty * price},${r(4) ? '' : '至急'}`);
  }
  return Buffer.from(lines.join('\r\n'));
}

/** A .docx-like file: document XML with prose, ZIPped (plain, DEFLATE) by 7-Zip as Word does. */
function docx(file: string, bytes: number, seed: number): void {
  const work = fs.mkdtempSync(path.join(dir, 'docx-'));
  const paras = japaneseProse(bytes, seed)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((t) => `<w:p><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:rPr><w:rFonts w:eastAsia="游明朝"/></w:rPr><w:t>${t}</w:t></w:r></w:p>`)
    .join('');
  fs.mkdirSync(path.join(work, 'word'));
  fs.writeFileSync(path.join(work, '[Content_Types].xml'), '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>');
  fs.writeFileSync(path.join(work, 'word', 'document.xml'), `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${paras}</w:body></w:document>`);
  fs.writeFileSync(path.join(work, 'word', 'media.bin'), randomBytes(Math.floor(bytes / 4))); // an embedded picture
  execFileSync(SEVEN_ZIP!, ['a', '-tzip', '-mx=5', '-bd', '-bso0', file, '[Content_Types].xml', 'word'], { cwd: work, env: ENV });
  fs.rmSync(work, { recursive: true, force: true });
}

function png(file: string, bytes: number): void {
  fs.writeFileSync(file, Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), randomBytes(bytes - 16)]));
}

interface DataSet {
  name: string;
  dir: string;
  files: string[];
  bytes: number;
}

function dataSet(name: string, make: (d: string) => void): DataSet {
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  make(d);
  const files = fs.readdirSync(d).sort();
  return { name, dir: d, files, bytes: files.reduce((n, f) => n + fs.statSync(path.join(d, f)).size, 0) };
}

// ---- measuring ----------------------------------------------------------------------------

type Cipher = 'aes256' | 'zipcrypto';

async function outguard(set: DataSet, cipher: Cipher, out: string): Promise<number> {
  const start = performance.now();
  const entries = set.files.map((f) => ({ name: f, content: fs.createReadStream(path.join(set.dir, f)) }));
  await pipeline(createEncryptedZip(entries, { password: PASSWORD, cipher, names: 'utf8', level: 6 }), fs.createWriteStream(out));
  return (performance.now() - start) / 1000;
}

async function archiverZip(set: DataSet, cipher: Cipher, out: string): Promise<number> {
  const start = performance.now();
  const options: zipEncrypted.Options = { zlib: { level: 5 }, password: PASSWORD, encryptionMethod: cipher === 'aes256' ? 'aes256' : 'zip20' };
  const archive = archiver.create('zip-encrypted', options);
  for (const f of set.files) archive.append(fs.createReadStream(path.join(set.dir, f)), { name: f });
  await Promise.all([pipeline(archive, fs.createWriteStream(out)), archive.finalize()]);
  return (performance.now() - start) / 1000;
}

function sevenZip(set: DataSet, cipher: Cipher, out: string): number {
  fs.rmSync(out, { force: true }); // 7-Zip would add to an existing archive
  const start = performance.now();
  const r = spawnSync(SEVEN_ZIP!, ['a', '-tzip', `-mem=${cipher === 'aes256' ? 'AES256' : 'ZipCrypto'}`, '-mx=5', '-mmt=1', `-p${PASSWORD}`, '-bd', '-bso0', out, ...set.files], { cwd: set.dir, env: ENV });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`7-Zip failed on ${set.name}: ${r.stderr.toString()}`);
  return seconds;
}

function check(out: string, set: DataSet, who: string): void {
  const r = spawnSync(SEVEN_ZIP!, ['t', `-p${PASSWORD}`, out], { env: ENV, encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout.includes('Everything is Ok') || (set.files.length > 1 && !r.stdout.includes(`Files: ${set.files.length}`))) {
    throw new Error(`7-Zip does not accept ${who}'s archive of ${set.name}:\n${r.stdout}${r.stderr}`);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Row {
  set: string;
  cipher: string;
  mb: number;
  outguardMBs: number;
  sevenZipMBs: number;
  archiverMBs: number;
  ratio: number;
  archiverRatio: number;
  outguardBytes: number;
  sevenZipBytes: number;
  archiverBytes: number;
}

const WRITERS = { outguard, archiver: archiverZip, sevenZip };
type Writer = keyof typeof WRITERS;
const ORDER = Object.keys(WRITERS) as Writer[];

async function compare(set: DataSet, cipher: Cipher, rounds: number): Promise<Row> {
  const out = Object.fromEntries(ORDER.map((w) => [w, path.join(dir, `${set.name}-${cipher}-${w}.zip`)])) as Record<Writer, string>;
  const seconds: Record<Writer, number[]> = { outguard: [], archiver: [], sevenZip: [] };
  for (let i = 0; i < rounds; i++) {
    // Whoever goes first meets a different page cache and machine load, so each takes a turn.
    for (let k = 0; k < ORDER.length; k++) {
      const w = ORDER[(i + k) % ORDER.length]!;
      seconds[w].push(await WRITERS[w](set, cipher, out[w]));
    }
    if (i === 0) {
      check(out.outguard, set, 'outguard');
      check(out.archiver, set, 'archiver-zip-encrypted');
    }
  }
  const mbs = (w: Writer) => set.bytes / MB / median(seconds[w]);
  return {
    set: set.name,
    cipher,
    mb: set.bytes / MB,
    outguardMBs: mbs('outguard'),
    sevenZipMBs: mbs('sevenZip'),
    archiverMBs: mbs('archiver'),
    ratio: mbs('outguard') / mbs('sevenZip'),
    archiverRatio: mbs('outguard') / mbs('archiver'),
    outguardBytes: fs.statSync(out.outguard).size,
    sevenZipBytes: fs.statSync(out.sevenZip).size,
    archiverBytes: fs.statSync(out.archiver).size,
  };
}

interface MemoryResult {
  mode: string;
  messages: number;
  bytesIn: number;
  bytesOut: number;
  seconds: number;
  baselineRss: number;
  peakRss: number;
  vmHWM: number;
}

function memory(mode: 'stream' | 'buffer' | 'archiver', files: string[]): MemoryResult {
  const out = fs.mkdtempSync(path.join(dir, `mem-${mode}-`));
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'zip-memory.ts'), mode, out, '10', ...files], { encoding: 'utf8', env: ENV, cwd: path.join(here, '..') });
  fs.rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`memory child (${mode}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as MemoryResult;
}

// ---- run ----------------------------------------------------------------------------------

let failed = false;
try {
  const t0 = performance.now();
  process.stdout.write(`generating data in ${dir} … `);
  const sets = [
    dataSet('random', (d) => writeRandom(path.join(d, 'random.bin'), 100 * MB)),
    dataSet('text', (d) => fs.writeFileSync(path.join(d, '報告書.txt'), japaneseProse(30 * MB))),
    dataSet('office', (d) => {
      for (let i = 1; i <= 4; i++) docx(path.join(d, `仕様書_${i}.docx`), 3 * MB, 100 + i);
      for (let i = 1; i <= 4; i++) fs.writeFileSync(path.join(d, `経費明細_${i}.csv`), csv(40_000, 200 + i));
      for (let i = 1; i <= 4; i++) png(path.join(d, `画面_${i}.png`), 2 * MB);
    }),
  ];
  const memFiles = path.join(dir, 'attachments');
  fs.mkdirSync(memFiles);
  const attachments = [path.join(memFiles, '報告書.txt'), path.join(memFiles, 'scan.bin'), path.join(memFiles, '集計.xlsx')];
  fs.writeFileSync(attachments[0]!, japaneseProse(10 * MB, 7));
  writeRandom(attachments[1]!, 10 * MB);
  writeRandom(attachments[2]!, 5 * MB);
  console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const rows: Row[] = [];
  for (const set of sets) rows.push(await compare(set, 'aes256', ROUNDS));
  const total = {
    set: 'all',
    cipher: 'aes256',
    mb: rows.reduce((n, r) => n + r.mb, 0),
    outguardSeconds: rows.reduce((n, r) => n + r.mb / r.outguardMBs, 0),
    sevenZipSeconds: rows.reduce((n, r) => n + r.mb / r.sevenZipMBs, 0),
    archiverSeconds: rows.reduce((n, r) => n + r.mb / r.archiverMBs, 0),
  };
  const zc: Row[] = [];
  for (const set of sets) zc.push(await compare(set, 'zipcrypto', 1));

  const mem = [memory('stream', attachments), memory('buffer', attachments), memory('archiver', attachments)];

  const f1 = (x: number) => x.toFixed(1).padStart(8);
  console.log(`\nthroughput (MB = 10^6 bytes of input; median of ${ROUNDS} for AES-256, 1 run for ZipCrypto; 7-Zip: -tzip -mx=5 -mmt=1; archiver: zip-encrypted, zlib level 5)`);
  console.log('set      cipher       MB   outguard MB/s   7-Zip MB/s   ratio   archiver MB/s   ratio   outguard size   7-Zip size   archiver size');
  for (const r of [...rows, ...zc]) {
    console.log(
      `${r.set.padEnd(8)} ${r.cipher.padEnd(9)} ${f1(r.mb)} ${f1(r.outguardMBs).padStart(15)} ${f1(r.sevenZipMBs).padStart(12)} ${r.ratio.toFixed(2).padStart(6)}× ${f1(r.archiverMBs).padStart(15)} ${r.archiverRatio.toFixed(2).padStart(6)}× ${String(r.outguardBytes).padStart(15)} ${String(r.sevenZipBytes).padStart(12)} ${String(r.archiverBytes).padStart(15)}`,
    );
  }
  const allRatio = total.sevenZipSeconds / total.outguardSeconds;
  const allArchiverRatio = total.archiverSeconds / total.outguardSeconds;
  console.log(
    `all      aes256    ${f1(total.mb)} ${f1(total.mb / total.outguardSeconds).padStart(15)} ${f1(total.mb / total.sevenZipSeconds).padStart(12)} ${allRatio.toFixed(2).padStart(6)}× ${f1(total.mb / total.archiverSeconds).padStart(15)} ${allArchiverRatio.toFixed(2).padStart(6)}×`,
  );

  console.log('\nmemory: 10 messages × 25 MB of attachments (10 MB text, 10 MB random, 5 MB .xlsx), AES-256, zipped at once (target peak < 400 MB)');
  console.log('writer, attachments              peak RSS (VmHWM)   RSS before   seconds');
  const label = { stream: 'outguard, streamed from disk', buffer: 'outguard, held in memory', archiver: 'archiver, streamed from disk' };
  for (const m of mem) {
    console.log(`${label[m.mode as keyof typeof label].padEnd(32)} ${((m.vmHWM || m.peakRss) / MiB).toFixed(0).padStart(12)} MiB ${(m.baselineRss / MiB).toFixed(0).padStart(8)} MiB ${m.seconds.toFixed(2).padStart(9)}`);
  }

  const minRatio = Math.min(...rows.map((r) => r.ratio));
  // The target is outguard's; archiver's peak is for information.
  const maxPeak = Math.max(...mem.filter((m) => m.mode !== 'archiver').map((m) => m.vmHWM || m.peakRss));
  const result = {
    bench: 'zip',
    rounds: ROUNDS,
    sevenZip: SEVEN_ZIP,
    aes256: Object.fromEntries(
      rows.map((r) => [
        r.set,
        { mb: +r.mb.toFixed(1), outguardMBs: +r.outguardMBs.toFixed(1), sevenZipMBs: +r.sevenZipMBs.toFixed(1), archiverMBs: +r.archiverMBs.toFixed(1), ratio: +r.ratio.toFixed(2), archiverRatio: +r.archiverRatio.toFixed(2), outguardBytes: r.outguardBytes, sevenZipBytes: r.sevenZipBytes, archiverBytes: r.archiverBytes },
      ]),
    ),
    aes256All: { outguardMBs: +(total.mb / total.outguardSeconds).toFixed(1), sevenZipMBs: +(total.mb / total.sevenZipSeconds).toFixed(1), archiverMBs: +(total.mb / total.archiverSeconds).toFixed(1), ratio: +allRatio.toFixed(2), archiverRatio: +allArchiverRatio.toFixed(2) },
    zipcrypto: Object.fromEntries(zc.map((r) => [r.set, { outguardMBs: +r.outguardMBs.toFixed(1), sevenZipMBs: +r.sevenZipMBs.toFixed(1), archiverMBs: +r.archiverMBs.toFixed(1), ratio: +r.ratio.toFixed(2), archiverRatio: +r.archiverRatio.toFixed(2) }])),
    memory: Object.fromEntries(mem.map((m) => [m.mode, { peakRssMiB: +((m.vmHWM || m.peakRss) / MiB).toFixed(0), sampledPeakRssMiB: +(m.peakRss / MiB).toFixed(0), baselineRssMiB: +(m.baselineRss / MiB).toFixed(0), seconds: +m.seconds.toFixed(2) }])),
    targets: { ratio: 1.0, ratioMet: minRatio >= 1.0, peakRssMiB: 400, peakRssMet: maxPeak / MiB < 400 },
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
  };
  console.log(`\n${JSON.stringify(result)}`);
  if (process.env.BENCH_ENFORCE === '1' && (!result.targets.ratioMet || !result.targets.peakRssMet)) process.exitCode = 3;
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  cleanup();
}
if (failed) process.exitCode = 1;
