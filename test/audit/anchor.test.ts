import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnchorFile } from '../../src/audit/anchor.js';
import { canonicalJson, computeHash } from '../../src/audit/events.js';
import { AnchorMissingError, SqliteAuditStore, chainKey } from '../../src/audit/sqlite-audit.js';
import { AUDIT_KEY, chainOptions, sampleEvents, tamper } from './fixtures.js';
import { tempDirsPerTest } from '../support/gateway.js';

/**
 * The keyed, anchored chain against someone who can edit outguard.db but holds neither the
 * data-at-rest key nor the anchor file: what verify must catch, and what it must let pass.
 */

const tempDir = tempDirsPerTest('outguard-anchor-');

/** A data dir whose chain the gateway wrote: keyed from the start, anchored after every commit. */
async function gatewayChain(batches = 3): Promise<string> {
  const dir = tempDir();
  const store = SqliteAuditStore.open(dir, chainOptions(dir));
  for (let i = 0; i < batches; i++) await store.appendMany(sampleEvents());
  await store.close();
  return dir;
}

async function verify(dir: string, options: Parameters<SqliteAuditStore['verify']>[0] = {}) {
  const store = SqliteAuditStore.open(dir, { ...chainOptions(dir), readOnly: true });
  try {
    return await store.verify(options);
  } finally {
    await store.close();
  }
}

/** Every row's hash recomputed as the unkeyed chain defines it (the published algorithm), head moved to match. */
function recomputeWithoutKey(db: import('better-sqlite3').Database, mac?: Buffer): void {
  const rows = db.prepare('SELECT * FROM audit_events ORDER BY seq').all() as Record<string, unknown>[];
  let prev = '0'.repeat(64);
  const update = db.prepare('UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?');
  for (const row of rows) {
    const event: Record<string, unknown> = { seq: row.seq, time: row.time, type: row.type, prevHash: prev };
    for (const [col, key] of [['message_id', 'messageId'], ['sender', 'sender'], ['subject', 'subject'], ['action', 'action'], ['actor', 'actor'], ['detail', 'detail']] as const) {
      if (row[col] !== null) event[key] = row[col];
    }
    for (const [col, key] of [['recipients', 'recipients'], ['attachments', 'attachments'], ['rules', 'rules'], ['clauses', 'clauses']] as const) {
      if (row[col] !== null) event[key] = JSON.parse(row[col] as string);
    }
    const hash = mac
      ? crypto.createHmac('sha256', mac).update(canonicalJson(event as never)).digest('hex')
      : computeHash(event as never);
    update.run(prev, hash, row.seq);
    prev = hash;
  }
  db.prepare('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1').run(rows.length, prev);
}

describe('the keyed chain and its anchor file', () => {
  it('verifies an untouched chain against its newest anchor, and again after restarts', async () => {
    const dir = await gatewayChain();
    const first = await verify(dir);
    expect(first).toMatchObject({ ok: true, count: 15, anchor: { count: 15 } });
    // restarted twice, appending between: still intact, anchored at the new head
    for (let i = 0; i < 2; i++) {
      const store = SqliteAuditStore.open(dir, chainOptions(dir));
      await store.append({ type: 'login', actor: `restart-${i}` });
      await store.close();
    }
    expect(await verify(dir)).toMatchObject({ ok: true, count: 17, anchor: { count: 17 } });
    // every commit appended a line: the first anchor (empty chain) and one per batch
    const lines = fs.readFileSync(chainOptions(dir).anchorFile, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { count: number }).count)).toEqual([0, 5, 10, 15, 16, 17]);
  });

  it('stores MACs that depend on the key, not plain hashes', async () => {
    const dir = await gatewayChain(1);
    const store = SqliteAuditStore.open(dir, { ...chainOptions(dir), readOnly: true });
    const [event] = await store.list({ limit: 1 });
    await store.close();
    const { hash, ...unhashed } = event!;
    expect(hash).not.toBe(computeHash(unhashed));
    expect(hash).toBe(crypto.createHmac('sha256', chainKey(AUDIT_KEY)).update(canonicalJson(unhashed as never)).digest('hex'));
  });

  it('fails on a cut tail with the head row moved back to match', async () => {
    const dir = await gatewayChain();
    tamper(dir, (db) => {
      const keep = db.prepare('SELECT seq, hash FROM audit_events WHERE seq = 12').get() as { seq: number; hash: string };
      db.prepare('DELETE FROM audit_events WHERE seq > 12').run();
      db.exec('DROP TRIGGER audit_head_no_delete');
      db.prepare('DELETE FROM audit_head').run();
      db.prepare('INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)').run(keep.seq, keep.hash);
    });
    const result = await verify(dir);
    expect(result).toMatchObject({ ok: false, seq: 13, problem: 'removed' });
    expect(result.ok === false && result.detail).toMatch(/names 15 events but the chain holds 12: events 13–15 were cut off/);
  });

  it('fails on emptied tables', async () => {
    const dir = await gatewayChain();
    tamper(dir, (db) => {
      db.exec('DROP TRIGGER audit_head_no_delete; DELETE FROM audit_events; DELETE FROM audit_head;');
    });
    const result = await verify(dir);
    expect(result).toMatchObject({ ok: false, seq: 1, problem: 'removed' });
    expect(result.ok === false && result.detail).toMatch(/the log was emptied/);
  });

  it('fails on a chain recomputed without the key, even with the switch point removed', async () => {
    const dir = await gatewayChain();
    tamper(dir, (db) => recomputeWithoutKey(db));
    expect(await verify(dir)).toMatchObject({ ok: false, seq: 1, problem: 'altered' });
    tamper(dir, (db) => db.exec('DROP TRIGGER audit_chain_no_delete; DELETE FROM audit_chain;'));
    const result = await verify(dir);
    expect(result).toMatchObject({ ok: false, problem: 'altered' });
    expect(result.ok === false && result.detail).toMatch(/no switch point/);
    // and the gateway does not start keyed again over it
    expect(() => SqliteAuditStore.open(dir, chainOptions(dir))).toThrow(/no switch point: it was replaced or edited/);
  });

  it('fails on a chain re-keyed with another key', async () => {
    const dir = await gatewayChain();
    tamper(dir, (db) => recomputeWithoutKey(db, chainKey(Buffer.alloc(32, 9))));
    const result = await verify(dir);
    expect(result).toMatchObject({ ok: false, seq: 1, problem: 'altered' });
    expect(result.ok === false && result.detail).toMatch(/does not match its MAC/);
  });

  it('fails when the anchor file is missing after the first start; start refuses; re-anchor is recorded', async () => {
    const dir = await gatewayChain(1);
    fs.rmSync(chainOptions(dir).anchorFile);
    expect(await verify(dir)).toMatchObject({ ok: false, problem: 'anchor-missing' });
    expect(() => SqliteAuditStore.open(dir, chainOptions(dir))).toThrow(AnchorMissingError);
    const event = await SqliteAuditStore.reanchor(dir, { ...chainOptions(dir), actor: 'cli' });
    expect(event).toMatchObject({ seq: 6, type: 'anchor-restarted' });
    expect(await verify(dir)).toMatchObject({ ok: true, count: 6, anchor: { count: 6 } });
  });

  it('checks a head kept by hand (--expect COUNT:MAC)', async () => {
    const dir = await gatewayChain(1);
    const kept = await verify(dir);
    if (!kept.ok) throw new Error('not intact');
    const store = SqliteAuditStore.open(dir, chainOptions(dir));
    await store.appendMany(sampleEvents());
    await store.close();
    expect(await verify(dir, { expect: { count: kept.count, mac: kept.lastHash } })).toMatchObject({ ok: true, count: 10 });
    expect(await verify(dir, { expect: { count: kept.count, mac: 'f'.repeat(64) } })).toMatchObject({ ok: false, seq: 5, problem: 'altered' });
    expect(await verify(dir, { expect: { count: 11, mac: kept.lastHash } })).toMatchObject({ ok: false, seq: 11, problem: 'removed' });
  });

  it('continues an unkeyed chain keyed from a recorded switch point', async () => {
    const dir = tempDir();
    const legacy = SqliteAuditStore.open(dir);
    await legacy.appendMany(sampleEvents());
    await legacy.close();
    const store = SqliteAuditStore.open(dir, chainOptions(dir));
    await store.append({ type: 'login', actor: 'after' });
    const events = await store.list();
    await store.close();
    expect(events.map((e) => e.type).slice(5)).toEqual(['chain-keyed', 'login']);
    expect(events[5]!.detail).toMatch(/events 1–5 were hashed without a key and verified: intact; from event 6 on every event carries a MAC/);
    // the old part keeps its plain hashes, the new part has MACs
    const { hash: h1, ...e1 } = events[0]!;
    expect(h1).toBe(computeHash(e1));
    expect(await verify(dir)).toMatchObject({ ok: true, count: 7, anchor: { count: 7 } });
    // a keyed chain cannot be appended to without the key
    const keyless = SqliteAuditStore.open(dir);
    await expect(keyless.append({ type: 'login' })).rejects.toThrow(/needs the data-at-rest key/);
    await keyless.close();
  });

  it('keeps appending when the anchor cannot be written, and says so', async () => {
    const dir = tempDir();
    const errors: string[] = [];
    const anchorFile = path.join(dir, 'anchors', 'audit-anchor.log');
    fs.mkdirSync(path.dirname(anchorFile));
    const store = SqliteAuditStore.open(dir, { key: AUDIT_KEY, anchorFile, onAnchorError: (e) => errors.push(e.message) });
    fs.rmSync(path.dirname(anchorFile), { recursive: true });
    await store.append({ type: 'login' });
    expect(await store.count()).toBe(1);
    expect(errors).toHaveLength(1);
    // back: the next commit anchors the head again
    fs.mkdirSync(path.dirname(anchorFile));
    await store.append({ type: 'login' });
    await store.close();
    expect(new AnchorFile(anchorFile).newest()).toMatchObject({ count: 2 });
  });

  it('reads the newest anchor past a line cut short by a crash', () => {
    const file = path.join(tempDir(), 'a.log');
    const a = new AnchorFile(file);
    a.append({ count: 3, mac: 'a'.repeat(64), keyedFrom: 1, time: '2026-12-01T00:00:00.000Z' });
    a.append({ count: 4, mac: 'b'.repeat(64), keyedFrom: 1, time: '2026-12-01T00:00:01.000Z' });
    fs.appendFileSync(file, '{"count":5,"mac":"cc');
    expect(a.newest()).toMatchObject({ count: 4 });
    expect(new AnchorFile(`${file}.none`).newest()).toBeNull();
  });
});
