/**
 * Soak: the real gateway (`node bin/outguard.js start`, from dist/ — built first unless --no-build)
 * takes a stream of messages while it is killed again and again, and afterwards every message must
 * have reached every recipient group, every ZIP its password notice, and no group two different
 * copies (two passwords). "Fail closed by construction", over a long run.
 *
 *   npm run soak -- [--messages 2000] [--kills 36] [--clients 6] [--size 4096] [--open-zips 200]
 *                   [--seed N] [--settle 240] [--no-build] [--keep]
 *
 * - Traffic (from a seeded generator): plain mail to some of colleague@example.co.jp,
 *   a@partner-a.example, b@partner-b.example (one copy for everyone); mail with two attachments to
 *   all three (the internal original, an AES-256 ZIP with the password to the sender, a ZipCrypto
 *   ZIP with the password to the recipient: 3 copies, 2 notices); and mail with attachments that
 *   also goes to c@partner-c.example, which the policy holds — the "admin" releases each hold the
 *   client got a 250 for with `outguard held release ID` (some of those CLI runs are killed at
 *   release:decided or release:enqueued).
 * - Clients (--clients, each with one pooled connection, as an MTA's connection cache) resend the
 *   same bytes after any answer that is not 250 or 5xx, and after a dropped connection, as Postfix
 *   would, until the message is accepted.
 * - Kills (--kills), spread over the stream by messages answered: two in three a plain `kill -9`
 *   from outside at a random moment; one in three a restart with OUTGUARD_CRASH_AT at a random
 *   step (direct:*, outbox:*, #1–#6) where the gateway kills itself. Each time the gateway is
 *   started again on the same data dir.
 * - At the end the last gateway runs until its outbox is empty, no released hold is left unqueued
 *   and the sink was quiet for 2 s (at most --settle seconds); then the sink's log is checked
 *   message by message (test/support/crash-harness.ts: inspect), a sample of ZIPs is opened with
 *   7-Zip and the password of its notice, and `outguard audit verify` checks the audit chain.
 *
 * Prints figures; exit status 1 when any group missed a message, any ZIP came without its notice,
 * any group got two different passwords — or a copy broke the rules some other way (an attachment
 * in the clear, a ZIP that its notice's password does not open, a notice before its copy); when a
 * message answered 250 has no decision event in the audit log, or a notice that arrived has no
 * notice-sent event; or when `audit verify` fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { startSink } from '../test/support/sink.js';
import { Rng } from '../test/fuzz/random.js';
import { tempDir } from '../test/support/gateway.js';
import { sleep } from '../test/support/wait.js';
import nodemailer from 'nodemailer';
import { SqliteHoldStore } from '../src/store/sqlite-holds.js';
import { SqliteOutboxStore } from '../src/store/sqlite-outbox.js';
import { keyFromSecret } from '../src/store/secret-key.js';
import { SqliteAuditStore } from '../src/audit/sqlite-audit.js';
import { headerOf } from '../test/support/notices.js';
import {
  BIN,
  GROUPS,
  GatewayProcess,
  type Inspection,
  type Outgoing,
  SECRET,
  composePlain,
  composeWithAttachments,
  heldCli,
  indexArrivals,
  inspect,
  openZip,
  outguardEnv,
  runProcess,
  writeSetup,
} from '../test/support/crash-harness.js';
import { SEVEN_ZIP } from '../test/support/archives.js';
import { freePort } from '../test/support/net.js';
import { hasCommand } from '../test/support/tools.js';

const { values: opts } = parseArgs({
  options: {
    messages: { type: 'string', default: '2000' },
    kills: { type: 'string', default: '36' },
    clients: { type: 'string', default: '6' },
    size: { type: 'string', default: '4096' },
    'open-zips': { type: 'string', default: '200' },
    seed: { type: 'string' },
    settle: { type: 'string', default: '240' },
    'no-build': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

const whole = (name: string, v: string | undefined, min = 0): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}, got "${v}"`);
  return n;
};
const MESSAGES = whole('messages', opts.messages, 1);
const KILLS = whole('kills', opts.kills);
const CLIENTS = whole('clients', opts.clients, 1);
const SIZE = whole('size', opts.size, 1);
const OPEN_ZIPS = whole('open-zips', opts['open-zips']);
const SETTLE_S = whole('settle', opts.settle, 1);
const SEED = opts.seed === undefined ? Date.now() % 1_000_000 : whole('seed', opts.seed);

// seeded, so a run can be repeated (--seed)
const generator = new Rng(SEED);
const random = (): number => generator.next();
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

const INTERNAL = 'colleague@example.co.jp';
const A = 'a@partner-a.example';
const B = 'b@partner-b.example';
const C = 'c@partner-c.example';

const RULES = [
  'lists:',
  '  review: review.txt',
  'rules:',
  '  - id: review-recipient',
  '    clause: 遵守事項 第6-1',
  '    check: anonymous-recipient',
  '    params: { list: review }',
  '    action: hold',
  '    deadline: { hours: 24, action: discard }',
  '    message: { ja: 確認が必要な宛先です, en: recipient needs a confirmation }',
].join('\n');

/** The event types of a decision the client was answered for. */
const DECISIONS = new Set(['delivered', 'encrypted', 'held', 'rejected', 'repeated']);

const CRASH_STEPS = ['direct:planned', 'direct:enqueued', 'direct:copy-accepted', 'direct:copy-marked', 'direct:sent', 'outbox:accepted', 'outbox:marked'];

type Kind = 'plain' | 'zip' | 'held';
interface Item {
  msg: Outgoing;
  kind: Kind;
  attempts: number;
  /** The first 250 (or 5xx) answer. */
  answer?: string;
  code?: number;
  /** The answer said the message was accepted before (a recognised resend). */
  repeated: boolean;
  holdId?: string;
}

function makeItems(): Item[] {
  const items: Item[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const r = random();
    const tag = `soak-${i}`;
    if (r < 0.35) {
      const to = [INTERNAL, A, B].filter(() => random() < 0.6);
      items.push({ msg: composePlain(tag, to.length > 0 ? to : [pick([INTERNAL, A, B])]), kind: 'plain', attempts: 0, repeated: false });
    } else if (r < 0.87) {
      items.push({ msg: composeWithAttachments(tag, [INTERNAL, A, B], { size: SIZE }), kind: 'zip', attempts: 0, repeated: false });
    } else {
      items.push({ msg: composeWithAttachments(tag, [INTERNAL, A, C], { size: SIZE }), kind: 'held', attempts: 0, repeated: false });
    }
  }
  return items;
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const log = (text: string) => process.stderr.write(`[soak ${elapsed()}] ${text}\n`);

async function main(): Promise<number> {
  if (!opts['no-build']) {
    log('building dist/ (npm run build; --no-build to skip)');
    const b = await runProcess(process.execPath, [path.resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], process.env, 300_000);
    if (b.code !== 0) log(`build reported errors (continuing with what it emitted):\n${b.stdout.slice(-2000)}`);
  }
  if (!fs.existsSync(path.resolve('dist/cli.js'))) throw new Error('dist/cli.js is missing: run npm run build');

  const sink = await startSink();
  const dir = tempDir('outguard-soak-');
  const setup = writeSetup({ dir, sinkPort: sink.port, smtpPort: await freePort(), webPort: await freePort(), rules: RULES, lists: { 'review.txt': 'partner-c.example\n' } });
  log(`seed ${SEED}; data dir ${setup.dataDir}; ${MESSAGES} messages, ${KILLS} kills, ${CLIENTS} clients`);
  const items = makeItems();

  // ---- the gateway and its killer --------------------------------------------------------------
  let gateway: GatewayProcess | undefined;
  let up = false;
  let answered = 0;
  let clientsDone = false;
  let releasesDone = false;
  const kills = { outside: 0, crashPoint: new Map<string, number>(), startupDeaths: 0 };
  const unexpected: string[] = [];
  const killsDone = () => kills.outside + [...kills.crashPoint.values()].reduce((a, b) => a + b, 0);
  process.on('exit', () => gateway?.child.kill('SIGKILL'));
  process.on('SIGINT', () => process.exit(130));

  // kill i falls due once (i + 1) · N / (K + 1) messages were answered
  const plan = Array.from({ length: KILLS }, (_, i) => ({ after: Math.floor(((i + 1) * MESSAGES) / (KILLS + 1)), crashPoint: random() < 1 / 3 }));
  let next = 0;

  const supervisor = (async () => {
    for (;;) {
      const crashAt = next < plan.length && plan[next]!.crashPoint ? `${pick(CRASH_STEPS)}#${1 + Math.floor(random() * 6)}` : undefined;
      const g = new GatewayProcess(setup.config, crashAt);
      gateway = g;
      const ready = await Promise.race([g.ready, sleep(30_000).then(() => false)]);
      if (ready) up = true;
      let killed = false;
      for (;;) {
        if (g.exit) {
          up = false;
          if (killed) break;
          if (crashAt !== undefined && g.exit.signal === 'SIGKILL') {
            const step = crashAt.replace(/#\d+$/, '');
            kills.crashPoint.set(step, (kills.crashPoint.get(step) ?? 0) + 1);
            if (!ready) kills.startupDeaths++;
            next++;
          } else {
            unexpected.push(`exit ${JSON.stringify(g.exit)}: ${g.stderr().slice(-600)}`);
            await sleep(500);
          }
          break;
        }
        const due = next < plan.length && (answered >= plan[next]!.after || (clientsDone && releasesDone));
        if (due) {
          await sleep(random() * 400); // a random moment: mid-session, mid-send, idle
          if (!g.exit) {
            up = false;
            killed = true;
            await g.kill9();
            kills.outside++;
            next++;
          }
          continue; // the exit is handled above (a crash point may have come first)
        }
        if (clientsDone && releasesDone && next >= plan.length) return g;
        if (!ready && !g.exit) {
          // neither started nor dead after 30 s
          unexpected.push(`not started after 30 s: ${g.stdout().slice(-600)}`);
          killed = true;
          await g.kill9();
          continue;
        }
        await sleep(25);
      }
      await g.exited;
    }
  })();

  // ---- the clients ------------------------------------------------------------------------------
  const queue = [...items];
  const releases: Item[] = [];
  let attempts = 0;
  const transportFor = () =>
    nodemailer.createTransport({ host: '127.0.0.1', port: setup.smtpPort, pool: true, maxConnections: 1, ignoreTLS: true, connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 60_000, logger: false });
  const clients = Array.from({ length: CLIENTS }, async () => {
    let transport = transportFor();
    for (let item = queue.shift(); item; item = queue.shift()) {
      for (;;) {
        while (!up) await sleep(50);
        item.attempts++;
        attempts++;
        let code: number | undefined;
        let text: string;
        try {
          const info = await transport.sendMail({ envelope: { from: item.msg.from, to: item.msg.to }, raw: item.msg.raw });
          code = 250;
          text = String(info.response);
        } catch (err) {
          const e = err as { responseCode?: number; response?: string; message: string };
          code = e.responseCode;
          text = e.response ?? e.message;
        }
        if (code === 250 || (code !== undefined && code >= 500)) {
          item.code = code;
          item.answer = text;
          item.repeated = text.includes('accepted before');
          const held = /held for confirmation as (\S+)/.exec(text);
          if (held) {
            item.holdId = held[1]!;
            releases.push(item);
          }
          answered++;
          break;
        }
        // no answer, or 4xx: the client keeps the message and sends it again
        transport.close();
        transport = transportFor();
        await sleep(100 + random() * 300);
      }
    }
    transport.close();
  });

  // ---- the admin, releasing holds with the CLI ---------------------------------------------------
  const cli = { released: 0, killed: new Map<string, number>(), errors: [] as string[] };
  const releaser = (async () => {
    for (;;) {
      const item = releases.shift();
      if (!item) {
        if (clientsDone) break;
        await sleep(100);
        continue;
      }
      const crashAt = random() < 0.15 ? pick(['release:decided', 'release:enqueued']) : undefined;
      const r = await heldCli(setup.config, ['release', item.holdId!], crashAt);
      if (r.signal === 'SIGKILL' && crashAt) cli.killed.set(crashAt, (cli.killed.get(crashAt) ?? 0) + 1);
      else if (r.code === 0) cli.released++;
      else cli.errors.push(`${item.holdId}: ${r.code} ${r.signal} ${r.stderr.trim().slice(-300)}`);
    }
  })();

  const progress = setInterval(() => log(`answered ${answered}/${MESSAGES}, attempts ${attempts}, kills ${killsDone()}/${KILLS}, sink ${sink.messages.length}, holds released ${cli.released}`), 10_000);
  progress.unref();
  await Promise.all(clients);
  clientsDone = true;
  const answeredAt = Date.now();
  await releaser;
  releasesDone = true;
  const last = await supervisor;
  log(`all ${MESSAGES} messages answered after ${((answeredAt - started) / 1000).toFixed(1)} s; waiting for the outbox to settle`);

  // ---- settle: the outbox empty, no released hold unqueued, the sink quiet ------------------------
  const key = keyFromSecret(SECRET);
  const outbox = SqliteOutboxStore.open(setup.dataDir, key);
  const holds = SqliteHoldStore.open(setup.dataDir, key);
  const settleStart = Date.now();
  let count = sink.messages.length;
  let quietSince = Date.now();
  let settled = false;
  let state = { ready: 0, waiting: 0, failed: 0, undispatched: 0 };
  while (Date.now() - settleStart < SETTLE_S * 1000) {
    await sleep(250);
    if (sink.messages.length !== count) {
      count = sink.messages.length;
      quietSince = Date.now();
    }
    const c = await outbox.counts();
    state = { ready: c.ready, waiting: c.waiting, failed: c.failed, undispatched: (await holds.undispatched(1000)).length };
    if (state.ready === 0 && state.waiting === 0 && state.undispatched === 0 && Date.now() - quietSince > 2000) {
      settled = true;
      break;
    }
  }
  const settleSeconds = (Date.now() - settleStart) / 1000;
  const left = await holds.list({ state: 'held', limit: 100_000 });
  const stillHeld = left.length;
  // a hold left 'held' for a message whose client got a 250 for another hold: held twice
  const heldSubjects = new Set(items.filter((i) => i.holdId !== undefined).map((i) => `crash ${i.msg.tag}`));
  const heldTwice = left.filter((h) => heldSubjects.has(h.subject)).length;
  const holdCounts = await holds.counts();
  await outbox.close();
  await holds.close();
  await last.stop(15_000);
  const audit = await runProcess(process.execPath, [BIN, 'audit', 'verify', '--config', setup.config], outguardEnv());
  // no decision without its record: every 250 has its event, every notice that arrived its notice-sent
  const log_ = SqliteAuditStore.open(setup.dataDir, { readOnly: true });
  const events = await log_.list();
  await log_.close();
  const recorded = new Set(events.filter((e) => DECISIONS.has(e.type)).map((e) => e.messageId));
  const noticeSent = new Set(events.filter((e) => e.type === 'notice-sent').map((e) => e.messageId));

  // ---- what arrived ------------------------------------------------------------------------------
  log(`checking ${sink.messages.length} messages the sink received`);
  const arrivals = indexArrivals(sink.messages);
  const perGroup: Record<string, number> = Object.fromEntries(GROUPS.map((g) => [g.name, 0]));
  let duplicates = 0;
  const plainNewId: string[] = [];
  const missing: string[] = [];
  const withoutNotice: string[] = [];
  const twoPasswords: string[] = [];
  const other: string[] = [];
  const zips: (Inspection['zips'][number] & { files: Record<string, string> })[] = [];
  const withoutEvent: string[] = [];
  let notAnswered = 0;
  let refused = 0;
  for (const item of items) {
    if (item.code === undefined) {
      notAnswered++;
      continue;
    }
    if (item.code !== 250) {
      refused++;
      other.push(`${item.msg.tag}: answered ${item.answer}`);
      continue;
    }
    const ref = / as ([^\s,()]+)/.exec(item.answer ?? '')?.[1];
    // a 250 names the message first; its decision's event carries that id
    if (!ref || !recorded.has(ref)) withoutEvent.push(`${item.msg.tag}: answered "${item.answer}" but no audit event for ${ref ?? '(no id)'}`);
    const i = inspect(arrivals, item.msg, item.kind !== 'plain');
    for (const [g, n] of Object.entries(i.copies)) perGroup[g] = (perGroup[g] ?? 0) + n;
    duplicates += i.duplicatesSameId;
    plainNewId.push(...i.plainResentWithNewId.map((g) => `${item.msg.tag}:${g}`));
    missing.push(...i.missing.map((g) => `${item.msg.tag} (${item.kind}):${g}`));
    withoutNotice.push(...i.zipWithoutNotice.map((z) => `${item.msg.tag}:${z}`));
    twoPasswords.push(...i.twoPasswords.map((g) => `${item.msg.tag}:${g}`));
    other.push(...i.other.map((o) => `${item.msg.tag}: ${o}`));
    zips.push(...i.zips.filter((z) => z.password !== undefined).map((z) => ({ ...z, files: item.msg.files })));
  }
  // a sample of the ZIPs, opened with 7-Zip and the password of their notice
  let opened = 0;
  const zipFailures: string[] = [];
  if (hasCommand(SEVEN_ZIP) && OPEN_ZIPS > 0) {
    const sample = [...zips].sort(() => random() - 0.5).slice(0, OPEN_ZIPS);
    const work = [...sample];
    await Promise.all(
      [0, 1].map(async () => {
        for (let z = work.shift(); z; z = work.shift()) {
          zipFailures.push(...(await openZip(z, z.files)));
          opened++;
        }
      }),
    );
  }
  other.push(...zipFailures);
  const notices = sink.messages.map((m) => ({ kind: headerOf(m.raw, 'X-Outguard-Notice'), id: headerOf(m.raw, 'X-Outguard-Id') })).filter((n) => n.kind !== undefined);
  const noticesWithoutEvent = [...new Set(notices.filter((n) => !n.id || !noticeSent.has(n.id)).map((n) => `${n.kind} notice ${n.id ?? '(no id)'} arrived without a notice-sent event`))];
  await sink.close();

  // ---- figures -------------------------------------------------------------------------------------
  const kinds = (k: Kind) => items.filter((i) => i.kind === k).length;
  const crashPoints = [...kills.crashPoint].map(([s, n]) => `${s} ${n}`).join(', ') || 'none';
  const lines = [
    '',
    `outguard soak (seed ${SEED}), ${((Date.now() - started) / 1000).toFixed(1)} s`,
    `messages sent:            ${MESSAGES} (plain ${kinds('plain')}, with attachments ${kinds('zip')}, held and released ${kinds('held')}); ${attempts} attempts`,
    `250 answers:              ${items.filter((i) => i.code === 250).length} (${items.filter((i) => i.repeated).length} recognised as accepted before), 5xx ${refused}, never answered ${notAnswered}`,
    `kills:                    ${killsDone()} (kill -9 from outside ${kills.outside}; at crash points ${killsDone() - kills.outside}: ${crashPoints}; ${kills.startupDeaths} of them before it listened)`,
    `unexpected exits:         ${unexpected.length}`,
    `CLI releases:             ${cli.released} released, killed at ${[...cli.killed].map(([s, n]) => `${s} ${n}`).join(', ') || 'none'}, errors ${cli.errors.length}`,
    `holds:                    ${Object.entries(holdCounts).map(([s, n]) => `${s} ${n}`).join(', ')}; left held ${stillHeld}, of them a second hold of a message held and released already (its answer was lost; a second confirmation went to the sender) ${heldTwice}`,
    `outbox at the end:        ready ${state.ready}, waiting ${state.waiting}, failed ${state.failed}, released holds not queued ${state.undispatched}; ${settled ? 'settled' : 'NOT settled'} after ${settleSeconds.toFixed(1)} s`,
    `copies received:          ${Object.entries(perGroup).map(([g, n]) => `${g} ${n}`).join(', ')}`,
    `duplicates (same id):     ${duplicates}`,
    `plain mail resent under a new id: ${plainNewId.length}${plainNewId.length ? ` (${plainNewId.slice(0, 5).join(', ')}${plainNewId.length > 5 ? ', …' : ''})` : ''}`,
    `ZIPs opened with 7-Zip:   ${opened} of ${zips.length}${hasCommand(SEVEN_ZIP) ? '' : ' (7-Zip not installed)'}`,
    `250s without their audit event: ${withoutEvent.length}`,
    `notices received: ${notices.length}, without their notice-sent event: ${noticesWithoutEvent.length}`,
    `audit verify:             exit ${audit.code} ${audit.stdout.trim().split('\n').slice(-1)[0] ?? ''}${audit.stderr.trim() ? ` ${audit.stderr.trim().split('\n').slice(-1)[0]}` : ''}`,
    '',
    `groups missing a message: ${missing.length}`,
    `ZIPs without their notice: ${withoutNotice.length}`,
    `groups with two different passwords: ${twoPasswords.length}`,
    `other rule breaks:        ${other.length}`,
  ];
  for (const [title, list] of [
    ['missing', missing],
    ['ZIP without notice', withoutNotice],
    ['250 without audit event', withoutEvent],
    ['notice without notice-sent', noticesWithoutEvent],
    ['two passwords', twoPasswords],
    ['other', other],
    ['unexpected exits', unexpected],
    ['CLI errors', cli.errors],
  ] as const) {
    if (list.length > 0) lines.push(`${title}:`, ...list.slice(0, 20).map((l) => `  ${l}`), ...(list.length > 20 ? [`  … ${list.length - 20} more`] : []));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
  const broken = missing.length + withoutNotice.length + twoPasswords.length + other.length + withoutEvent.length + noticesWithoutEvent.length + (audit.code === 0 ? 0 : 1);
  return broken > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
