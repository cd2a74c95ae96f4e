/**
 * Memory and time of large mail: `npm run bench:memory`.
 *
 * 1. Ten 25 MB messages at once, each with two attachments (9 MB of random bytes, 9 MB of
 *    Japanese text, Japanese file names), from an internal sender to a partner's address: the
 *    direct encryption path (no hold: the shipped policy with its hold rules set to monitor).
 *    outguard runs in a child process (as `outguard start` does, logging to a file) in front of a
 *    sink in another; this process sends over ten SMTP connections opened beforehand. Prints the
 *    time from the first byte sent to the last 250, and outguard's peak RSS (VmHWM, which counts
 *    its policy and audit threads too). Targets: peak RSS ≤ 400 MB, time ≤ what
 *    `7zz a -tzip -mem=AES256 -mx=5 -mmt=1` takes for the same twenty files, one message after
 *    the other (timed here too).
 * 2. A 400 MB DATA against smtp.maxSize 50 MB, into a fresh outguard: it must be answered 552
 *    and raise outguard's RSS (sampled every 50 ms) by less than 64 MB.
 *
 * Prints a table and one JSON line. BENCH_KEEP=1 keeps the temp dir, BENCH_CPU_PROF=1 writes a V8
 * CPU profile of the first outguard into it (cpu-prof/); BENCH_ENFORCE=1 exits 3
 * when a target is missed (otherwise a miss is reported, not failed: the machine is shared).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import YAML from 'yaml';
import type { SinkStats } from './child-sink.js';
import { japaneseProse, writeRandom } from './data.js';
import { Child } from './ipc.js';

const MESSAGES = 10;
const FILE_BYTES = 9_000_000;
const OVERSIZE = 400 * 1024 * 1024;
const MAX_SIZE = 50 * 1024 * 1024;
const MB = 1024 * 1024;
const TARGETS = { peakRssMB: 400, oversizeRiseMB: 64 };
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.dirname(here);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-bench-memory-'));
const children: Child[] = [];
const SEVEN_ZIP = ['7zz', '7z'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
if (!SEVEN_ZIP) {
  console.error('7-Zip not found: install the Debian package "7zip" (apt-get install -y 7zip)');
  process.exit(1);
}

const status = (pid: number, field: 'VmHWM' | 'VmRSS'): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
};

/** The shipped policy, with every hold rule reduced to monitor: the bench measures delivery, not holds. */
function writePolicy(): string {
  const dir = path.join(tmp, 'policies');
  fs.cpSync(path.join(repo, 'policies'), dir, { recursive: true });
  const file = path.join(dir, 'default.yaml');
  const policy = YAML.parse(fs.readFileSync(file, 'utf8')) as { rules: Record<string, unknown>[] };
  for (const rule of policy.rules) {
    if (rule.action !== 'hold') continue;
    rule.action = 'monitor';
    delete rule.deadline;
    delete rule.approvers;
  }
  fs.writeFileSync(file, YAML.stringify(policy));
  return file;
}

function writeConfig(name: string, sinkPort: number, policy: string): string {
  const file = path.join(tmp, `${name}.yaml`);
  const config = {
    smtp: { listen: '127.0.0.1:0', hostname: 'outguard.bench.invalid', maxSize: MAX_SIZE },
    web: { listen: '127.0.0.1:0' },
    dataDir: path.join(tmp, `data-${name}`),
    nextHop: `smtp://127.0.0.1:${sinkPort}`,
    policy,
    organization: { internalDomains: ['example.co.jp'], partnerDomains: ['partner.example'] },
    log: { level: 'info' },
  };
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

function connect(port: number): Promise<SMTPConnection> {
  const conn = new SMTPConnection({ host: '127.0.0.1', port, name: 'bench.invalid', ignoreTLS: true, socketTimeout: 300_000, logger: false });
  return new Promise((resolve, reject) => {
    conn.once('error', reject);
    conn.connect((err) => (err ? reject(err) : resolve(conn)));
  });
}

function send(conn: SMTPConnection, raw: Buffer | Readable): Promise<string> {
  return new Promise((resolve, reject) =>
    conn.send({ from: 'yamada@example.co.jp', to: ['contact@partner.example'] }, raw, (err, info) => (err ? reject(err) : resolve(info!.response))),
  );
}

const base64Lines = (data: Buffer) => (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');

function attachment(file: string, name: string, type: string): string {
  return [
    `Content-Type: ${type}; name="=?UTF-8?B?${Buffer.from(name).toString('base64')}?="`,
    `Content-Disposition: attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(fs.readFileSync(file)),
  ].join('\r\n');
}

function message(i: number, files: [string, string]): Buffer {
  const b = `bench-boundary-${i}`;
  return Buffer.from(
    [
      'From: =?UTF-8?B?5bGx55Sw?= <yamada@example.co.jp>',
      'To: <contact@partner.example>',
      `Subject: =?UTF-8?B?${Buffer.from(`資料送付（${i + 1}）`).toString('base64')}?=`,
      `Message-ID: <bench-memory-${i}@example.co.jp>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${b}"`,
      '',
      `--${b}`,
      'Content-Type: text/plain; charset=UTF-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'お世話になっております。資料を送付いたします。',
      `--${b}`,
      attachment(files[0], `測定データ${i + 1}.bin`, 'application/octet-stream'),
      `--${b}`,
      attachment(files[1], `議事録${i + 1}.txt`, 'text/plain'),
      `--${b}--`,
      '',
    ].join('\r\n'),
  );
}

/** 400 MB of base64-looking lines, made as they are sent. */
function oversized(): Readable {
  const head = Buffer.from('From: <yamada@example.co.jp>\r\nTo: <contact@partner.example>\r\nSubject: big\r\n\r\n');
  const line = Buffer.from(`${randomBytes(57).toString('base64')}\r\n`);
  const block = Buffer.concat(Array.from({ length: 16384 }, () => line));
  let sent = 0;
  return new Readable({
    read() {
      if (sent === 0) this.push(head);
      if (sent >= OVERSIZE) return void this.push(null);
      sent += block.length;
      this.push(block);
    },
  });
}

try {
  console.log(`bench:memory — ${MESSAGES} messages of two ${FILE_BYTES / 1e6} MB attachments, at once; then one ${OVERSIZE / MB} MB DATA against maxSize ${MAX_SIZE / MB} MB`);
  const files: [string, string][] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const random = path.join(tmp, `random-${i}.bin`);
    const text = path.join(tmp, `text-${i}.txt`);
    writeRandom(random, FILE_BYTES);
    fs.writeFileSync(text, japaneseProse(FILE_BYTES, 100 + i));
    files.push([random, text]);
  }
  const raws = files.map((f, i) => message(i, f));

  // 7-Zip on the same files, one message after the other
  const zipStarted = performance.now();
  files.forEach(([a, b], i) =>
    execFileSync(SEVEN_ZIP, ['a', '-tzip', '-mem=AES256', '-mx=5', '-mmt=1', '-pBench-Pass-2026', path.join(tmp, `7z-${i}.zip`), a, b], { stdio: 'ignore' }),
  );
  const sevenZipS = (performance.now() - zipStarted) / 1000;

  const policy = writePolicy();
  const sink = await Child.start('sink', path.join(here, 'child-sink.ts'), [], []);
  children.push(sink);
  const profile = process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${path.join(tmp, 'cpu-prof')}`] : [];
  const outguard = await Child.start('outguard', path.join(here, 'child-outguard.ts'), [writeConfig('concurrent', sink.port, policy), path.join(tmp, 'outguard.log')], profile);
  children.push(outguard);
  const conns = await Promise.all(raws.map(() => connect(outguard.port)));
  const baselineRss = status(outguard.proc.pid!, 'VmRSS');
  const started = performance.now();
  const replies = await Promise.all(raws.map((raw, i) => send(conns[i]!, raw)));
  const seconds = (performance.now() - started) / 1000;
  const peakRss = status(outguard.proc.pid!, 'VmHWM');
  const afterRss = status(outguard.proc.pid!, 'VmRSS');
  for (const c of conns) c.close();
  const stats = await sink.call<SinkStats>('stats');
  const delivered = replies.filter((r) => r.startsWith('250')).length;
  await outguard.call('stop', 60_000).catch(() => undefined);

  // an oversized DATA into a fresh gateway
  const fresh = await Child.start('outguard', path.join(here, 'child-outguard.ts'), [writeConfig('oversize', sink.port, policy), path.join(tmp, 'oversize.log')], []);
  children.push(fresh);
  const big = await connect(fresh.port);
  await new Promise((r) => setTimeout(r, 500));
  const before = status(fresh.proc.pid!, 'VmRSS');
  let highest = before;
  const sampler = setInterval(() => (highest = Math.max(highest, status(fresh.proc.pid!, 'VmRSS'))), 50);
  const oversizeReply = await send(big, oversized()).then(
    (r) => r,
    (err: Error & { response?: string }) => err.response ?? err.message,
  );
  clearInterval(sampler);
  highest = Math.max(highest, status(fresh.proc.pid!, 'VmRSS'));
  big.close();
  await fresh.call('stop', 60_000).catch(() => undefined);

  const result = {
    messages: MESSAGES,
    messageMB: +(raws[0]!.length / 1e6).toFixed(1),
    delivered,
    sinkMessages: stats.messages,
    seconds: +seconds.toFixed(2),
    sevenZipSeconds: +sevenZipS.toFixed(2),
    timeRatio: +(seconds / sevenZipS).toFixed(2),
    baselineRssMB: Math.round(baselineRss / MB),
    peakRssMB: Math.round(peakRss / MB),
    rssAfterMB: Math.round(afterRss / MB),
    oversize: { reply: oversizeReply.slice(0, 80), rssBeforeMB: Math.round(before / MB), rssRiseMB: Math.round((highest - before) / MB) },
  };
  const ok = {
    delivered: delivered === MESSAGES,
    peak: result.peakRssMB <= TARGETS.peakRssMB,
    time: seconds <= sevenZipS,
    oversize: oversizeReply.startsWith('552') && result.oversize.rssRiseMB < TARGETS.oversizeRiseMB,
  };
  console.log('');
  console.log(`  ten messages at once   ${result.seconds.toFixed(2)} s    (7-Zip, one after the other: ${result.sevenZipSeconds.toFixed(2)} s; ratio ${result.timeRatio})   ${ok.time ? 'ok' : 'MISSED'}`);
  console.log(`  outguard peak RSS      ${result.peakRssMB} MB   (at rest before: ${result.baselineRssMB} MB, after: ${result.rssAfterMB} MB; target ≤ ${TARGETS.peakRssMB})   ${ok.peak ? 'ok' : 'MISSED'}`);
  console.log(`  delivered              ${delivered} of ${MESSAGES} answered 250; the sink got ${stats.messages} messages (copies and password notices)`);
  console.log(`  400 MB DATA            "${result.oversize.reply}"; RSS rose ${result.oversize.rssRiseMB} MB (target < ${TARGETS.oversizeRiseMB})   ${ok.oversize ? 'ok' : 'MISSED'}`);
  console.log(JSON.stringify({ bench: 'memory', ...result, ok }));
  const missed = Object.values(ok).some((v) => !v);
  if (!ok.delivered) process.exitCode = 1;
  else if (missed && process.env.BENCH_ENFORCE === '1') process.exitCode = 3;
} finally {
  for (const c of children) c.kill();
  if (process.env.BENCH_KEEP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
}
