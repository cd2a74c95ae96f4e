/**
 * Child of bench/zip.ts: zips the attachments of N messages at once and reports peak memory.
 *
 *   node --import tsx bench/zip-memory.ts <stream|buffer|archiver> <outDir> <messages> <file>...
 *
 * Every message has the given files as attachments. "stream": each attachment is read from disk
 * as a stream (the writer's own footprint). "buffer": each message first holds its own copy of
 * every attachment in memory, as a parsed message does. "archiver": as "stream", but zipped by
 * archiver + archiver-zip-encrypted (AES-256, zlib level 5) instead of outguard's writer. Each
 * archive is streamed to a file in outDir. Prints one JSON line: peak RSS sampled every 50 ms,
 * VmHWM from /proc/self/status, RSS before the work started, bytes in and out, seconds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import archiver from 'archiver';
import zipEncrypted from 'archiver-zip-encrypted';
import { createEncryptedZip, type ZipEntryInput } from '../src/zip/writer.js';

const [mode, outDir, count, ...files] = process.argv.slice(2);
if ((mode !== 'stream' && mode !== 'buffer' && mode !== 'archiver') || !outDir || !count || files.length === 0) {
  console.error('usage: zip-memory.ts <stream|buffer|archiver> <outDir> <messages> <file>...');
  process.exit(2);
}
const messages = Number(count);
archiver.registerFormat('zip-encrypted', zipEncrypted);

const vmHWM = (): number => {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
};

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

const held: Buffer[][] = [];
if (mode === 'buffer') for (let m = 0; m < messages; m++) held.push(files.map((f) => fs.readFileSync(f)));
const baselineRss = process.memoryUsage().rss;
const bytesIn = files.reduce((n, f) => n + fs.statSync(f).size, 0) * messages;

const start = performance.now();
await Promise.all(
  Array.from({ length: messages }, async (_, m) => {
    const out = fs.createWriteStream(path.join(outDir, `message-${m}.zip`));
    if (mode === 'archiver') {
      const options: zipEncrypted.Options = { zlib: { level: 5 }, password: 'Bench-Pass-2026', encryptionMethod: 'aes256' };
      const archive = archiver.create('zip-encrypted', options);
      for (const f of files) archive.append(fs.createReadStream(f), { name: path.basename(f) });
      await Promise.all([pipeline(archive, out), archive.finalize()]);
      return;
    }
    const entries: ZipEntryInput[] = files.map((f, i) => ({
      name: path.basename(f),
      content: mode === 'buffer' ? held[m]![i]! : fs.createReadStream(f),
    }));
    await pipeline(createEncryptedZip(entries, { password: 'Bench-Pass-2026', cipher: 'aes256', names: 'utf8' }), out);
  }),
);
const seconds = (performance.now() - start) / 1000;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
let bytesOut = 0;
for (let m = 0; m < messages; m++) bytesOut += fs.statSync(path.join(outDir, `message-${m}.zip`)).size;
held.length = 0;
console.log(JSON.stringify({ mode, messages, bytesIn, bytesOut, seconds, baselineRss, peakRss, vmHWM: vmHWM() }));
