import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuplicateJobError, type NewJob } from '../../src/store/outbox-store.js';
import { SealedDataError } from '../../src/store/sealed.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import { bytesToBuffer } from '../../src/message/source.js';
import { sealedChunks, sealedKey, tamperChunk } from '../support/sealed-chunks.js';

let dir: string;
let key: Buffer;
let store: SqliteOutboxStore;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-outbox-store-'));
  key = randomBytes(32);
  store = SqliteOutboxStore.open(dir, key);
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;

function job(id: string, extra: Partial<NewJob> = {}): NewJob {
  return {
    id,
    kind: 'password-notice',
    ref: `ref-${id}`,
    envelope: { from: 'taro@example.co.jp', to: ['x@partner.example'] },
    raw: Buffer.from(`Subject: pw\r\n\r\nPassword: secret-${id}\r\n`),
    createdAt: T0,
    notBefore: T0,
    ...extra,
  };
}

/** A job's message as stored (its sealed chunks), through a separate connection. */
const storedChunks = (id: string) => sealedChunks(dir, `outbox:${id}`);

/** A job's sealed key (raw_key), through a separate connection; null once its message is erased. */
const storedKey = (id: string) => sealedKey(dir, 'outbox_jobs', id);

/** The database file and its WAL as bytes on disk. */
function fileBytes(): Buffer {
  return Buffer.concat(['outguard.db', 'outguard.db-wal'].map((f) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f)) : Buffer.alloc(0))));
}

describe('SqliteOutboxStore', () => {
  it('creates outguard.db 0600 in WAL mode with synchronous=FULL and secure_delete, and records its schema version', () => {
    const file = path.join(dir, 'outguard.db');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const db = openDatabase(dir);
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(db.pragma('secure_delete', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(10000);
      expect(db.prepare("SELECT version FROM schema_versions WHERE component = 'outbox'").get()).toEqual({ version: 3 });
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer outguard', async () => {
    await store.close();
    const db = openDatabase(dir);
    db.prepare("UPDATE schema_versions SET version = 99 WHERE component = 'outbox'").run();
    db.close();
    expect(() => SqliteOutboxStore.open(dir, key)).toThrow(/outbox tables are at schema version 99, but this build of outguard knows only up to 3/);
    store = SqliteOutboxStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-outbox-store-')), key);
  });

  it('stores the raw bytes sealed, and opens them again', async () => {
    await store.enqueue(job('a'));
    const sealed = storedChunks('a');
    expect(sealed).toHaveLength(1);
    expect(sealed[0]!.includes(Buffer.from('secret-a'))).toBe(false);
    expect(sealed[0]![0]).toBe(1);
    const got = await store.get('a');
    expect(got).toMatchObject({ id: 'a', kind: 'password-notice', ref: 'ref-a', state: 'ready', attempts: 0, hasRaw: true, envelope: { from: 'taro@example.co.jp', to: ['x@partner.example'] } });
    expect(got!.raw!.toString()).toContain('Password: secret-a');
    expect(await store.get('nope')).toBeNull();
  });

  it('refuses a duplicate id and a malformed job', async () => {
    await store.enqueue(job('a'));
    await expect(store.enqueue(job('a'))).rejects.toThrow(DuplicateJobError);
    await expect(store.enqueue(job('b', { envelope: { from: '', to: [] } }))).rejects.toThrow(/at least one recipient/);
    await expect(store.enqueue(job('c', { kind: 'spam' as never }))).rejects.toThrow(/unknown kind/);
  });

  it('reports tampering with a stored message', async () => {
    await store.enqueue(job('a'));
    tamperChunk(dir, 'outbox:a', 20);
    await expect(store.get('a')).rejects.toThrow(SealedDataError);
    const [claimed] = await store.claimDue('r1', T0, 10, 1000);
    expect(() => claimed!.openRaw()).toThrow(/failed authentication/);
  });

  it('keeps a waiting job out of due() until the job it waits for is sent, then for its delay', async () => {
    await store.enqueueAll(
      [
        { ...job('m', { kind: 'message' }), state: 'ready' },
        { ...job('w', { after: 'm', delayMs: 5 }), state: 'waiting' },
        { ...job('r', { createdAt: T0 + 1 }), state: 'ready' },
      ],
      { lease: { owner: 'session', until: T0 + 1000 } },
    );
    expect((await store.due(T0 + 10, 10)).map((j) => j.id)).toEqual([]);
    expect(await store.markSent('m', T0 + 2)).toMatchObject({ changed: true, released: ['w'] });
    expect((await store.due(T0 + 6, 10)).map((j) => j.id)).toEqual([]);
    expect(await store.get('w')).toMatchObject({ state: 'ready', readyAt: T0 + 2, notBefore: T0 + 7 });
    expect((await store.due(T0 + 7, 10)).map((j) => j.id)).toEqual(['w']);
    expect((await store.due(T0 + 1000, 10)).map((j) => j.id)).toEqual(['w', 'r']); // oldest first, once the lease is over
  });

  it('stores everything of one message or nothing: a duplicate id refuses the whole batch', async () => {
    await store.enqueue(job('dup'));
    await expect(store.enqueueAll([{ ...job('new-1'), state: 'ready' }, { ...job('dup'), state: 'ready' }])).rejects.toThrow(DuplicateJobError);
    expect(await store.get('new-1')).toBeNull();
  });

  it('knows a message by its digest: a second plan for it is refused, until the first is cancelled', async () => {
    const plan = (ref: string) => [{ ...job(`${ref}-c1`, { kind: 'message', ref }), state: 'ready' as const }, { ...job(`${ref}-c2`, { kind: 'message', ref }), state: 'ready' as const }];
    await store.enqueueAll(plan('msg'), { digest: 'd1' });
    expect(await store.findByDigest('d1')).toBe('msg');
    expect(await store.findByDigest('d2')).toBeNull();
    await expect(store.enqueueAll(plan('again'), { digest: 'd1' })).rejects.toMatchObject({ name: 'KnownMessageError', ref: 'msg' });
    expect(await store.get('again-c1')).toBeNull();
    await store.cancel('msg-c1');
    await store.cancel('msg-c2');
    expect(await store.findByDigest('d1')).toBeNull();
    await store.enqueueAll(plan('again'), { digest: 'd1' });
    expect(await store.findByDigest('d1')).toBe('again');
  });

  it('drops the leases of a runner known to be gone', async () => {
    await store.enqueueAll([{ ...job('l1'), state: 'ready' }], { lease: { owner: 'host:1:x', until: T0 + 60_000 } });
    expect(await store.leaseOwners()).toEqual(['host:1:x']);
    expect((await store.due(T0, 10)).map((j) => j.id)).toEqual([]);
    expect(await store.releaseLeases('host:1:x')).toBe(1);
    expect((await store.due(T0, 10)).map((j) => j.id)).toEqual(['l1']);
  });

  it('leases a job to one runner until the lease expires or is renewed', async () => {
    await store.enqueue(job('a'));
    await store.enqueue(job('b', { createdAt: T0 + 1 }));
    const a = await store.claimDue('r1', T0, 1, 1000);
    expect(a.map((j) => [j.id, j.leaseOwner, j.leaseUntil])).toEqual([['a', 'r1', T0 + 1000]]);
    expect((await bytesToBuffer(a[0]!.openRaw())).toString()).toContain('secret-a');
    expect((await store.claimDue('r2', T0 + 10, 10, 1000)).map((j) => j.id)).toEqual(['b']);
    expect(await store.claimDue('r2', T0 + 999, 10, 1000)).toEqual([]);
    expect(await store.claim('a', 'r2', T0 + 999, 1000)).toBeNull();
    expect(await store.renew(['a', 'b'], 'r1', T0 + 2000)).toEqual(['a']);
    expect(await store.nextDueAt()).toBe(T0 + 1010); // b's lease runs out first
    // b's lease (r2's own) ran out unrenewed: claimable again; a's was renewed by r1
    expect((await store.claimDue('r3', T0 + 1500, 10, 1000)).map((j) => j.id)).toEqual(['b']);
    expect((await store.claim('a', 'r2', T0 + 2000, 1000))?.leaseOwner).toBe('r2');
    // r1 lost the lease: its failure report must not reschedule r2's send
    expect(await store.markFailed('a', 'timeout', T0 + 60_000, 'r1', T0 + 2001)).toMatchObject({ changed: false });
    expect(await store.get('a')).toMatchObject({ attempts: 0, leaseOwner: 'r2' });
  });

  it('markSent records the send, erases the sealed bytes and releases dependents', async () => {
    await store.enqueue(job('main', { kind: 'message' }));
    await store.enqueue(job('notice', { after: 'main', createdAt: T0 + 1 }), 'waiting');
    await store.claimDue('r1', T0, 10, 1000);
    const t = await store.markSent('main', T0 + 5);
    expect(t).toEqual({ changed: true, released: ['notice'], cancelled: [] });
    expect(await store.get('main')).toMatchObject({ state: 'sent', sentAt: T0 + 5, finishedAt: T0 + 5, hasRaw: false, raw: null, leaseOwner: null });
    expect(storedChunks('main')).toEqual([]);
    expect(await store.get('notice')).toMatchObject({ state: 'ready', readyAt: T0 + 5 });
    expect(await store.markSent('main')).toMatchObject({ changed: false });
    // a notice enqueued after its message was sent is ready at once
    await store.enqueue(job('late', { after: 'main' }), 'waiting');
    expect(await store.get('late')).toMatchObject({ state: 'ready' });
  });

  it('markFailed retries with attempts + 1, or fails for good, erasing and cancelling dependents', async () => {
    await store.enqueue(job('main', { kind: 'message' }));
    await store.enqueue(job('notice', { after: 'main' }), 'waiting');
    await store.enqueue(job('notice2', { after: 'notice' }), 'waiting');
    await store.claimDue('r1', T0, 10, 1000);
    expect(await store.markFailed('main', '421 try later', T0 + 30_000, 'r1', T0 + 1)).toMatchObject({ changed: true });
    expect(await store.get('main')).toMatchObject({ state: 'ready', attempts: 1, lastError: '421 try later', notBefore: T0 + 30_000, leaseOwner: null, hasRaw: true });
    expect(await store.due(T0 + 29_999, 10)).toEqual([]);
    expect(await store.nextDueAt()).toBe(T0 + 30_000);
    const t = await store.markFailed('main', '554 refused', null, undefined, T0 + 40_000);
    expect(t).toEqual({ changed: true, released: [], cancelled: ['notice', 'notice2'] });
    expect(await store.get('main')).toMatchObject({ state: 'failed', attempts: 2, lastError: '554 refused', finishedAt: T0 + 40_000, hasRaw: false });
    expect(await store.get('notice')).toMatchObject({ state: 'cancelled', hasRaw: false, lastError: 'job main it waits for was failed' });
    expect(await store.get('notice2')).toMatchObject({ state: 'cancelled', hasRaw: false, lastError: 'job notice it waits for was cancelled' });
    expect(await store.nextDueAt()).toBeNull();
    await store.enqueue(job('orphan', { after: 'main' }), 'waiting');
    expect(await store.get('orphan')).toMatchObject({ state: 'cancelled', hasRaw: false });
  });

  it('cancel erases the bytes; stale waiting jobs are cancelled unless their job is still pending', async () => {
    await store.enqueue(job('r'));
    expect(await store.cancel('r', 'discarded by the sender')).toMatchObject({ changed: true });
    expect(await store.get('r')).toMatchObject({ state: 'cancelled', lastError: 'discarded by the sender', hasRaw: false });
    expect(await store.cancel('r')).toMatchObject({ changed: false });

    await store.enqueue(job('old', { createdAt: T0 }), 'waiting');
    await store.enqueue(job('young', { createdAt: T0 + 10_000 }), 'waiting');
    await store.enqueue(job('main', { createdAt: T0, kind: 'message' }));
    await store.enqueue(job('dep', { createdAt: T0, after: 'main' }), 'waiting');
    const cancelled = await store.cancelStaleWaiting(T0 + 5_000);
    expect(cancelled.map((j) => [j.id, j.state, j.hasRaw])).toEqual([['old', 'cancelled', false]]);
    expect(await store.get('young')).toMatchObject({ state: 'waiting' });
    expect(await store.get('dep')).toMatchObject({ state: 'waiting' });
    expect(await store.counts()).toEqual({ waiting: 2, ready: 1, sent: 0, failed: 0, cancelled: 2 });
    expect((await store.list({ state: 'cancelled' })).map((j) => j.id)).toEqual(['old', 'r']); // same createdAt: by id
    expect((await store.list({ ref: 'ref-dep' })).map((j) => j.id)).toEqual(['dep']);
  });

  it('purges finished jobs', async () => {
    await store.enqueue(job('a'));
    await store.enqueue(job('b'));
    await store.markSent('a', T0 + 100);
    expect(await store.purge(T0 + 100)).toBe(0);
    expect(await store.purge(T0 + 101)).toBe(1);
    expect((await store.list()).map((j) => j.id)).toEqual(['b']);
  });

  it('erases the message of a cancelled or failed job: its chunks, and its key from the files too (retention: nothing finished keeps a body)', async () => {
    await store.enqueue(job('c', { kind: 'message' }));
    await store.enqueue(job('f', { kind: 'message' }));
    // each message's own key, sealed in its row: while it is in the files, the chunks can be opened
    const keys = ['c', 'f'].map((id) => storedKey(id)!);
    await store.scrub();
    expect(keys.map((k) => fileBytes().includes(k))).toEqual([true, true]);
    await store.cancel('c', 'discarded by the sender');
    await store.markFailed('f', '554 refused', null);
    await store.scrub();
    // the chunks are deleted without zeroing their pages (crypto-shredding): what may linger of
    // them cannot be opened once the key is gone from the row, the database file and its WAL
    expect(keys.map((k) => fileBytes().includes(k))).toEqual([false, false]);
    expect([storedKey('c'), storedKey('f')]).toEqual([null, null]);
    expect([storedChunks('c'), storedChunks('f')]).toEqual([[], []]);
    expect([await store.message('c'), await store.message('f')]).toEqual([null, null]);
    // never in clear, before or after
    expect(['secret-c', 'secret-f'].map((m) => fileBytes().includes(Buffer.from(m)))).toEqual([false, false]);
  });

  it('erases a large message (many chunks) by its key, gone from the database and its WAL, and never stores it in clear', async () => {
    const marker = `MARKER-${randomBytes(8).toString('hex')}`;
    const big = Buffer.concat([Buffer.from(`Subject: big\r\n\r\n${marker}\r\n`), randomBytes(300_000)]);
    await store.enqueue(job('big', { kind: 'message', raw: big }));
    // sealed in chunks: the message spans more than one, all under the one key of its row
    expect(storedChunks('big').length).toBeGreaterThan(1);
    const bigKey = storedKey('big')!;
    await store.scrub();
    expect(fileBytes().includes(Buffer.from(marker))).toBe(false);
    expect(fileBytes().includes(bigKey)).toBe(true);
    await store.markSent('big');
    await store.scrub();
    // the chunks' pages are freed without being zeroed (sparing a large message's worth of writes),
    // so their ciphertext may linger; the only key that opens it is gone, so nobody can open it,
    // not even with the data-at-rest key
    const after = fileBytes();
    expect(after.includes(bigKey)).toBe(false);
    expect(storedKey('big')).toBeNull();
    expect(storedChunks('big')).toEqual([]);
    expect(await store.message('big')).toBeNull();
    expect(after.includes(Buffer.from(marker))).toBe(false);
  });
});
