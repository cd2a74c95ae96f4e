import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sentJobEvent } from '../../src/audit/outbox-events.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { AuditWriter } from '../../src/audit/writer.js';
import type { NewAuditEvent } from '../../src/audit/events.js';
import { createLogger } from '../../src/log.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import { until } from '../support/wait.js';
import { AUDIT_KEY, chainOptions } from './fixtures.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-writer-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const logger = createLogger('silent');

/** A real store whose appendMany waits for the test to let it go, and counts its batches. */
function gatedStore(dir: string) {
  const store = SqliteAuditStore.open(dir, chainOptions(dir));
  const batches: number[] = [];
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  return {
    store,
    batches,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release: () => release(),
    appender: {
      write: async (events: NewAuditEvent[]) => {
        batches.push(events.length);
        await gate;
        await store.write(events);
      },
    },
  };
}

describe('AuditWriter', () => {
  it('group-commits: commits that come together share a batch; the next goes without waiting for the one before', async () => {
    const g = gatedStore(tempDir());
    const writer = new AuditWriter(g.appender, logger);
    g.hold();
    const first = Promise.all([writer.commit({ type: 'delivered', messageId: 'm0a' }), writer.commit({ type: 'delivered', messageId: 'm0b' })]);
    // the first two gathered into one batch, which is now being written
    await until(() => g.batches.length === 1);
    const rest = Array.from({ length: 9 }, (_, i) => writer.commit({ type: 'delivered', messageId: `m${i + 1}` }));
    // the nine that came meanwhile are one batch, on its way while the first is still held
    await until(() => g.batches.length === 2);
    expect(g.batches).toEqual([2, 9]);
    let done = false;
    void Promise.all(rest).then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    g.release();
    await Promise.all([first, ...rest]);
    // resolved means stored, in the order committed
    expect((await g.store.list()).map((e) => e.messageId)).toEqual(['m0a', 'm0b', ...Array.from({ length: 9 }, (_, i) => `m${i + 1}`)]);
    await g.store.close();
  });

  it('a commit fails when its event cannot be written; the others of the batch are stored', async () => {
    const dir = tempDir();
    const store = SqliteAuditStore.open(dir, chainOptions(dir));
    const writer = new AuditWriter(store, logger);
    const results = await Promise.allSettled([writer.commit({ type: 'delivered', messageId: 'ok' }), writer.commit({ type: 'Not Kebab' }), writer.commit({ type: 'held', messageId: 'ok2' })]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await store.list()).map((e) => e.messageId)).toEqual(['ok', 'ok2']);
    await store.close();
  });

  it('record() waits for company, or goes with the next commit', async () => {
    const g = gatedStore(tempDir());
    const writer = new AuditWriter(g.appender, logger, 60_000);
    writer.record({ type: 'login', actor: 'a' });
    expect(g.batches).toEqual([]);
    await writer.commit({ type: 'delivered', messageId: 'm' });
    expect(g.batches).toEqual([2]);
    await g.store.close();
  });
});

describe('a sent job and its audit event', () => {
  it('are stored in one transaction: an event that cannot be written leaves the job unsent', async () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    const outbox = new SqliteOutboxStore(db, AUDIT_KEY, { ownsDb: true });
    const audit = new SqliteAuditStore(db, chainOptions(dir));
    const notice = { kind: 'password-notice' as const, envelope: { from: '', to: ['taro@example.co.jp'] }, raw: Buffer.from('Subject: pw\r\n\r\nx\r\n') };
    await outbox.enqueue({ id: 'n1', ref: 'm1', ...notice });
    await outbox.enqueue({ id: 'n2', ref: 'm2', ...notice });
    const [n1, n2] = [(await outbox.get('n1'))!, (await outbox.get('n2'))!];
    await outbox.markSent('n1', Date.now(), () => audit.appendInTransaction([sentJobEvent(n1)]));
    await expect(
      outbox.markSent('n2', Date.now(), () => {
        audit.appendInTransaction([sentJobEvent(n2)]);
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect((await outbox.get('n1'))!.state).toBe('sent');
    expect((await outbox.get('n2'))!.state).not.toBe('sent');
    expect((await audit.list()).map((e) => [e.type, e.messageId])).toEqual([['notice-sent', 'n1']]);
    expect(await audit.verify()).toMatchObject({ ok: true, count: 1 });
    await audit.close();
    await outbox.close();
  });
});
