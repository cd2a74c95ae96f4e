import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox, type OutboxOptions, retryDelay } from '../../src/delivery/outbox.js';
import { SmtpHop } from '../../src/delivery/smtp-hop.js';
import { createLogger } from '../../src/log.js';
import type { NewJob } from '../../src/store/outbox-store.js';
import { loadSecretKey } from '../../src/store/secret-key.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import { freePort } from '../support/net.js';
import { sealedChunks, sealedKey, tamperChunk } from '../support/sealed-chunks.js';
import { type Sink, startSink } from '../support/sink.js';
import { until } from '../support/wait.js';

/** Things to close after each test, last opened first. */
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function dataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-outbox-'));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function sink(options: Parameters<typeof startSink>[0] = {}): Promise<Sink> {
  const s = await startSink(options);
  cleanup.push(() => s.close());
  return s;
}

function hop(port: number): SmtpHop {
  const h = new SmtpHop({ kind: 'smtp', host: '127.0.0.1', port, secure: false, url: `smtp://127.0.0.1:${port}` }, { maxConnections: 2, timeoutMs: 5000, tls: 'off', auth: null }, 'test');
  cleanup.push(() => h.close());
  return h;
}

function openStore(dir: string): SqliteOutboxStore {
  const store = SqliteOutboxStore.open(dir, loadSecretKey(dir, {}).key);
  cleanup.push(() => store.close());
  return store;
}

/** JSON log lines, as the gateway's logger writes them. */
function logger() {
  const lines: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
  return { log, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function outbox(options: Partial<OutboxOptions> & Pick<OutboxOptions, 'store' | 'hop' | 'logger'>): Outbox {
  const o = new Outbox({ retryBaseMs: 100, retryCapMs: 400, retryJitter: 0, pollMs: 200, ...options });
  cleanup.push(() => o.stop());
  return o;
}

/** A password notice whose body carries a marker that must never reach the disk in clear. */
function notice(id: string, marker = `pw-${randomBytes(8).toString('hex')}`): NewJob & { marker: string } {
  const raw = Buffer.from(
    [
      'From: outguard@example.co.jp',
      'To: x@partner.example',
      'Subject: =?UTF-8?B?44OR44K544Ov44O844OJ?= / Password',
      `X-Outguard-Id: ${id}`,
      'X-Outguard-Notice: password',
      'X-Outguard-Ref: main-1',
      '',
      `Password: ${marker}`,
      '',
    ].join('\r\n'),
  );
  return { id, kind: 'password-notice', ref: 'main-1', envelope: { from: 'outguard@example.co.jp', to: ['x@partner.example'] }, raw, marker };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The database file and its WAL, as bytes on disk. */
function dbBytes(dir: string): Buffer {
  return Buffer.concat(['outguard.db', 'outguard.db-wal'].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}

/** A job's message as stored (its sealed chunks), through a separate connection. */
const storedChunks = (dir: string, id: string) => sealedChunks(dir, `outbox:${id}`);

/** A job's sealed message key (raw_key), through a separate connection; null once its message is erased. */
const storedKey = (dir: string, id: string) => sealedKey(dir, 'outbox_jobs', id);

const outguardIds = (s: Sink) => s.messages.map((m) => /X-Outguard-Id: (\S+)/.exec(m.raw.toString())?.[1]);

describe('retryDelay', () => {
  it('doubles from the base up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 50].map((n) => retryDelay(n, 30_000, 3_600_000) / 1000)).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
  });
});

describe('Outbox', () => {
  it('does not send a password notice until the copy it unlocks was sent, then sends it', async () => {
    const dir = dataDir();
    const s = await sink();
    const store = openStore(dir);
    const { log } = logger();
    const ob = outbox({ store, hop: hop(s.port), logger: log });
    const job = notice('n-wait');
    // the copy is sent by someone else (the SMTP session): leased away from this outbox
    await store.enqueueAll([{ id: 'main-1', kind: 'message', ref: 'main-1', envelope: job.envelope, raw: Buffer.from('Subject: x\r\n\r\nzip\r\n'), state: 'ready' }, { ...job, after: 'main-1', state: 'waiting' }], { lease: { owner: 'smtp-session', until: Date.now() + 60_000 } });
    await ob.start();
    ob.kick();
    await sleep(500);
    expect(await ob.runOnce()).toBe(0);
    expect(s.messages).toHaveLength(0);
    expect(await store.get('n-wait')).toMatchObject({ state: 'waiting', hasRaw: true });

    expect(await store.markSent('main-1')).toMatchObject({ changed: true, released: ['n-wait'] });
    ob.kick();
    await s.waitFor(1);
    await until(async () => (await store.get('n-wait'))?.state === 'sent', 5000, 'state sent');
    expect(s.messages[0]!.to).toEqual(['x@partner.example']);
    expect(s.messages[0]!.raw.toString()).toContain(`Password: ${job.marker}`);
  });

  it('sends a ready job exactly once, erases it afterwards, and never stores or logs it in clear', async () => {
    const dir = dataDir();
    const s = await sink();
    const store = openStore(dir);
    const { log, lines } = logger();
    const sent: string[] = [];
    const ob = outbox({ store, hop: hop(s.port), logger: log, onSent: (j) => void sent.push(j.id) });
    const job = notice('n-once');
    await store.enqueue(job);
    const chunks = storedChunks(dir, 'n-once');
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.includes(Buffer.from(job.marker))).toBe(false);
    expect(dbBytes(dir).includes(Buffer.from(job.marker))).toBe(false);
    // the message's own key, sealed in its row, is there: it is what opens the chunks
    const messageKey = storedKey(dir, 'n-once')!;
    expect(dbBytes(dir).includes(messageKey)).toBe(true);

    await ob.start();
    ob.kick();
    await s.waitFor(1);
    await until(async () => (await store.get('n-once'))?.state === 'sent', 5000, 'state sent');
    await sleep(700); // a few more passes of the loop
    await ob.stop(); // the pass that sent it has scrubbed the store
    expect(s.messages).toHaveLength(1);
    expect(sent).toEqual(['n-once']);

    const after = await store.get('n-once');
    expect(after).toMatchObject({ state: 'sent', attempts: 0, hasRaw: false, raw: null });
    expect(after!.sentAt).toBeGreaterThan(0);
    expect(storedChunks(dir, 'n-once')).toEqual([]);
    expect(storedKey(dir, 'n-once')).toBeNull();
    expect(await store.message('n-once')).toBeNull();
    // the password is not in the database file or its WAL, nor is the key that opened it: the
    // chunks are deleted without zeroing their pages, so whatever of them lingers cannot be opened
    const bytes = dbBytes(dir);
    expect(bytes.includes(Buffer.from(job.marker))).toBe(false);
    expect(bytes.includes(messageKey)).toBe(false);
    // the log says what happened, without the content
    expect(lines.join('\n')).not.toContain(job.marker);
    const sentLine = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'outbox job sent');
    expect(sentLine).toMatchObject({ id: 'n-once', kind: 'password-notice', ref: 'main-1', attempt: 1 });
    expect(sentLine.reply).toMatch(/^250 /);
  });

  it('retries with growing delays while the next hop is down, and delivers exactly once when it is back', async () => {
    const dir = dataDir();
    const port = await freePort();
    const store = openStore(dir);
    const { log, lines, records } = logger();
    const ob = outbox({ store, hop: hop(port), logger: log, retryBaseMs: 150, retryCapMs: 600 });
    const job = notice('n-retry');
    await store.enqueue(job);
    await ob.start();
    await until(async () => ((await store.get('n-retry'))?.attempts ?? 0) >= 4, 15_000, '4 failed attempts');
    expect(await store.get('n-retry')).toMatchObject({ state: 'ready', hasRaw: true });
    expect((await store.get('n-retry'))!.lastError).toMatch(/ECONNREFUSED/);
    const retries = records().filter((r) => r.msg === 'outbox delivery failed; will retry');
    expect(retries.slice(0, 4).map((r) => [r.attempt, r.retryInMs])).toEqual([
      [1, 150],
      [2, 300],
      [3, 600],
      [4, 600],
    ]);
    expect(retries[0]).toMatchObject({ id: 'n-retry', kind: 'password-notice', ref: 'main-1' });
    expect(typeof retries[0]!.retryAt).toBe('string');

    const s = await sink({ port });
    await s.waitFor(1);
    await until(async () => (await store.get('n-retry'))?.state === 'sent', 5000, 'state sent');
    await sleep(1500);
    expect(s.messages).toHaveLength(1);
    expect(await store.get('n-retry')).toMatchObject({ state: 'sent', hasRaw: false });
    expect(lines.join('\n')).not.toContain(job.marker);
  });

  it('fails a job for good when the next hop refuses it, or when it is too old', async () => {
    const dir = dataDir();
    const s = await sink({ reject: { code: 554, text: 'content refused' } });
    const store = openStore(dir);
    const { log, records } = logger();
    const failed: [string, string][] = [];
    const ob = outbox({ store, hop: hop(s.port), logger: log, onFailed: (j, e) => void failed.push([j.id, e]) });
    await store.enqueue(notice('n-refused'));
    await store.enqueue({ ...notice('n-dependent'), after: 'n-refused' }, 'waiting');
    expect(await ob.runOnce()).toBe(1);
    expect(await store.get('n-refused')).toMatchObject({ state: 'failed', attempts: 1, hasRaw: false });
    expect((await store.get('n-refused'))!.lastError).toMatch(/^554 /);
    expect(await store.get('n-dependent')).toMatchObject({ state: 'cancelled', hasRaw: false });
    expect(failed).toEqual([['n-refused', expect.stringMatching(/content refused/)]]);
    expect(records().find((r) => r.msg === 'outbox job failed for good')).toMatchObject({ id: 'n-refused', level: 50, reason: 'refused by the next hop' });

    // a temporary failure past the maximum age is final too
    const port = await freePort();
    const old = outbox({ store, hop: hop(port), logger: log, maxAgeMs: 60_000 });
    await store.enqueue({ ...notice('n-old'), createdAt: Date.now() - 120_000 });
    const db = new Database(path.join(dir, 'outguard.db'));
    db.prepare('UPDATE outbox_jobs SET ready_at = ? WHERE id = ?').run(Date.now() - 120_000, 'n-old');
    db.close();
    expect(await old.runOnce()).toBe(1);
    expect(await store.get('n-old')).toMatchObject({ state: 'failed', attempts: 1 });
    expect(records().find((r) => r.msg === 'outbox job failed for good' && r.id === 'n-old')).toMatchObject({ reason: 'not delivered within 1 minutes' });
  });

  it('fails a job whose stored bytes were tampered with, without sending anything', async () => {
    const dir = dataDir();
    const s = await sink();
    const store = openStore(dir);
    const { log, records } = logger();
    const ob = outbox({ store, hop: hop(s.port), logger: log });
    await store.enqueue(notice('n-tampered'));
    tamperChunk(dir, 'outbox:n-tampered', -1);
    expect(await ob.runOnce()).toBe(1);
    expect(s.messages).toHaveLength(0);
    expect(await store.get('n-tampered')).toMatchObject({ state: 'failed', hasRaw: false });
    expect(records().find((r) => r.msg === 'outbox job failed for good')!.err).toMatch(/cannot open the stored message: sealed data failed authentication/);
  });

  it('after a crash, a new outbox on the same database sends each job exactly once', async () => {
    const dir = dataDir();
    const s = await sink();
    // the first process: one job enqueued, another claimed and in flight when it "crashed"
    const first = SqliteOutboxStore.open(dir, loadSecretKey(dir, {}).key);
    await first.enqueue({ ...notice('n-inflight'), createdAt: Date.now() - 1000 });
    await first.enqueue(notice('n-queued'));
    const [inflight] = await first.claimDue('dead-runner', Date.now(), 1, 1500);
    expect(inflight!.id).toBe('n-inflight');
    await first.close(); // no markSent, no stop: gone

    const store = openStore(dir);
    const { log, records } = logger();
    const ob = outbox({ store, hop: hop(s.port), logger: log, leaseMs: 2000 });
    await ob.start();
    expect(records().find((r) => r.msg === 'outbox started')).toMatchObject({ ready: 2 });
    await s.waitFor(1);
    await sleep(300);
    expect(outguardIds(s)).toEqual(['n-queued']); // the other is still leased to the dead runner
    await s.waitFor(2);
    await until(async () => (await store.counts()).sent === 2, 5000, 'both sent');
    await sleep(1000);
    expect(outguardIds(s).sort()).toEqual(['n-inflight', 'n-queued']);
    await ob.stop();

    // and a third start finds nothing left to send
    const again = outbox({ store, hop: hop(s.port), logger: log });
    await again.start();
    expect(await again.runOnce()).toBe(0);
    expect(s.messages).toHaveLength(2);
  });

  it('cancels waiting jobs left behind too long, whose message was never accepted', async () => {
    const dir = dataDir();
    const s = await sink();
    const store = openStore(dir);
    const { log, records } = logger();
    await store.enqueue({ ...notice('n-stale'), createdAt: Date.now() - 2 * 3600_000 }, 'waiting');
    await store.enqueue(notice('n-fresh'), 'waiting');
    const ob = outbox({ store, hop: hop(s.port), logger: log, waitingMaxAgeMs: 3600_000 });
    await ob.start();
    expect(await store.get('n-stale')).toMatchObject({ state: 'cancelled', hasRaw: false });
    expect(await store.get('n-fresh')).toMatchObject({ state: 'waiting', hasRaw: true });
    expect(records().find((r) => r.msg?.toString().startsWith('outbox: waiting job cancelled'))).toMatchObject({ id: 'n-stale', kind: 'password-notice', ref: 'main-1', level: 40 });
    await sleep(300);
    expect(s.messages).toHaveLength(0);
  });

  it('two outboxes on one database never send a job twice', async () => {
    const dir = dataDir();
    const s = await sink({ delayMs: 50 });
    const a = openStore(dir);
    const b = openStore(dir);
    const { log, lines } = logger();
    const n = 24;
    for (let i = 0; i < n; i++) await a.enqueue(notice(`n-${String(i).padStart(2, '0')}`));
    const oa = outbox({ store: a, hop: hop(s.port), logger: log.child({ runner: 'a' }), runnerId: 'a', concurrency: 3, pollMs: 20 });
    const ob = outbox({ store: b, hop: hop(s.port), logger: log.child({ runner: 'b' }), runnerId: 'b', concurrency: 3, pollMs: 20 });
    await Promise.all([oa.start(), ob.start()]);
    await s.waitFor(n, 20_000);
    await until(async () => (await a.counts()).sent === n, 10_000, 'all sent');
    await sleep(1000);
    await Promise.all([oa.stop(), ob.stop()]);
    const ids = outguardIds(s);
    expect(ids).toHaveLength(n);
    expect(new Set(ids).size).toBe(n);
    const byRunner = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'outbox job sent');
    expect(byRunner).toHaveLength(n);
    // both took part (each runner claims 3 at a time while the sink answers slowly)
    expect(new Set(byRunner.map((l) => l.runner))).toEqual(new Set(['a', 'b']));
  });

  it('stop() waits for the sends in flight', async () => {
    const dir = dataDir();
    const s = await sink({ delayMs: 700 });
    const store = openStore(dir);
    const { log } = logger();
    const ob = outbox({ store, hop: hop(s.port), logger: log });
    await store.enqueue(notice('n-slow'));
    await ob.start();
    await until(async () => (await store.get('n-slow'))?.leaseOwner === ob.runnerId, 5000, 'claimed');
    await ob.stop();
    expect(await store.get('n-slow')).toMatchObject({ state: 'sent', hasRaw: false });
    expect(s.messages).toHaveLength(1);
  });
});
