import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Sink, startSink } from '../support/sink.js';
import { tempDir } from '../support/gateway.js';
import {
  type GatewayProcess,
  type Outgoing,
  SENDER,
  complete,
  composeWithAttachments,
  heldCli,
  inspect,
  openZip,
  problemsOf,
  sendAndLoseAnswer,
  sendWithPython,
  settle,
  startGateway,
  writeSetup,
} from '../support/crash-harness.js';
import { SEVEN_ZIP } from '../support/archives.js';
import { freePort } from '../support/net.js';
import { headerOf, releaseByApi, releaseLinkOf } from '../support/notices.js';
import { requireTool } from '../support/tools.js';
import { until } from '../support/wait.js';

/**
 * "Fail closed by construction": the real gateway (`node bin/outguard.js start`, built by
 * `npm test`) is killed at every named crash point (src/util/crash-point.ts) while it handles a
 * message with attachments to an internal colleague and to two outside ZIP profiles (3 copies,
 * 2 password notices), restarted on the same data dir, and the client sends the same bytes again
 * as it would. Whatever the recording sink got must then show, for every group: the message at
 * least once, outside only inside an encrypted ZIP, every ZIP with its password notice (to the
 * right envelope, after its copy), one copy per group (a second only as a byte-identical resend),
 * and the files inside with their SHA-256.
 */

const canRun = requireTool('python3', 'python3');
const hasSevenZip = requireTool(SEVEN_ZIP, '7zip');

const RECIPIENTS = ['colleague@example.co.jp', 'a@partner-a.example', 'b@partner-b.example'];
const HOLD_RULES = [
  'rules:',
  '  - id: external-attachment',
  '    clause: 遵守事項 第6-1',
  '    check: external-attachment',
  '    action: hold',
  '    deadline: { hours: 24, action: discard }',
  '    message: { ja: 社外宛の添付ファイルです, en: attachments to an external recipient }',
].join('\n');

/** How long the outbox may take to send what is left; it polls the store every 10 s for jobs other processes queued. */
const SETTLE = { maxMs: 20_000, quietMs: 1000 };

// a case takes 3–13 s alone (the CLI cases wait for the gateway's 10 s outbox poll); room for a loaded machine
describe.skipIf(!canRun)('crash at every step: nothing lost, nothing sent twice with another password', { timeout: 60_000 }, () => {
  let sink: Sink;
  const gateways: GatewayProcess[] = [];
  const dirs: string[] = [];
  let n = 0;

  beforeAll(async () => {
    sink = await startSink();
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.kill9()));
  });
  afterAll(async () => {
    await sink.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function setup(rules: string) {
    const dir = tempDir('outguard-crash-');
    dirs.push(dir);
    return writeSetup({ dir, sinkPort: sink.port, smtpPort: await freePort(), webPort: await freePort(), rules });
  }

  async function gateway(config: string, crashAt?: string): Promise<GatewayProcess> {
    const g = await startGateway(config, crashAt);
    gateways.push(g);
    return g;
  }

  function message(point: string): { msg: Outgoing; file: string } {
    const msg = composeWithAttachments(`${++n}-${point.replace(/[^a-z0-9]+/gi, '-')}`, RECIPIENTS);
    const dir = tempDir('outguard-crash-msg-');
    dirs.push(dir);
    const file = path.join(dir, 'message.eml');
    fs.writeFileSync(file, msg.raw);
    return { msg, file };
  }

  /** Waits for the outbox to settle, then checks the three properties on what arrived since `base`. */
  async function verify(base: number, msg: Outgoing): Promise<void> {
    const done = await settle(sink.messages, () => complete(sink.messages.slice(base), msg, true), SETTLE);
    const got = sink.messages.slice(base);
    const i = inspect(got, msg, true);
    expect(problemsOf(i), `sink got: ${got.map((m) => `${headerOf(m.raw, 'X-Outguard-Notice') ?? 'copy'} ${headerOf(m.raw, 'X-Outguard-Id')} → ${m.to.join(',')}`).join('; ')}`).toEqual([]);
    expect(done).toBe(true);
    expect(Object.keys(i.copies).sort()).toEqual(['internal', 'partner-a', 'partner-b']);
    // one distinct encrypted copy per outside group, each with its notice
    expect(i.zips.map((z) => z.group).sort()).toEqual(['partner-a', 'partner-b']);
    if (hasSevenZip) for (const zip of i.zips) expect(await openZip(zip, msg.files)).toEqual([]);
  }

  async function waitDeath(g: GatewayProcess, ms = 15_000) {
    const exit = await g.waitExit(ms);
    expect(exit, `the gateway did not die: ${g.stdout().slice(-1500)}`).toBeDefined();
    expect(exit!.signal).toBe('SIGKILL');
  }

  // ---- direct mail ------------------------------------------------------------------------------

  const DIRECT = [
    'direct:planned',
    'direct:enqueued',
    'direct:copy-accepted', // the internal copy (the first) accepted, not marked
    'direct:copy-accepted#2', // partner-a's ZIP accepted, not marked
    'direct:copy-accepted#3', // partner-b's ZIP, the last copy
    'direct:copy-marked',
    'direct:copy-marked#2', // partner-a's notice released, maybe on its way
    'direct:copy-marked#3',
    'direct:sent',
  ];

  it.each(DIRECT)('direct mail, crash at %s: the retry gets 250 and every group its copy, each ZIP its password', async (point) => {
    const s = await setup('rules: []');
    const { msg, file } = message(point);
    const base = sink.messages.length;

    const first = await gateway(s.config, point);
    const lost = await sendWithPython(s.smtpPort, SENDER, RECIPIENTS, file);
    expect(lost.code, `the client must not see 250 before the crash: ${lost.text}`).not.toBe(250);
    await waitDeath(first);
    const beforeRetry = sink.messages.length - base;

    await gateway(s.config);
    const retry = await sendWithPython(s.smtpPort, SENDER, RECIPIENTS, file);
    expect(retry.code, retry.text).toBe(250);
    if (point === 'direct:planned') {
      // nothing was stored or sent: the retry is a new message
      expect(beforeRetry).toBe(0);
      expect(retry.text).toMatch(/delivered as /);
    } else {
      expect(retry.text).toContain('(this message was accepted before; nothing was sent twice)');
    }
    await verify(base, msg);
  });

  // ---- released holds ---------------------------------------------------------------------------

  /** Sends the message under the hold policy; returns the hold id and its release link once its confirmation went out. */
  async function holdOne(port: number, msg: Outgoing, file: string, base: number): Promise<{ id: string; link: string }> {
    const held = await sendWithPython(port, SENDER, RECIPIENTS, file);
    expect(held.code, held.text).toBe(250);
    const id = /held for confirmation as (\S+)/.exec(held.text)?.[1];
    expect(id, held.text).toBeDefined();
    const confirmation = await until(
      () => sink.messages.slice(base).find((m) => headerOf(m.raw, 'X-Outguard-Notice') === 'confirm' && m.raw.includes(id!)),
      10_000,
      'the confirmation notice',
    );
    // nothing of the message itself left yet
    expect(sink.messages.slice(base).filter((m) => headerOf(m.raw, 'Message-ID') === msg.messageId)).toEqual([]);
    const link = releaseLinkOf(confirmation.raw);
    expect(link).toBeDefined();
    return { id: id!, link: link! };
  }

  /** The sender releases on the release page (its JSON API): in the gateway, whose outbox starts at once. */
  async function releaseByPage(link: string): Promise<void> {
    // the gateway may die before it answers: what counts is what the sink gets
    await releaseByApi(link).then((r) => r.text(), () => undefined);
  }

  // the gateway looks at the holds every few seconds and takes over at once a release whose
  // deciding process is gone
  it('CLI release killed at release:decided: the running gateway finishes the release within seconds', async () => {
    const s = await setup(HOLD_RULES);
    const { msg, file } = message('release:decided');
    const base = sink.messages.length;
    await gateway(s.config);
    const { id } = await holdOne(s.smtpPort, msg, file, base);
    const cli = await heldCli(s.config, ['release', id], 'release:decided');
    expect(cli.signal).toBe('SIGKILL');
    // the admin tries again: the hold is decided already, nothing is queued twice
    await heldCli(s.config, ['release', id]);
    const done = await settle(sink.messages, () => complete(sink.messages.slice(base), msg, true), { maxMs: 8_000, quietMs: 500 });
    expect(done).toBe(true);
    await verify(base, msg);
  });

  it('CLI release killed at release:enqueued: the running gateway sends the queued plan', async () => {
    const s = await setup(HOLD_RULES);
    const { msg, file } = message('release:enqueued');
    const base = sink.messages.length;
    const g = await gateway(s.config);
    const { id } = await holdOne(s.smtpPort, msg, file, base);
    const cli = await heldCli(s.config, ['release', id], 'release:enqueued');
    expect(cli.signal).toBe('SIGKILL');
    // run again, the CLI finds the hold decided and queues nothing a second time
    const again = await heldCli(s.config, ['release', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not held: it was released by cli');
    await verify(base, msg);
    expect(g.exit).toBeUndefined();
  });

  it('a held message sent again after its answer was lost is held once: confirming every notice sends one copy per group', async () => {
    const s = await setup(HOLD_RULES);
    const { msg, file } = message('held-answer-lost');
    const base = sink.messages.length;
    await gateway(s.config);
    const confirmations = () => sink.messages.slice(base).filter((m) => headerOf(m.raw, 'X-Outguard-Notice') === 'confirm');
    await sendAndLoseAnswer(s.smtpPort, SENDER, RECIPIENTS, msg.raw);
    // up to 10 s for the first confirmation, then go on without one: the checks below decide
    await until(() => confirmations().length > 0, 10_000).catch(() => undefined);
    // the client never saw an answer: it sends the same bytes again
    const again = await sendWithPython(s.smtpPort, SENDER, RECIPIENTS, file);
    expect(again.code, again.text).toBe(250);
    await new Promise((r) => setTimeout(r, 500));
    // the sender confirms every confirmation notice they got
    for (const notice of confirmations()) {
      await releaseByPage(releaseLinkOf(notice.raw)!);
    }
    await verify(base, msg);
    expect(confirmations()).toHaveLength(1);
  });

  // Outbox crash points count every job the gateway's outbox sends since it started: #1 is the
  // hold's confirmation notice, #2–#5 the 3 copies and the "released" notice to the sender (in one
  // batch, in parallel), #6–#7 the 2 password notices (released as their copies are marked sent).
  it('gateway killed at outbox:accepted#2 while it sends a hold released by the CLI: restarted, it sends the rest', async () => {
    const s = await setup(HOLD_RULES);
    const { msg, file } = message('outbox:accepted#2-cli');
    const base = sink.messages.length;
    const g = await gateway(s.config, 'outbox:accepted#2');
    const { id } = await holdOne(s.smtpPort, msg, file, base);
    const cli = await heldCli(s.config, ['release', id]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`released ${id}: queued in the outbox`);
    await waitDeath(g); // the gateway's outbox finds the jobs within its 10 s poll
    await gateway(s.config);
    await verify(base, msg);
  });

  const OUTBOX = [
    ['outbox:accepted#2', 'a copy accepted, not marked'],
    ['outbox:marked#2', 'a copy marked sent, its notice released'],
    ['outbox:accepted#6', 'the notices being sent'],
    ['outbox:marked#6', 'a notice marked sent'],
  ];

  it.each(OUTBOX)('gateway killed at %s (%s) while it sends a hold released on the release page: restarted, it sends the rest', async (point) => {
    const s = await setup(HOLD_RULES);
    const { msg, file } = message(point!);
    const base = sink.messages.length;
    const g = await gateway(s.config, point);
    const { link } = await holdOne(s.smtpPort, msg, file, base);
    await releaseByPage(link);
    await waitDeath(g);
    await gateway(s.config);
    await verify(base, msg);
  });
});
