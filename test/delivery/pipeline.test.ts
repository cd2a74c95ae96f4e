import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryEvents, type CopyDelivered } from '../../src/delivery/events.js';
import { NextHopError } from '../../src/delivery/next-hop.js';
import { Outbox } from '../../src/delivery/outbox.js';
import { DeliveryPipeline, type Seal } from '../../src/delivery/pipeline.js';
import { planDelivery } from '../../src/delivery/plan.js';
import { SmtpHop } from '../../src/delivery/smtp-hop.js';
import { createLogger } from '../../src/log.js';
import { MessageModel } from '../../src/message/model.js';
import { BufferSource } from '../../src/message/source.js';
import { DEFAULT_ENCRYPTION } from '../../src/policy/encryption.js';
import { loadSecretKey } from '../../src/store/secret-key.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import { withAttachments } from '../support/mime.js';
import { type Received, type SinkOptions, startSink } from '../support/sink.js';
import { until } from '../support/wait.js';
import { defaultNoticeFrom } from '../../src/message/mailbox.js';

/** The gateway's audit event, made durable: here it always is. */
const sealed: Seal = async () => undefined;

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const SENDER = 'taro@example.co.jp';
const isInternal = (d: string) => d === 'example.co.jp';
const header = (m: Received, name: string) => new RegExp(`^${name}: (\\S+)`, 'mi').exec(m.raw.toString('latin1').split('\r\n\r\n')[0]!)?.[1];
/** Two outside profiles: partner-a (password to the sender), partner-b (to its recipients). */
const SETTINGS = { ...DEFAULT_ENCRYPTION, profiles: [{ domains: ['partner-b.example'], profile: { ...DEFAULT_ENCRYPTION.default, password: { to: 'recipients' as const, delayMinutes: 0 } } }] };

async function setup(sinkOptions: SinkOptions = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-pipeline-'));
  const sink = await startSink(sinkOptions);
  const key = loadSecretKey(dir, {}).key;
  const store = SqliteOutboxStore.open(dir, key);
  const hop = new SmtpHop({ kind: 'smtp', host: '127.0.0.1', port: sink.port, secure: false, url: `smtp://127.0.0.1:${sink.port}` }, { maxConnections: 2, timeoutMs: 5000, tls: 'off', auth: null }, 'test');
  const logger = createLogger('debug', { write: () => undefined });
  const outbox = new Outbox({ store, hop, logger, retryBaseMs: 100, retryCapMs: 400, retryJitter: 0, pollMs: 100 });
  const delivered: CopyDelivered[] = [];
  const events = new DeliveryEvents().on('copy-delivered', (e) => void delivered.push(e));
  const pipeline = new DeliveryPipeline({ nextHop: hop, store, outbox, events, logger, digestKey: key, hostname: 'gw.example.co.jp', retryMs: 200 });
  await outbox.start();
  cleanup.push(() => sink.close(), () => fs.rmSync(dir, { recursive: true, force: true }), () => store.close(), () => hop.close(), () => outbox.stop());
  return { sink, store, pipeline, delivered, outbox };
}

const RAW = withAttachments({ headers: [`From: ${SENDER}`, 'To: a@partner-a.example', 'Subject: 見積書'], files: [{ name: '見積書.pdf', content: Buffer.from('%PDF-1.4 見積 '.repeat(50)) }] });
const SOURCE = new BufferSource(RAW);

async function planFor(to: string[], id = `m${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`) {
  const message = MessageModel.parse(RAW);
  return { plan: await planDelivery({ id, message, envelope: { from: SENDER, to }, settings: SETTINGS, isInternal, noticeFrom: defaultNoticeFrom('gw') }), envelope: { from: SENDER, to } };
}

describe('DeliveryPipeline: direct mail', () => {
  it('sends a message with nothing to pack while the client waits: one copy, no store, one event', async () => {
    const { sink, store, pipeline, delivered } = await setup();
    const raw = Buffer.from(`From: ${SENDER}\r\nTo: a@partner-a.example\r\nSubject: hi\r\n\r\nhello\r\n`);
    const plan = await planDelivery({ id: 'plain1', message: MessageModel.parse(raw), envelope: { from: SENDER, to: ['a@partner-a.example', 'c@example.co.jp'] }, settings: SETTINGS, isInternal, noticeFrom: defaultNoticeFrom('gw') });
    const result = await pipeline.deliver(plan, { envelope: { from: SENDER, to: ['a@partner-a.example'] }, source: new BufferSource(raw) }, sealed);
    expect(result).toMatchObject({ messageId: 'plain1', delivered: ['plain1'], queued: [], repeated: false });
    expect(sink.messages).toHaveLength(1);
    expect(await store.counts()).toMatchObject({ ready: 0, sent: 0, waiting: 0 });
    expect(delivered.map((e) => [e.id, e.via, e.encrypted])).toEqual([['plain1', 'direct', undefined]]);
  });

  it('stores every copy and notice first, sends the copies, and each password only after its copy', async () => {
    const { sink, store, pipeline, delivered } = await setup();
    const { plan, envelope } = await planFor(['c@example.co.jp', 'a@partner-a.example', 'b@partner-b.example']);
    expect(plan.copies.map((c) => c.envelope.to)).toEqual([['c@example.co.jp'], ['a@partner-a.example'], ['b@partner-b.example']]);
    const result = await pipeline.deliver(plan, { envelope, source: SOURCE }, sealed);
    expect(result.delivered).toEqual(plan.copies.map((c) => c.id));
    await sink.waitFor(5);
    // every notice arrived after the copy it unlocks, to the right people
    for (const notice of sink.messages.filter((m) => header(m, 'X-Outguard-Notice') === 'password')) {
      const ref = header(notice, 'X-Outguard-Ref')!;
      const copyAt = sink.messages.findIndex((m) => header(m, 'X-Outguard-Id') === ref);
      expect(copyAt).toBeGreaterThanOrEqual(0);
      expect(copyAt).toBeLessThan(sink.messages.indexOf(notice));
      expect(notice.to).toEqual(ref.endsWith('-3') ? ['b@partner-b.example'] : [SENDER]);
    }
    await until(async () => (await store.counts()).sent === 5);
    expect(delivered.filter((e) => e.via === 'direct').map((e) => e.encrypted?.form)).toEqual([undefined, 'attachments', 'attachments']);
  });

  it('recognises the same message sent again: nothing is sent twice, the first id is named', async () => {
    const { sink, store, pipeline } = await setup();
    const first = await planFor(['a@partner-a.example']);
    await pipeline.deliver(first.plan, { envelope: first.envelope, source: SOURCE }, sealed);
    await sink.waitFor(2);
    // the client did not get the answer and sends the same bytes again: a new id, a new plan
    const again = await planFor(['a@partner-a.example']);
    const result = await pipeline.deliver(again.plan, { envelope: again.envelope, source: SOURCE }, sealed);
    expect(result).toMatchObject({ messageId: first.plan.messageId, repeated: true, delivered: [first.plan.messageId] });
    expect(sink.messages).toHaveLength(2);
    expect(await store.list({ ref: again.plan.messageId })).toEqual([]);
  });

  it('two sessions with the same message at the same moment: the second one does not make a second plan', async () => {
    const { sink, pipeline } = await setup({ delayMs: 300 });
    const a = await planFor(['a@partner-a.example']);
    const b = await planFor(['a@partner-a.example']);
    const [ra, rb] = await Promise.all([pipeline.deliver(a.plan, { envelope: a.envelope, source: SOURCE }, sealed), pipeline.deliver(b.plan, { envelope: b.envelope, source: SOURCE }, sealed)]);
    expect([ra.repeated, rb.repeated].sort()).toEqual([false, true]);
    expect(rb.messageId).toBe(ra.messageId);
    await until(() => sink.messages.length >= 2);
    const ids = new Set(sink.messages.filter((m) => !header(m, 'X-Outguard-Notice')).map((m) => header(m, 'X-Outguard-Id')));
    expect(ids.size).toBe(1);
  });

  it('a copy the next hop defers stays queued (250): the outbox sends it later, with its password', async () => {
    // the next hop defers partner-b's recipient now (450 at RCPT TO), takes it later
    const deferred = ['b@partner-b.example'];
    const { sink, store, pipeline } = await setup({ deferRecipients: deferred });
    const { plan, envelope } = await planFor(['a@partner-a.example', 'b@partner-b.example']);
    const result = await pipeline.deliver(plan, { envelope, source: SOURCE }, sealed);
    expect(result.delivered).toEqual([plan.messageId]);
    expect(result.queued).toEqual([`${plan.messageId}-2`]);
    deferred.length = 0;
    await until(() => sink.messages.filter((m) => m.to.includes('b@partner-b.example')).length === 2, 10_000, 'partner-b copy and notice');
    expect((await store.get(`${plan.messageId}-2`))!.state).toBe('sent');
  });

  it('when the next hop takes no copy and says so, the plan is dropped and the client is told to retry (451)', async () => {
    const { sink, store, pipeline } = await setup({ reject: { code: 451, text: 'try later' } });
    const { plan, envelope } = await planFor(['a@partner-a.example']);
    await expect(pipeline.deliver(plan, { envelope, source: SOURCE }, sealed)).rejects.toBeInstanceOf(NextHopError);
    // the copy and its password notice
    expect((await store.list({ ref: plan.messageId })).map((j) => [j.kind, j.state]).sort()).toEqual([
      ['message', 'cancelled'],
      ['password-notice', 'cancelled'],
    ]);
    expect(sink.messages).toHaveLength(0);
    // the retry is a fresh message, not "accepted before"
    const again = await planFor(['a@partner-a.example']);
    await expect(pipeline.deliver(again.plan, { envelope: again.envelope, source: SOURCE }, sealed)).rejects.toBeInstanceOf(NextHopError);
  });
});

describe('DeliveryPipeline: the decision on record before anything leaves', () => {
  /** A seal that records how it was called, and fails when told to. */
  function recordingSeal(fail?: Error) {
    const calls: { messageId: string; repeated: boolean }[] = [];
    const seal: Seal = async (how) => {
      calls.push(how);
      if (fail) throw fail;
    };
    return { seal, calls };
  }

  it('makes the decision durable once per message, before the first copy ends, with the first id when sent again', async () => {
    const { sink, pipeline } = await setup();
    const { plan, envelope } = await planFor(['c@example.co.jp', 'a@partner-a.example', 'b@partner-b.example']);
    const first = recordingSeal();
    await pipeline.deliver(plan, { envelope, source: SOURCE }, first.seal);
    // asked before each copy's end and before the answer (the gateway makes it durable once)
    expect(first.calls.length).toBeGreaterThan(0);
    expect(first.calls.every((c) => c.messageId === plan.messageId && !c.repeated)).toBe(true);
    const again = await planFor(['c@example.co.jp', 'a@partner-a.example', 'b@partner-b.example']);
    const second = recordingSeal();
    // every copy went already: nothing to hand over, and the gateway records `repeated` for the first id
    expect(await pipeline.deliver(again.plan, { envelope: again.envelope, source: SOURCE }, second.seal)).toMatchObject({ messageId: plan.messageId, repeated: true });
    expect(second.calls.every((c) => c.messageId === plan.messageId && c.repeated)).toBe(true);
    await sink.waitFor(5);
  });

  it('when the event cannot be written, cuts the copy off before the end of DATA: nothing arrives, the plan is dropped', async () => {
    const { sink, store, pipeline } = await setup();
    const full = new Error('database or disk is full');
    const raw = Buffer.from(`From: ${SENDER}\r\nTo: a@partner-a.example\r\nSubject: hi\r\n\r\nhello\r\n`);
    const plain = await planDelivery({ id: 'plain-full', message: MessageModel.parse(raw), envelope: { from: SENDER, to: ['a@partner-a.example'] }, settings: SETTINGS, isInternal, noticeFrom: defaultNoticeFrom('gw') });
    await expect(pipeline.deliver(plain, { envelope: { from: SENDER, to: ['a@partner-a.example'] }, source: new BufferSource(raw) }, recordingSeal(full).seal)).rejects.toBe(full);
    const { plan, envelope } = await planFor(['c@example.co.jp', 'a@partner-a.example']);
    await expect(pipeline.deliver(plan, { envelope, source: SOURCE }, recordingSeal(full).seal)).rejects.toBe(full);
    const jobs = [...(await store.list({ ref: plan.messageId })), ...(await store.list({ ref: plan.copies[1]!.id }))];
    expect(jobs.map((j) => [j.kind, j.state]).sort()).toEqual([['message', 'cancelled'], ['message', 'cancelled'], ['password-notice', 'cancelled']]);
    // the sink saw the sessions, but no message ended
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.messages).toHaveLength(0);
  });

  it('a next hop that cannot be reached: the event was written alongside, nothing left, the plan is dropped (the gateway then records deferred)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-pipeline-'));
    const key = loadSecretKey(dir, {}).key;
    const store = SqliteOutboxStore.open(dir, key);
    const closed = await startSink();
    const port = closed.port;
    await closed.close();
    const hop = new SmtpHop({ kind: 'smtp', host: '127.0.0.1', port, secure: false, url: `smtp://127.0.0.1:${port}` }, { maxConnections: 1, timeoutMs: 2000, tls: 'off', auth: null }, 'test');
    const logger = createLogger('silent');
    const outbox = new Outbox({ store, hop, logger, pollMs: 60_000 });
    const pipeline = new DeliveryPipeline({ nextHop: hop, store, outbox, events: new DeliveryEvents(), logger, digestKey: key, hostname: 'gw' });
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => store.close(), () => hop.close());
    const { plan, envelope } = await planFor(['a@partner-a.example']);
    const { seal, calls } = recordingSeal();
    await expect(pipeline.deliver(plan, { envelope, source: SOURCE }, seal)).rejects.toBeInstanceOf(NextHopError);
    expect(calls.every((c) => c.messageId === plan.messageId)).toBe(true);
    // the copy and its password notice
    expect((await store.list({ ref: plan.messageId })).map((j) => j.state)).toEqual(['cancelled', 'cancelled']);
  });
});

describe('DeliveryPipeline: released holds', () => {
  it('puts every copy and notice in the outbox in one go; the outbox sends them, each notice after its copy', async () => {
    const { sink, store, pipeline, outbox } = await setup();
    const { plan } = await planFor(['c@example.co.jp', 'a@partner-a.example']);
    await pipeline.enqueue(plan);
    expect((await store.list({})).map((j) => [j.kind, j.state])).toEqual(
      expect.arrayContaining([
        ['message', expect.any(String)],
        ['message', expect.any(String)],
        ['password-notice', expect.stringMatching(/waiting|ready|sent/)],
      ]),
    );
    outbox.kick();
    await sink.waitFor(3);
    const notice = sink.messages.find((m) => header(m, 'X-Outguard-Notice') === 'password')!;
    expect(sink.messages.indexOf(notice)).toBeGreaterThan(sink.messages.findIndex((m) => header(m, 'X-Outguard-Id') === header(notice, 'X-Outguard-Ref')));
  });
});
