import fs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { sentJobEvent } from '../../src/audit/outbox-events.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { AuditJournal, readJournal, replayJournal } from '../../src/audit/journal.js';
import { createLogger } from '../../src/log.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import { until } from '../support/wait.js';
import { AUDIT_KEY, chainOptions } from './fixtures.js';
import { tempDirsPerTest } from '../support/gateway.js';

const tempDir = tempDirsPerTest('outguard-writer-');
const logger = createLogger('silent');

async function setup() {
  const dir = tempDir();
  const store = SqliteAuditStore.open(dir, chainOptions(dir));
  const journal = await AuditJournal.open(dir, store.journalHeld());
  const writes: number[] = [];
  let gate: Promise<void> | undefined;
  const append = journal.append.bind(journal);
  vi.spyOn(journal, 'append').mockImplementation(async (events) => {
    writes.push(events.length);
    await gate;
    return append(events);
  });
  const writer = new AuditWriter(journal, store, logger);
  return {
    dir,
    store,
    writer,
    writes,
    journalFile: journal.file,
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

describe('AuditWriter', () => {
  it('a lazy commit waits for a write somebody urges, and the lazy commits queued meanwhile share it', async () => {
    const s = await setup();
    const lazy = Array.from({ length: 5 }, (_, i) => s.writer.commit({ type: 'delivered', messageId: `lazy${i}` }, { lazy: true }));
    let settled = 0;
    for (const p of lazy) void p.then(() => settled++);
    await new Promise((r) => setImmediate(r));
    expect(s.writes).toEqual([]);
    expect(settled).toBe(0);
    s.writer.urge();
    await Promise.all(lazy);
    expect(s.writes).toEqual([5]);
    await s.writer.stop();
  });

  it('a lazy commit nobody urges is written within a few milliseconds', async () => {
    const s = await setup();
    await s.writer.commit({ type: 'delivered', messageId: 'alone' }, { lazy: true });
    expect(s.writes).toEqual([1]);
    expect(readJournal(s.journalFile).map((e) => e.e.messageId)).toEqual(['alone']);
    await s.writer.stop();
  });

  it('group-commits: one journal write for the commits of one moment, one for all that came while it was under way', async () => {
    const s = await setup();
    const release = s.hold();
    const first = Promise.all([s.writer.commit({ type: 'delivered', messageId: 'm0a' }), s.writer.commit({ type: 'delivered', messageId: 'm0b' })]);
    await until(() => s.writes.length === 1);
    const rest = Array.from({ length: 9 }, (_, i) => s.writer.commit({ type: 'delivered', messageId: `m${i + 1}` }));
    await new Promise((r) => setImmediate(r));
    expect(s.writes).toEqual([2]);
    release();
    await Promise.all([first, ...rest]);
    expect(s.writes).toEqual([2, 9]);
    await s.writer.stop();
    expect((await s.store.list()).map((e) => e.messageId)).toEqual(['m0a', 'm0b', ...Array.from({ length: 9 }, (_, i) => `m${i + 1}`)]);
    await s.store.close();
  });

  it('resolves once the event is in the journal on disk; the chain takes it in a batch, and the journal is emptied', async () => {
    const s = await setup();
    await s.writer.commit({ type: 'delivered', messageId: 'm1' });
    expect(readJournal(s.journalFile).map((x) => x.e.messageId)).toEqual(['m1']);
    expect(await s.store.count()).toBe(0);
    await until(async () => (await s.store.count()) === 1, 2000);
    await until(() => fs.statSync(s.journalFile).size === 0, 2000);
    expect(await s.store.verify()).toMatchObject({ ok: true, count: 1 });
    await s.writer.stop();
    await s.store.close();
  });

  it('after a crash, what the journal holds goes into the chain once, when the log is next opened', async () => {
    const s = await setup();
    await Promise.all(['a', 'b', 'c'].map((m) => s.writer.commit({ type: 'delivered', messageId: m })));
    // killed here: the events are in the journal, not in the chain
    await s.store.close();
    const again = SqliteAuditStore.open(s.dir, chainOptions(s.dir));
    replayJournal(s.dir, again, { truncate: false });
    replayJournal(s.dir, again, { truncate: true });
    expect((await again.list()).map((e) => e.messageId)).toEqual(['a', 'b', 'c']);
    expect(fs.statSync(s.journalFile).size).toBe(0);
    // numbering goes on after what the chain holds
    const journal = await AuditJournal.open(s.dir, again.journalHeld());
    expect((await journal.append([{ type: 'login' }]))[0]!.j).toBe(4);
    await journal.close();
    await again.close();
  });

  it('refuses a malformed event before the journal; a journal that cannot be written fails the commits of its batch', async () => {
    const s = await setup();
    await expect(s.writer.commit({ type: 'Not Kebab' })).rejects.toThrow(/kebab-case/);
    await s.writer.commit({ type: 'delivered', messageId: 'ok' });
    const journal = (s.writer as unknown as { journal: AuditJournal }).journal;
    vi.spyOn(journal, 'append').mockRejectedValueOnce(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    const failed = await Promise.allSettled([s.writer.commit({ type: 'delivered', messageId: 'x' }), s.writer.commit({ type: 'delivered', messageId: 'y' })]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await s.writer.stop();
    expect((await s.store.list()).map((e) => e.messageId)).toEqual(['ok']);
    await s.store.close();
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
