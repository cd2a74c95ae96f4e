import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditStore } from '../../src/audit/audit-store.js';
import { GENESIS_HASH, canonicalJson, computeHash, findingFields, hashInput } from '../../src/audit/events.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { DATABASE_FILE_NAME } from '../../src/store/sqlite.js';
import { tempDir } from '../support/gateway.js';
import { sampleEvents, swapRows, tamper } from './fixtures.js';

const stores: AuditStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** A fresh data dir with the five sample events appended; the store is closed again. */
async function filled(): Promise<string> {
  const dir = tempDir('outguard-audit-');
  const store = SqliteAuditStore.open(dir);
  for (const e of sampleEvents()) await store.append(e);
  await store.close();
  return dir;
}

async function verify(dir: string) {
  const store = SqliteAuditStore.open(dir);
  stores.push(store);
  return store.verify();
}

describe('audit event hash', () => {
  it('is SHA-256 of RFC 8785 canonical JSON of the event without hash: sorted keys, no whitespace, absent members left out', () => {
    const e = { seq: 1, time: '2026-11-01T00:00:00.000Z', type: 'delivered', subject: '件名 "x"\n', recipients: ['b@x', 'a@x'], attachments: [{ sha256: 'a'.repeat(64), name: 'z.pdf' }], prevHash: GENESIS_HASH };
    const expected = `{"attachments":[{"name":"z.pdf","sha256":"${'a'.repeat(64)}"}],"prevHash":"${GENESIS_HASH}","recipients":["b@x","a@x"],"seq":1,"subject":"件名 \\"x\\"\\n","time":"2026-11-01T00:00:00.000Z","type":"delivered"}`;
    expect(hashInput(e)).toBe(expected);
    expect(computeHash(e)).toBe(crypto.createHash('sha256').update(expected, 'utf8').digest('hex'));
    // hash itself is never part of the input; undefined members are absent
    expect(hashInput({ ...e, hash: 'f'.repeat(64), detail: undefined } as typeof e)).toBe(expected);
    expect(canonicalJson({ b: [1, 'x'], a: null })).toBe('{"a":null,"b":[1,"x"]}');
  });

  it('findingFields gives each rule and clause once, in order', () => {
    const f = (rule: string, clause: string) => ({ rule, clause });
    expect(findingFields([f('a', '第6-1'), f('b', '第6-3'), f('a', '第6-1')])).toEqual({ rules: ['a', 'b'], clauses: ['第6-1', '第6-3'] });
  });
});

describe('SqliteAuditStore', () => {
  it('chains appended events: seq 1…n, prevHash of the first is 64 zeros, each prevHash the hash before; verify is OK', async () => {
    const dir = await filled();
    const store = SqliteAuditStore.open(dir);
    stores.push(store);
    const events = await store.list();
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(events[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < events.length; i++) expect(events[i]!.prevHash).toBe(events[i - 1]!.hash);
    for (const e of events) expect(e.hash).toBe(computeHash(e));
    expect(events[1]).toMatchObject({ subject: '設計書', attachments: [{ name: '設計書.xlsx', sha256: 'a'.repeat(64) }], rules: ['zip-encrypt'], clauses: ['第6-2'] });
    expect(events[0]).not.toHaveProperty('attachments');
    expect(await store.verify()).toEqual({ ok: true, count: 5, lastHash: events[4]!.hash });
    // the file lies in the data dir next to the other stores
    expect(path.basename(store['db'].name)).toBe(DATABASE_FILE_NAME);
  });

  it('an empty log verifies with 0 events', async () => {
    expect(await verify(tempDir())).toEqual({ ok: true, count: 0, lastHash: GENESIS_HASH });
  });

  it('refuses UPDATE and DELETE on the table (append-only), so only deliberate tampering changes it', async () => {
    const dir = await filled();
    const db = new Database(path.join(dir, DATABASE_FILE_NAME));
    expect(() => db.prepare("UPDATE audit_events SET subject = 'x' WHERE seq = 1").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_events WHERE seq = 1').run()).toThrow(/append-only/);
    db.close();
    expect((await verify(dir)).ok).toBe(true);
  });

  it('names an event whose subject was edited in the database as altered', async () => {
    const dir = await filled();
    tamper(dir, (db) => db.prepare("UPDATE audit_events SET subject = '見積書（修正）' WHERE seq = 3").run());
    expect(await verify(dir)).toMatchObject({ ok: false, seq: 3, problem: 'altered' });
  });

  it('names an edited list column, recipients, as altered; unreadable JSON as well', async () => {
    const dir = await filled();
    tamper(dir, (db) => db.prepare(`UPDATE audit_events SET recipients = '["a@partner.example"]' WHERE seq = 2`).run());
    expect(await verify(dir)).toMatchObject({ ok: false, seq: 2, problem: 'altered' });
    const dir2 = await filled();
    tamper(dir2, (db) => db.prepare(`UPDATE audit_events SET rules = 'not json' WHERE seq = 4`).run());
    expect(await verify(dir2)).toMatchObject({ ok: false, seq: 4, problem: 'altered' });
  });

  it('names a deleted middle event as removed, at its seq', async () => {
    const dir = await filled();
    tamper(dir, (db) => db.prepare('DELETE FROM audit_events WHERE seq = 3').run());
    expect(await verify(dir)).toMatchObject({ ok: false, seq: 3, problem: 'removed' });
  });

  it('names deleted last events as removed (the head remembers how many were appended)', async () => {
    const dir = await filled();
    tamper(dir, (db) => db.prepare('DELETE FROM audit_events WHERE seq >= 4').run());
    expect(await verify(dir)).toMatchObject({ ok: false, seq: 4, problem: 'removed' });
  });

  it('names a deletion hidden by renumbering the later events as removed at the deleted seq', async () => {
    const dir = await filled();
    tamper(dir, (db) => {
      db.prepare('DELETE FROM audit_events WHERE seq = 2').run();
      db.prepare('UPDATE audit_events SET seq = seq - 1 WHERE seq > 2').run();
    });
    expect(await verify(dir)).toMatchObject({ ok: false, seq: 2, problem: 'removed' });
  });

  it('names the first of two rows whose contents were swapped as reordered', async () => {
    const dir = await filled();
    tamper(dir, (db) => swapRows(db, 2, 4));
    expect(await verify(dir)).toMatchObject({ ok: false, seq: 2, problem: 'reordered', detail: expect.stringContaining('belongs at seq 4') });
  });

  it('names the first of two rows whose subjects (not hashes) were swapped as altered', async () => {
    const dir = await filled();
    tamper(dir, (db) => swapRows(db, 3, 4, ['subject']));
    expect(await verify(dir)).toMatchObject({ ok: false, seq: 3, problem: 'altered' });
  });

  it('names an event edited with its hash recomputed: the next event no longer chains to it', async () => {
    const dir = await filled();
    const store = SqliteAuditStore.open(dir);
    const original = (await store.list({ messageId: 'm3' }))[0]!;
    await store.close();
    const forged = { ...original, subject: 'nothing to see' };
    const hash = computeHash(forged);
    tamper(dir, (db) => db.prepare('UPDATE audit_events SET subject = ?, hash = ? WHERE seq = 3').run(forged.subject, hash));
    expect(await verify(dir)).toMatchObject({ ok: false, seq: 3, problem: 'removed', detail: expect.stringContaining('recomputed') });
  });

  it('keeps appending after a tampered tail so the gap stays visible', async () => {
    const dir = await filled();
    tamper(dir, (db) => db.prepare('DELETE FROM audit_events WHERE seq = 5').run());
    const store = SqliteAuditStore.open(dir);
    stores.push(store);
    expect((await store.append({ type: 'login', actor: 'reviewer1' })).seq).toBe(6);
    expect(await store.verify()).toMatchObject({ ok: false, seq: 5, problem: 'removed' });
  });

  it('chains correctly when two processes append at the same time', async () => {
    const dir = tempDir('outguard-audit-');
    SqliteAuditStore.open(dir).close();
    const worker = path.resolve('test/audit/append-worker.ts');
    const run = promisify(execFile);
    await Promise.all(['A', 'B'].map((tag) => run(process.execPath, ['--import', 'tsx', worker, dir, '60', tag])));
    const store = SqliteAuditStore.open(dir);
    stores.push(store);
    expect(await store.verify()).toMatchObject({ ok: true, count: 120 });
    const ids = (await store.list()).map((e) => e.messageId);
    expect(new Set(ids).size).toBe(120);
  });

  it('stores a subject with a lone surrogate as U+FFFD so the hash still matches', async () => {
    const dir = tempDir();
    const store = SqliteAuditStore.open(dir);
    stores.push(store);
    const e = await store.append({ type: 'held', subject: 'broken \uD800 subject' });
    expect(e.subject).toBe('broken \uFFFD subject');
    expect(await store.verify()).toMatchObject({ ok: true, count: 1 });
  });

  it('refuses a malformed event, naming the member', async () => {
    const store = SqliteAuditStore.open(tempDir());
    stores.push(store);
    await expect(store.append({ type: 'Delivered!' })).rejects.toThrow(/type must be a kebab-case name/);
    await expect(store.append({ type: 'held', attachments: [{ name: 'a', sha256: 'xyz' }] })).rejects.toThrow(/attachments\[0\]/);
    await expect(store.append({ type: 'held', time: 'yesterday' })).rejects.toThrow(/time is not a valid date/);
    expect(await store.verify()).toEqual({ ok: true, count: 0, lastHash: GENESIS_HASH });
  });

  it('lists by time, type or action, rule, message and limit', async () => {
    const store = SqliteAuditStore.open(await filled());
    stores.push(store);
    const seqs = async (f: Parameters<AuditStore['list']>[0]) => (await store.list(f)).map((e) => e.seq);
    expect(await seqs({ since: '2026-11-01T01:00:00Z', until: '2026-11-01T03:00:00Z' })).toEqual([2, 3]);
    expect(await seqs({ since: new Date('2026-11-02') })).toEqual([5]);
    expect(await seqs({ action: 'rejected' })).toEqual([3]);
    expect(await seqs({ action: 'deliver' })).toEqual([1, 2]);
    expect(await seqs({ action: ['held', 'released'] })).toEqual([4, 5]);
    expect(await seqs({ type: 'deliver' })).toEqual([]);
    expect(await seqs({ rule: 'many-external' })).toEqual([4]);
    expect(await seqs({ rule: 'many' })).toEqual([]);
    expect(await seqs({ messageId: 'm4' })).toEqual([4, 5]);
    expect(await seqs({ limit: 2 })).toEqual([1, 2]);
    await expect(store.list({ since: 'soon' })).rejects.toThrow(/since must be an ISO 8601/);
  });
});
