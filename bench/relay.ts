/**
 * Relay throughput: outguard against a "null relay" (smtp-server piped into a pooled nodemailer
 * transport, nothing else), both in front of the same kind of sink.
 *
 *   npm run bench
 *
 * Layout: this process is the load generator (20 persistent SMTP client connections per relay);
 * the sink, outguard and the null relay each run in their own child process, so no relay shares
 * an event loop with the load or with the sink. Each relay gets a warm-up round (2,000 messages:
 * with 500, the first measured rounds of both relays still ran partly unoptimised code), then the
 * measured rounds alternate which relay goes first; the result is the median of each, and the
 * ratio is median(outguard) / median(null relay) (the median of the per-round ratios is shown too).
 *
 * Traffic (bench/message.ts): ~5 KB Japanese text mail from 2,000 internal senders, each to one
 * external contact plus an internal Cc. outguard runs its shipped default policy with
 * organisation settings and a delivery history that let this traffic through (every rule still
 * runs on every message), and logs at info to a file. Besides msg/s the bench reports CPU time
 * per message of each relay process, which the machine's other load disturbs much less.
 *
 * Knobs (environment): BENCH_MESSAGES (2000), BENCH_ROUNDS (5), BENCH_WARMUP (2000),
 * BENCH_CLIENTS (20), BENCH_POOL (20, next-hop pool of both relays), BENCH_CPU_PROF=1 (write
 * V8 CPU profiles of both relays to a temp dir), BENCH_KEEP=1 (keep the temp dir),
 * BENCH_ENFORCE=1 (exit 3 when the ratio is below the 0.8 target), BENCH_POLICY=FILE (another
 * policy for outguard, e.g. an empty one to measure the relay without checks),
 * BENCH_POLICY_THREAD=0|1 (checks on outguard's SMTP thread or on a policy thread, instead of
 * the shipped `auto`: a thread only with more than two cores).
 * Exit status: 0 all messages delivered, 1 any delivery failure or error, 3 (BENCH_ENFORCE only)
 * below target. Without BENCH_ENFORCE a low ratio is reported, not failed: on a shared machine
 * one run's throughput can swing widely.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import YAML from 'yaml';
import type { SinkStats } from './child-sink.js';
import { Child } from './ipc.js';
import { type BenchMessage, ORG, makeMessages } from './message.js';

const int = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${v}"`);
  return n;
};

const MESSAGES = int('BENCH_MESSAGES', 2000);
const ROUNDS = int('BENCH_ROUNDS', 5);
const WARMUP = int('BENCH_WARMUP', 2000);
const CLIENTS = int('BENCH_CLIENTS', 20);
const POOL = int('BENCH_POOL', 20);
/** outguard's SmtpHop hard-codes maxMessages 1000 per pooled connection; the null relay gets the same. */
const HOP_MAX_MESSAGES = 1000;
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const KEEP = process.env.BENCH_KEEP === '1';
const ENFORCE = process.env.BENCH_ENFORCE === '1';
const TARGET = 0.8;
/** The whole run is bounded: past this everything is killed and the run fails. */
const DEADLINE_MS = 170_000;

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-bench-'));
const profDir = path.join(tmp, 'cpu-prof');
const children: Child[] = [];

const deadline = setTimeout(() => {
  process.stderr.write(`bench: not finished after ${DEADLINE_MS / 1000} s, giving up\n`);
  for (const c of children) c.kill();
  process.exit(2);
}, DEADLINE_MS);

// ---------------------------------------------------------------- load generator

interface Side {
  name: 'outguard' | 'null relay';
  key: 'outguard' | 'nullRelay';
  relay: Child;
  clients: SMTPConnection[];
  /** Messages this relay was sent in total (warm-up included), for the log check. */
  sent: number;
}

interface RoundResult {
  side: Side['key'];
  round: number;
  messages: number;
  ms: number;
  msgPerSec: number;
  p50: number;
  p99: number;
  failures: string[];
  /** CPU time (user + system) per message, in microseconds, of the relay, the sink and this load generator. */
  cpuUsPerMsg: { relay: number; sink: number; loadgen: number };
  /** Time the relay's main (SMTP) thread was busy, per message: what bounds its throughput. */
  mainBusyUsPerMsg: number;
  sink: { received: number; missing: number; duplicates: number; unexpected: number; withOutguardId: number; newConnections: number };
}

function connect(port: number): Promise<SMTPConnection> {
  const conn = new SMTPConnection({
    host: '127.0.0.1',
    port,
    name: 'loadgen.bench.invalid',
    ignoreTLS: true,
    connectionTimeout: 10000,
    greetingTimeout: 10000,
    socketTimeout: 60000,
    logger: false,
  });
  return new Promise((resolve, reject) => {
    conn.once('error', reject);
    conn.connect((err) => {
      if (err) return reject(err);
      conn.off('error', reject);
      // a later socket error surfaces as a failed send(); keep it from being an unhandled 'error'
      conn.on('error', () => undefined);
      resolve(conn);
    });
  });
}

function send(conn: SMTPConnection, m: BenchMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    conn.send(m.envelope, m.raw, (err, info) => (err ? reject(err) : resolve(info!.response)));
  });
}

function reset(conn: SMTPConnection): Promise<void> {
  return new Promise((resolve) => conn.reset(() => resolve()));
}

const percentile = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Sends `messages` through one relay over its persistent client connections; checks the sink. */
async function runRound(side: Side, sink: Child, round: number, messages: BenchMessage[]): Promise<RoundResult> {
  await sink.call('reset');
  const cpu = () => Promise.all([side.relay.call<NodeJS.CpuUsage>('cpu'), sink.call<NodeJS.CpuUsage>('cpu'), process.cpuUsage()]);
  const busyBefore = await side.relay.call<number>('busy');
  const cpuBefore = await cpu();
  const latencies = new Float64Array(messages.length);
  const failures: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    side.clients.map(async (conn) => {
      while (next < messages.length) {
        const i = next++;
        const m = messages[i]!;
        const t = performance.now();
        try {
          await send(conn, m);
        } catch (err) {
          failures.push(`${m.id}: ${(err as Error).message}`);
          if (!conn.destroyed) await reset(conn);
        }
        latencies[i] = performance.now() - t;
      }
    }),
  );
  const ms = performance.now() - started;
  const cpuAfter = await cpu();
  const busyAfter = await side.relay.call<number>('busy');
  const perMsg = (i: number) => (cpuAfter[i]!.user + cpuAfter[i]!.system - cpuBefore[i]!.user - cpuBefore[i]!.system) / messages.length;
  side.sent += messages.length;

  // Every 250 came after the next hop's 250, so the sink already has everything that was accepted.
  const stats = await sink.call<SinkStats>('stats');
  const expected = new Set(messages.map((m) => m.id));
  const seen = new Set<string>();
  let duplicates = 0;
  let unexpected = 0;
  for (const id of stats.ids) {
    if (seen.has(id)) duplicates++;
    else if (!expected.has(id)) unexpected++;
    seen.add(id);
  }
  const missing = [...expected].filter((id) => !seen.has(id)).length;
  latencies.sort();
  return {
    side: side.key,
    round,
    messages: messages.length,
    ms,
    msgPerSec: (messages.length / ms) * 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    failures,
    cpuUsPerMsg: { relay: perMsg(0), sink: perMsg(1), loadgen: perMsg(2) },
    mainBusyUsPerMsg: (busyAfter - busyBefore) / messages.length,
    sink: { received: stats.messages, missing, duplicates, unexpected, withOutguardId: stats.withOutguardId, newConnections: stats.connections },
  };
}

/** Problems with one round's delivery, as short sentences (empty when all is well). */
function problems(r: RoundResult): string[] {
  const out: string[] = [];
  const who = `${r.side} round ${r.round}`;
  if (r.failures.length) out.push(`${who}: ${r.failures.length} sends failed, first: ${r.failures[0]}`);
  if (r.sink.missing) out.push(`${who}: ${r.sink.missing} of ${r.messages} messages never reached the sink`);
  if (r.sink.duplicates) out.push(`${who}: ${r.sink.duplicates} messages reached the sink twice`);
  if (r.sink.unexpected) out.push(`${who}: ${r.sink.unexpected} unexpected messages at the sink`);
  const wantHeader = r.side === 'outguard' ? r.sink.received : 0;
  if (r.sink.withOutguardId !== wantHeader) out.push(`${who}: ${r.sink.withOutguardId} of ${r.sink.received} messages carry X-Outguard-Id, expected ${wantHeader}`);
  return out;
}

// ---------------------------------------------------------------- setup

function writeOutguardConfig(sinkPort: number): string {
  const file = path.join(tmp, 'outguard.yaml');
  const dataDir = path.join(tmp, 'data');
  // A gateway in production has delivered before: its history knows the usual external domains
  // (first-time-domain would hold them otherwise). The policy is the shipped default one.
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(path.join(dataDir, 'known-domains.txt'), ORG.knownDomains.map((d) => `${d}\n`).join(''));
  const config = {
    smtp: { listen: '127.0.0.1:0', hostname: 'outguard.bench.invalid' },
    web: { listen: '127.0.0.1:0' },
    dataDir,
    nextHop: `smtp://127.0.0.1:${sinkPort}`,
    // plain SMTP to the sink on both relays (the sink offers STARTTLS with a self-signed cert)
    delivery: { maxConnections: POOL, tls: 'off' },
    organization: { internalDomains: ORG.internalDomains, partnerDomains: ORG.partnerDomains },
    log: { level: 'info' },
    ...(process.env.BENCH_POLICY ? { policy: path.resolve(process.env.BENCH_POLICY) } : {}),
    ...(process.env.BENCH_POLICY_THREAD === '0' || process.env.BENCH_POLICY_THREAD === '1' ? { policyThread: process.env.BENCH_POLICY_THREAD === '1' } : {}),
  };
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

function countLogLines(file: string): { total: number; message: number; delivered: number; rules?: string[] } {
  let total = 0;
  let message = 0;
  let delivered = 0;
  let rules: string[] | undefined;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    total++;
    const entry = JSON.parse(line) as { msg?: string; action?: string; rules?: unknown };
    if (entry.msg === 'policy loaded' && Array.isArray(entry.rules)) rules = entry.rules.map(String);
    if (entry.msg === 'message') {
      message++;
      if (entry.action === 'deliver') delivered++;
    }
  }
  return { total, message, delivered, rules };
}

async function main(): Promise<number> {
  const profArgs = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const logFile = path.join(tmp, 'outguard.log');

  const sink = await Child.start('sink', path.join(here, 'child-sink.ts'), [], []);
  children.push(sink);
  const [outguard, nullRelay] = await Promise.all([
    Child.start('outguard', path.join(here, 'child-outguard.ts'), [writeOutguardConfig(sink.port), logFile], profArgs),
    Child.start('null relay', path.join(here, 'child-null-relay.ts'), [String(sink.port), String(POOL), String(HOP_MAX_MESSAGES)], profArgs),
  ]);
  children.push(outguard, nullRelay);

  const sides: Side[] = [];
  for (const [name, key, relay] of [
    ['outguard', 'outguard', outguard],
    ['null relay', 'nullRelay', nullRelay],
  ] as const) {
    sides.push({ name, key, relay, clients: await Promise.all(Array.from({ length: CLIENTS }, () => connect(relay.port))), sent: 0 });
  }
  const [og, nr] = sides as [Side, Side];
  const size = makeMessages('size', 1)[0]!.raw.length;
  console.log(
    `outguard relay benchmark: ${MESSAGES} messages of ~${(size / 1024).toFixed(1)} KB per round, ${ROUNDS} rounds + ${WARMUP}-message warm-up, ` +
      `${CLIENTS} client connections, next-hop pool ${POOL}, ${os.cpus().length} CPUs, node ${process.version}`,
  );

  const issues: string[] = [];
  // Warm-up: opens the next-hop pools (smtp-server greets a new connection only after 100 ms) and warms the JIT.
  const warm: RoundResult[] = [];
  for (const side of sides) {
    const r = await runRound(side, sink, 0, makeMessages(`warm-${side.key}`, WARMUP));
    warm.push(r);
    issues.push(...problems(r));
  }

  const results: RoundResult[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? [og, nr] : [nr, og];
    for (const side of order) {
      const r = await runRound(side, sink, round, makeMessages(`r${round}-${side.key}`, MESSAGES));
      results.push(r);
      issues.push(...problems(r));
    }
  }

  // Shut down: clients first, so the relays' close finds no open sessions.
  for (const side of sides) for (const c of side.clients) c.quit();
  await Promise.all([outguard.stop(), nullRelay.stop()]);
  await sink.stop();

  const logs = countLogLines(logFile);
  if (logs.delivered !== og.sent) issues.push(`outguard logged ${logs.delivered} delivered "message" lines for ${og.sent} messages sent`);

  // ------------------------------------------------------------ report
  const of = (key: Side['key']) => results.filter((r) => r.side === key);
  const ogMed = median(of('outguard').map((r) => r.msgPerSec));
  const nrMed = median(of('nullRelay').map((r) => r.msgPerSec));
  const ratio = ogMed / nrMed;
  // The two halves of a round run back to back, so their ratio shares most of any outside noise.
  const pairRatios = Array.from({ length: ROUNDS }, (_, i) => {
    const o = results.find((r) => r.side === 'outguard' && r.round === i + 1)!;
    const n = results.find((r) => r.side === 'nullRelay' && r.round === i + 1)!;
    return o.msgPerSec / n.msgPerSec;
  });
  const pairedRatio = median(pairRatios);
  const medianRound = (key: Side['key'], med: number) => of(key).reduce((a, b) => (Math.abs(b.msgPerSec - med) < Math.abs(a.msgPerSec - med) ? b : a));
  const ogMid = medianRound('outguard', ogMed);
  const nrMid = medianRound('nullRelay', nrMed);
  const f0 = (n: number) => n.toFixed(0).padStart(8);
  const f1 = (n: number) => n.toFixed(1).padStart(6);

  console.log('');
  console.log('round  first       outguard msg/s  null relay msg/s  ratio   next-hop conns opened (og/null)');
  for (let round = 1; round <= ROUNDS; round++) {
    const o = results.find((r) => r.side === 'outguard' && r.round === round)!;
    const n = results.find((r) => r.side === 'nullRelay' && r.round === round)!;
    console.log(
      `${String(round).padEnd(6)} ${(round % 2 === 1 ? 'outguard' : 'null relay').padEnd(11)} ${f0(o.msgPerSec)}        ${f0(n.msgPerSec)}          ${(o.msgPerSec / n.msgPerSec).toFixed(3)}   ${o.sink.newConnections}/${n.sink.newConnections}`,
    );
  }
  console.log(`median              ${f0(ogMed)}        ${f0(nrMed)}          ${ratio.toFixed(3)}   target >= ${TARGET}: ${ratio >= TARGET ? 'PASS' : 'FAIL'}`);
  console.log(`median of the per-round ratios: ${pairedRatio.toFixed(3)}`);
  const cpuMed = (key: Side['key'], part: keyof RoundResult['cpuUsPerMsg']) => median(of(key).map((r) => r.cpuUsPerMsg[part]));
  const cpu = {
    outguard: { relay: cpuMed('outguard', 'relay'), sink: cpuMed('outguard', 'sink'), loadgen: cpuMed('outguard', 'loadgen') },
    nullRelay: { relay: cpuMed('nullRelay', 'relay'), sink: cpuMed('nullRelay', 'sink'), loadgen: cpuMed('nullRelay', 'loadgen') },
  };
  console.log(
    `CPU per message, median (µs): relay process outguard ${cpu.outguard.relay.toFixed(0)} vs null relay ${cpu.nullRelay.relay.toFixed(0)} ` +
      `(null/outguard ${(cpu.nullRelay.relay / cpu.outguard.relay).toFixed(3)}); sink ${cpu.outguard.sink.toFixed(0)}/${cpu.nullRelay.sink.toFixed(0)}; ` +
      `load generator ${cpu.outguard.loadgen.toFixed(0)}/${cpu.nullRelay.loadgen.toFixed(0)}`,
  );
  const busy = { outguard: median(of('outguard').map((r) => r.mainBusyUsPerMsg)), nullRelay: median(of('nullRelay').map((r) => r.mainBusyUsPerMsg)) };
  console.log(
    `main (SMTP) thread busy per message, median (µs): outguard ${busy.outguard.toFixed(0)} vs null relay ${busy.nullRelay.toFixed(0)} ` +
      `(null/outguard ${(busy.nullRelay / busy.outguard).toFixed(3)}; each relay's throughput is bound by its one SMTP thread)`,
  );
  console.log(`latency per message, median round (ms): outguard p50 ${f1(ogMid.p50)} p99 ${f1(ogMid.p99)}; null relay p50 ${f1(nrMid.p50)} p99 ${f1(nrMid.p99)}`);
  const delivered = (key: Side['key']) => [...warm, ...results].filter((r) => r.side === key).reduce((a, r) => a + r.sink.received - r.sink.duplicates - r.sink.unexpected, 0);
  console.log(
    `delivery: outguard ${delivered('outguard')}/${og.sent} at the sink, null relay ${delivered('nullRelay')}/${nr.sent}; ` +
      `outguard log: ${logs.message} "message" lines (${logs.delivered} deliver), ${(fs.statSync(logFile).size / 1024).toFixed(0)} KB`,
  );
  if (logs.rules) console.log(`outguard policy: shipped default, ${logs.rules.length} rules (${logs.rules.join(', ')})`);
  if (CPU_PROF) console.log(`CPU profiles (pid in the name: outguard ${outguard.proc.pid}, null relay ${nullRelay.proc.pid}): ${profDir}`);
  if (issues.length) {
    console.log(`PROBLEMS (${issues.length}):`);
    for (const i of issues) console.log(`  - ${i}`);
  } else {
    console.log('all messages delivered, no failures');
  }

  console.log(
    JSON.stringify({
      bench: 'relay',
      messages: MESSAGES,
      messageBytes: size,
      rounds: ROUNDS,
      warmup: WARMUP,
      clients: CLIENTS,
      pool: POOL,
      outguardMsgPerSec: Math.round(ogMed),
      nullRelayMsgPerSec: Math.round(nrMed),
      ratio: Number(ratio.toFixed(3)),
      pairedRatio: Number(pairedRatio.toFixed(3)),
      target: TARGET,
      pass: ratio >= TARGET,
      outguardRounds: of('outguard').map((r) => Math.round(r.msgPerSec)),
      nullRelayRounds: of('nullRelay').map((r) => Math.round(r.msgPerSec)),
      latencyMs: { outguard: { p50: +ogMid.p50.toFixed(1), p99: +ogMid.p99.toFixed(1) }, nullRelay: { p50: +nrMid.p50.toFixed(1), p99: +nrMid.p99.toFixed(1) } },
      cpuUsPerMsg: {
        outguard: { relay: Math.round(cpu.outguard.relay), sink: Math.round(cpu.outguard.sink), loadgen: Math.round(cpu.outguard.loadgen) },
        nullRelay: { relay: Math.round(cpu.nullRelay.relay), sink: Math.round(cpu.nullRelay.sink), loadgen: Math.round(cpu.nullRelay.loadgen) },
      },
      cpuRatio: Number((cpu.nullRelay.relay / cpu.outguard.relay).toFixed(3)),
      mainBusyUsPerMsg: { outguard: Math.round(busy.outguard), nullRelay: Math.round(busy.nullRelay) },
      outguardRules: logs.rules?.length ?? null,
      failures: issues.length,
    }),
  );
  if (issues.length) return 1;
  return ENFORCE && !(ratio >= TARGET) ? 3 : 0;
}

main()
  .then(
    (code) => code,
    (err: Error) => {
      process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
      return 1;
    },
  )
  .then((code) => {
    clearTimeout(deadline);
    for (const c of children) c.kill();
    if (!KEEP && !CPU_PROF) fs.rmSync(tmp, { recursive: true, force: true });
    else console.error(`bench: files kept in ${tmp}`);
    process.exitCode = code;
    // nothing should be left open; if something is, do not hang
    setTimeout(() => process.exit(code), 3000).unref();
  });
