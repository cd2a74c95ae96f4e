/**
 * The runner: starts the real gateway in this process (shipped default policy, every hold turned
 * into monitor so that messages are delivered and can be checked), sends the generated messages
 * over SMTP a few at a time, reads the outside copies from the file next hop, and checks them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { type Answer, type CheckResult, type Leak, type Outcome, check, classify } from './check.js';
import { fixedCount, generateOne } from './generate.js';
import { FROM, TO } from './mime.js';
import { PythonOracle, originalAttachments } from './oracles.js';
import { client, sendRaw } from '../support/client.js';
import { CORPUS_DIR, asSmtpSees, corpusFiles } from '../support/corpus.js';
import { startGateway } from '../support/gateway.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunOptions {
  seed: number;
  count: number;
  from?: number;
  /** Only messages whose name contains this. */
  only?: string;
  /** Use ../shared/corpus when it is there (default true). */
  corpus?: boolean;
  /** The corpus files, when the caller has listed them already. */
  corpusFiles?: string[];
  /** Messages in flight at once (default 4). */
  concurrency?: number;
  /** Where leaking and unanswered messages are written (default /tmp/outguard-fuzz-<seed>). */
  saveDir?: string;
  log?: (line: string) => void;
}

export interface MessageReport {
  index: number;
  name: string;
  outcome: Outcome;
  answer: string;
  leaks: Leak[];
  failures: CheckResult['failures'];
  exempt: CheckResult['exempt'];
  tiny: number;
  files: number;
}

export interface Summary {
  seed: number;
  sent: number;
  ms: number;
  outcomes: Record<Outcome, number>;
  /** Leaking messages by case name (the name without seed, index, variant and mutations). */
  leaksByCase: Record<string, number>;
  /** Leaks by kind and by who saw the attachment. */
  leaksBy: Record<string, number>;
  leaking: MessageReport[];
  noAnswer: MessageReport[];
  parserFailures: Record<string, number>;
  /** One example per parser: the message and the error. */
  parserFailureSamples: Record<string, string>;
  exempt: Record<string, number>;
  /** Exemptions by case name (`already-encrypted: pdf-fake-encrypt` …): what detectEncryption let through. */
  exemptByCase: Record<string, number>;
  tiny: number;
  /** Every message's report, by index. */
  reports: MessageReport[];
  saveDir: string;
}

/** `s1-i12-related-pdf@deep+fold+cte` → `related-pdf`; corpus messages → `corpus`. */
export function caseName(name: string): string {
  const rest = name.replace(/^s\d+-i\d+-/, '');
  return rest.startsWith('corpus-') ? (rest.includes('+') ? 'corpus+mutations' : 'corpus') : rest.split(/[@+]/)[0]!;
}

/** The shipped default policy with every `action: hold` made `monitor`, its lists beside it. */
export function monitorPolicy(dir: string): string {
  fs.cpSync(path.join(ROOT, 'policies'), dir, { recursive: true });
  const doc = YAML.parse(fs.readFileSync(path.join(ROOT, 'policies', 'default.yaml'), 'utf8')) as { rules: Record<string, unknown>[] };
  for (const rule of doc.rules) {
    if (rule.action !== 'hold') continue;
    rule.action = 'monitor';
    delete rule.deadline; // only hold rules may have these
    delete rule.approvers;
  }
  const file = path.join(dir, 'default.yaml');
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}

function timeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]).finally(() => clearTimeout(timer));
}

async function readCopy(file: string): Promise<Buffer | undefined> {
  // the file next hop renames the finished file into place before the 250; allow a little slack
  for (let i = 0; i < 50; i++) {
    if (fs.existsSync(file)) return fs.readFileSync(file);
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

export async function runFuzz(opts: RunOptions): Promise<Summary> {
  const log = opts.log ?? (() => undefined);
  const started = performance.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-fuzz-run-'));
  const outbox = path.join(work, 'outbox');
  const saveDir = opts.saveDir ?? path.join(os.tmpdir(), `outguard-fuzz-${opts.seed}`);
  const files = opts.corpus === false ? [] : (opts.corpusFiles ?? corpusFiles());
  const genOptions = { corpus: files.map((f) => fs.readFileSync(f)), corpusNames: files.map((f) => path.relative(CORPUS_DIR, f)) };

  const gw = await startGateway({
    nextHop: `file:${outbox}`,
    policy: monitorPolicy(path.join(work, 'policy')),
    organization: { internalDomains: ['example.co.jp'], partnerDomains: ['partner.example'] },
  });
  const concurrency = opts.concurrency ?? 4;
  const transport = client(gw.smtp.port, { maxConnections: concurrency, maxMessages: Infinity });
  const py = new PythonOracle();

  const summary: Summary = {
    seed: opts.seed,
    sent: 0,
    ms: 0,
    outcomes: { delivered: 0, held: 0, rejected: 0, tempfail: 0, 'no-answer': 0 },
    leaksByCase: {},
    leaksBy: {},
    leaking: [],
    noAnswer: [],
    parserFailures: {},
    parserFailureSamples: {},
    exempt: {},
    exemptByCase: {},
    tiny: 0,
    reports: [],
    saveDir,
  };

  const save = (report: MessageReport, raw: Buffer, copies: { id: string; raw: Buffer }[]) => {
    fs.mkdirSync(saveDir, { recursive: true });
    const base = path.join(saveDir, report.name.replace(/[^A-Za-z0-9@+._-]/g, '_').slice(0, 180));
    fs.writeFileSync(`${base}.eml`, raw);
    copies.forEach((c) => fs.writeFileSync(`${base}.copy-${c.id}.eml`, c.raw));
    fs.writeFileSync(`${base}.json`, JSON.stringify({ ...report, reproduce: `npm run fuzz -- --seed ${opts.seed} --from ${report.index} --count 1` }, null, 2));
  };

  const one = async (index: number) => {
    const g = generateOne(opts.seed, index, genOptions);
    if (opts.only && !g.name.includes(opts.only)) return;
    const wire = asSmtpSees(g.raw); // what the gateway receives: SMTP turns bare CR and LF into CRLF
    const big = g.raw.length > 200_000;
    const noAnswer: Answer = { ok: false, response: 'no answer within the time limit' };
    const [answer, original] = await Promise.all([timeout(sendRaw(transport, FROM, [TO], g.raw), big ? 180_000 : 60_000, noAnswer), originalAttachments(wire, py)]);
    let result: CheckResult;
    const copies: { id: string; raw: Buffer }[] = [];
    try {
      for (const id of classify(answer).ids) {
        const file = path.join(outbox, `${id}.eml`);
        const raw = await readCopy(file);
        // copies stay: a message sent again with the same bytes is answered with the first one's ids
        if (!raw) throw new Error(`copy ${id} not found in ${outbox}`);
        if (/^X-Outguard-Notice:/im.test(raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('latin1'))) continue;
        copies.push({ id, raw });
      }
      result = await check({ raw: wire, answer, copies, py, original });
    } catch (err) {
      result = { outcome: 'no-answer', ids: [], leaks: [], files: 0, tiny: 0, exempt: [], failures: [{ parser: 'harness', error: (err as Error).message }] };
    }
    const report: MessageReport = { index, name: g.name, outcome: result.outcome, answer: answer.response, leaks: result.leaks, failures: result.failures, exempt: result.exempt, tiny: result.tiny, files: result.files };
    summary.reports.push(report);
    summary.sent++;
    summary.outcomes[result.outcome]++;
    summary.tiny += result.tiny;
    for (const f of result.failures) {
      const key = f.parser.replace(/ \(copy .*\)$/, ' (copy)');
      summary.parserFailures[key] = (summary.parserFailures[key] ?? 0) + 1;
      summary.parserFailureSamples[key] ??= `${g.name}: ${f.error.slice(0, 160)}`;
    }
    for (const e of result.exempt) {
      summary.exempt[e.reason] = (summary.exempt[e.reason] ?? 0) + 1;
      const key = `${e.reason}: ${caseName(g.name)}`;
      summary.exemptByCase[key] = (summary.exemptByCase[key] ?? 0) + 1;
    }
    if (result.leaks.length > 0) {
      summary.leaking.push(report);
      const c = caseName(g.name);
      summary.leaksByCase[c] = (summary.leaksByCase[c] ?? 0) + 1;
      for (const l of result.leaks) {
        // a multipart part one parser could not split shows its raw MIME text: name that apart
        const what = l.contentType?.startsWith('multipart/') ? 'readable unsplit multipart' : 'readable';
        const key = l.kind === 'readable' ? `${what}, seen by ${l.seenBy!.map((s) => s.replace(/\(.*\)$/, '')).filter((s, i, a) => a.indexOf(s) === i).join('+')}` : l.kind;
        summary.leaksBy[key] = (summary.leaksBy[key] ?? 0) + 1;
      }
      save(report, g.raw, copies);
    }
    if (result.outcome === 'no-answer') {
      summary.noAnswer.push(report);
      save(report, g.raw, copies);
    }
  };

  const from = opts.from ?? 0;
  let next = from;
  let done = 0;
  const end = from + opts.count;
  const worker = async () => {
    while (next < end) {
      const i = next++;
      await one(i);
      if (++done % 250 === 0) {
        const s = (performance.now() - started) / 1000;
        log(`[${done}/${opts.count}] ${s.toFixed(0)} s, ${(summary.sent / s).toFixed(1)} msg/s — delivered ${summary.outcomes.delivered}, held ${summary.outcomes.held}, rejected ${summary.outcomes.rejected}, 451 ${summary.outcomes.tempfail}, no answer ${summary.outcomes['no-answer']}; leaking ${summary.leaking.length}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    transport.close();
    py.close();
    await gw.stop();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(path.dirname(gw.dataDir), { recursive: true, force: true }); // the config and data dir startGateway made
  }
  summary.reports.sort((a, b) => a.index - b.index);
  summary.leaking.sort((a, b) => a.index - b.index);
  summary.noAnswer.sort((a, b) => a.index - b.index);
  summary.ms = Math.round(performance.now() - started);
  return summary;
}

/** A readable account of a run: counts, then each leak with the command that reproduces it. */
export function formatSummary(s: Summary, opts: { maxLeaks?: number } = {}): string {
  const lines: string[] = [];
  const o = s.outcomes;
  lines.push(`seed ${s.seed}: ${s.sent} messages in ${(s.ms / 1000).toFixed(1)} s`);
  lines.push(`  outcomes: delivered ${o.delivered}, held ${o.held}, rejected ${o.rejected}, 451 ${o.tempfail}, no answer ${o['no-answer']}`);
  lines.push(`  leaking messages: ${s.leaking.length}`);
  for (const [c, n] of Object.entries(s.leaksByCase).sort((a, b) => b[1] - a[1])) lines.push(`    ${String(n).padStart(5)}  ${c}`);
  if (Object.keys(s.leaksBy).length) lines.push(`  leaks by kind: ${Object.entries(s.leaksBy).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  lines.push(`  exempt: ${Object.entries(s.exempt).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}; attachments under 12 bytes not checked: ${s.tiny}`);
  for (const [k, n] of Object.entries(s.exemptByCase).sort((a, b) => b[1] - a[1])) lines.push(`    ${String(n).padStart(5)}  ${k}`);
  lines.push(`  parser failures: ${Object.entries(s.parserFailures).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
  for (const [k, sample] of Object.entries(s.parserFailureSamples)) lines.push(`    e.g. ${k}: ${sample}`);
  const max = opts.maxLeaks ?? 200;
  for (const r of [...s.noAnswer, ...s.leaking].slice(0, max)) {
    lines.push(`\n${r.name}  (${r.outcome}: ${r.answer.slice(0, 100)})`);
    lines.push(`  reproduce: npm run fuzz -- --seed ${s.seed} --from ${r.index} --count 1`);
    for (const l of r.leaks.slice(0, 6)) {
      lines.push(
        l.kind === 'readable'
          ? `  readable: ${l.filename ?? '(no name)'} ${l.contentType} ${l.size} B, seen by ${l.seenBy!.join(', ')} — found in copy ${l.copy}: ${l.where}`
          : `  zip not encrypted in copy ${l.copy} (${l.where}): ${l.detail}`,
      );
    }
    if (r.leaks.length > 6) lines.push(`  … ${r.leaks.length - 6} more`);
    for (const f of r.failures.filter((x) => x.parser === 'harness')) lines.push(`  harness: ${f.error}`);
  }
  if (s.leaking.length + s.noAnswer.length > max) lines.push(`\n… ${s.leaking.length + s.noAnswer.length - max} more; every one is in ${s.saveDir}`);
  else if (s.leaking.length + s.noAnswer.length > 0) lines.push(`\nmessages, copies and details: ${s.saveDir}`);
  return lines.join('\n');
}

export { fixedCount };
