import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ENCRYPTION } from '../../src/policy/encryption.js';
import { DuplicateHoldError, type NewHold } from '../../src/store/hold-store.js';
import { SealedDataError } from '../../src/store/sealed.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { SqliteHoldStore } from '../../src/store/sqlite-holds.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import { bytesToBuffer } from '../../src/message/source.js';
import { UNDER_ROW, sealedChunks, sealedKey } from '../support/sealed-chunks.js';

let dir: string;
let key: Buffer;
let store: SqliteHoldStore;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-hold-store-'));
  key = randomBytes(32);
  store = SqliteHoldStore.open(dir, key);
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function hold(id: string, extra: Partial<NewHold> = {}): NewHold & { marker: string } {
  const marker = `secret-body-${id}-${randomBytes(4).toString('hex')}`;
  return {
    id,
    envelope: { from: 'taro@example.co.jp', to: ['partner@partner.example', 'colleague@example.co.jp'] },
    subject: `subject ${id}`,
    bodyStart: `start of ${marker}`,
    recipients: [
      { address: 'partner@partner.example', external: true, firstTimeDomain: true },
      { address: 'colleague@example.co.jp', external: false, firstTimeDomain: false },
    ],
    attachments: [{ name: '見積書.pdf', size: 1234, sha256: 'ab'.repeat(32) }],
    findings: [{ rule: 'first-time-domain', clause: '遵守事項 第6-1', severity: 'hold', message: 'ja / en', reason: 'en', value: 'partner.example' }],
    createdAt: T0,
    deadline: T0 + 24 * HOUR,
    onDeadline: { action: 'discard' },
    approvers: [],
    raw: Buffer.from(`Subject: s\r\n\r\n${marker}\r\n`),
    releaseWith: { attachments: 1, encryption: DEFAULT_ENCRYPTION },
    marker,
    ...extra,
  };
}

/** A column as stored, through a separate connection. */
function column(id: string, name: 'body_start'): Buffer | null {
  const db = new Database(path.join(dir, 'outguard.db'), { readonly: true });
  try {
    return (db.prepare(`SELECT ${name} AS v FROM holds WHERE id = ?`).get(id) as { v: Buffer | null }).v;
  } finally {
    db.close();
  }
}

/** A hold's message as stored (its sealed chunks), through a separate connection. */
const storedChunks = (id: string) => sealedChunks(dir, `hold:${id}`);

/** A hold's sealed message key (raw_key), through a separate connection; null once its message is erased. */
const storedKey = (id: string) => sealedKey(dir, 'holds', id);

/** A hold's message as the store opens it, in one buffer; null when it has none. */
async function storedMessage(id: string): Promise<Buffer | null> {
  const source = await store.message(id);
  return source && bytesToBuffer(source);
}

function fileBytes(): Buffer {
  return Buffer.concat(['outguard.db', 'outguard.db-wal'].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}

describe('SqliteHoldStore', () => {
  it('shares outguard.db with the outbox, with its own schema version', async () => {
    const outbox = SqliteOutboxStore.open(dir, key);
    try {
      const db = openDatabase(dir);
      try {
        const versions = db.prepare('SELECT component, version FROM schema_versions ORDER BY component').all();
        expect(versions).toEqual([
          { component: 'holds', version: 4 },
          { component: 'key-check', version: 1 },
          { component: 'outbox', version: 3 },
          { component: 'sealed-chunks', version: 1 },
        ]);
      } finally {
        db.close();
      }
    } finally {
      await outbox.close();
    }
  });

  it('refuses a holds table written by a newer outguard', async () => {
    await store.close();
    const db = openDatabase(dir);
    db.prepare("UPDATE schema_versions SET version = 7 WHERE component = 'holds'").run();
    db.close();
    expect(() => SqliteHoldStore.open(dir, key)).toThrow(/holds tables are at schema version 7, but this build of outguard knows only up to 4/);
    store = SqliteHoldStore.open(fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-hold-store-')), key);
  });

  it('stores the message and the start of its body sealed, the metadata in clear, and reads them back', async () => {
    const h = hold('a');
    await store.create(h);
    const raw = storedChunks('a');
    expect(raw).toHaveLength(1);
    expect(raw[0]![0]).toBe(1); // sealed.ts format version
    expect(raw[0]!.includes(Buffer.from(h.marker))).toBe(false);
    expect(column('a', 'body_start')!.includes(Buffer.from(h.marker))).toBe(false);
    await store.scrub();
    expect(fileBytes().includes(Buffer.from(h.marker))).toBe(false);
    expect(fileBytes().includes(Buffer.from('subject a'))).toBe(true);

    expect(await storedMessage('a')).toEqual(h.raw);
    const { raw: _raw, marker: _marker, ...meta } = h;
    expect(await store.get('a')).toEqual({ ...meta, state: 'held', hasRaw: true, escalations: 0 });
    expect(await store.get('nope')).toBeNull();
    expect(await store.message('nope')).toBeNull();
  });

  it('refuses a second hold with the same id, and the first keeps its message (two processes holding one message at once)', async () => {
    await store.create(hold('dup'));
    const first = await store.message('dup');
    const before = first!.read(0, first!.length);
    await expect(store.create({ ...hold('dup'), raw: Buffer.from('Subject: another\r\n\r\nanother message\r\n') })).rejects.toBeInstanceOf(DuplicateHoldError);
    const after = (await store.message('dup'))!;
    expect(after.read(0, after.length).equals(before)).toBe(true);
  });

  it('binds each sealed message to its hold: copied into another row, or under another key, it does not open', async () => {
    await store.create(hold('x'));
    await store.create(hold('y'));
    const db = openDatabase(dir);
    // x's chunks, each in y's place
    const under = (row: string) => UNDER_ROW.replaceAll('owner', `${row}.owner`).replaceAll('@row', `@${row}`);
    db.prepare(`UPDATE sealed_chunks AS y SET data = (SELECT x.data FROM sealed_chunks x WHERE ${under('x')} AND x.seq = y.seq) WHERE ${under('y')}`).run({ x: 'hold:x', y: 'hold:y' });
    // another key is refused at open (key-check.ts); with that record removed, the seal still holds
    db.prepare('DELETE FROM key_check').run();
    db.close();
    await expect(store.message('y')).rejects.toBeInstanceOf(SealedDataError);
    const other = new SqliteHoldStore(openDatabase(dir), randomBytes(32), { ownsDb: true });
    try {
      await expect(other.message('x')).rejects.toBeInstanceOf(SealedDataError);
      // listing still works with an unreadable row: the body start is just not shown
      expect((await other.get('x'))!.bodyStart).toBe('');
    } finally {
      await other.close();
    }
  });

  it('discards and expires, keeping the message for the retention period; a second decision fails cleanly', async () => {
    const d = hold('d');
    const e = hold('e');
    await store.create(d);
    await store.create(e);
    const discarded = await store.transition('d', 'discarded', { by: 'taro@example.co.jp', at: T0 + 5, mistake: true, link: 's' });
    expect(discarded).toMatchObject({ state: 'discarded', decidedBy: 'taro@example.co.jp', decidedAt: T0 + 5, mistake: true, decidedWithLink: 's', hasRaw: true, bodyStart: d.bodyStart });
    expect(await storedMessage('d')).toEqual(d.raw);

    expect(await store.transition('e', 'expired', { by: 'deadline', at: T0 + 6 })).toMatchObject({ state: 'expired', decidedBy: 'deadline', hasRaw: true });
    expect((await store.get('e'))!.mistake).toBeUndefined();

    for (const to of ['released', 'discarded', 'expired'] as const) {
      expect(await store.transition('d', to, { by: 'cli', at: T0 + 7 })).toBeNull();
    }
    expect(await store.get('d')).toMatchObject({ state: 'discarded', decidedBy: 'taro@example.co.jp' });
    expect(await store.transition('missing', 'discarded', { by: 'cli', at: T0 })).toBeNull();
    await expect(store.transition('e', 'held' as never, { by: 'cli', at: T0 })).rejects.toThrow(TypeError);
  });

  it('keeps a released message once it is in the outbox, and never erases it before', async () => {
    const r = hold('r');
    await store.create(r);
    const released = await store.transition('r', 'released', { by: 'boss@example.co.jp', at: T0 + 1, link: 'a0' });
    expect(released).toMatchObject({ state: 'released', hasRaw: true, decidedWithLink: 'a0' });
    expect(await storedMessage('r')).toEqual(r.raw);
    expect((await store.undispatched()).map((h) => h.id)).toEqual(['r']);
    // not yet in the outbox: the retention leaves it alone, however old the decision
    expect(await store.eraseBodies(T0 + 100 * DAY, { at: T0 + 100 * DAY, days: 7 })).toEqual([]);

    expect(await store.markDispatched('r', T0 + 2)).toBe(true);
    expect(await store.markDispatched('r', T0 + 3)).toBe(false);
    expect(await store.get('r')).toMatchObject({ state: 'released', hasRaw: true, dispatchedAt: T0 + 2, bodyStart: r.bodyStart });
    expect(await store.undispatched()).toEqual([]);
  });

  it('erases the messages of holds decided before the cut-off: their chunks, and their keys and body starts from the row and the files', async () => {
    const old = hold('old');
    const recent = hold('recent');
    const held = hold('held');
    for (const h of [old, recent, held]) await store.create(h);
    await store.transition('old', 'discarded', { by: 'cli', at: T0 });
    await store.transition('recent', 'expired', { by: 'deadline', at: T0 + 7 * DAY });
    await store.scrub();
    expect(fileBytes().includes(Buffer.from(old.marker))).toBe(false); // sealed, never in clear
    // what opens the message (its own key, sealed in the row) and the body start's ciphertext,
    // both in the row: on disk until erased
    const probes = [storedKey('old')!, column('old', 'body_start')!.subarray(13, -16)];
    expect(probes.every((c) => fileBytes().includes(c))).toBe(true);

    const cut = T0 + 8 * DAY;
    const erased = await store.eraseBodies(cut - 7 * DAY, { at: cut, days: 7 });
    expect(erased).toEqual([{ id: 'old', state: 'discarded', decidedAt: T0 }]);
    expect(await store.get('old')).toMatchObject({ state: 'discarded', hasRaw: false, bodyStart: '', bodyErased: { at: cut, days: 7 } });
    expect(storedChunks('old')).toEqual([]);
    expect(storedKey('old')).toBeNull();
    expect(column('old', 'body_start')).toBeNull();
    expect(await store.message('old')).toBeNull();
    await store.scrub();
    // the chunks' pages are freed without being zeroed (crypto-shredding): what may linger of them
    // cannot be opened by anyone once the key is gone from the database file and its WAL
    expect(probes.map((c) => fileBytes().includes(c))).toEqual([false, false]);
    expect(fileBytes().includes(Buffer.from(old.marker))).toBe(false);
    expect(await store.get('recent')).toMatchObject({ hasRaw: true });
    expect((await store.get('recent'))!.bodyErased).toBeUndefined();
    expect(await store.get('held')).toMatchObject({ state: 'held', hasRaw: true });
    // erased once: a second pass finds nothing
    expect(await store.eraseBodies(cut - 7 * DAY, { at: cut, days: 7 })).toEqual([]);
  });

  it('lets exactly one of two racing decisions from two processes win', async () => {
    await store.create(hold('race'));
    const other = SqliteHoldStore.open(dir, key);
    try {
      const results = await Promise.all([
        store.transition('race', 'released', { by: 'taro@example.co.jp', at: T0 }),
        other.transition('race', 'discarded', { by: 'cli', at: T0 }),
      ]);
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      const winner = results.find((r) => r !== null)!;
      expect((await other.get('race'))!.state).toBe(winner.state);
    } finally {
      await other.close();
    }
  });

  it('finds the next deadline and the holds due, only among held ones', async () => {
    expect(await store.nextDeadline()).toBeNull();
    await store.create(hold('late', { deadline: T0 + 3 * HOUR }));
    await store.create(hold('early', { deadline: T0 + HOUR }));
    await store.create(hold('decided', { deadline: T0 + 10 }));
    await store.transition('decided', 'discarded', { by: 'cli', at: T0 });
    expect(await store.nextDeadline()).toBe(T0 + HOUR);
    expect(await store.due(T0 + HOUR - 1)).toEqual([]);
    expect((await store.due(T0 + HOUR)).map((h) => h.id)).toEqual(['early']);
    expect((await store.due(T0 + 5 * HOUR)).map((h) => h.id)).toEqual(['early', 'late']);
    expect((await store.due(T0 + 5 * HOUR, 1)).map((h) => h.id)).toEqual(['early']);
  });

  it('escalates only a held hold whose deadline is still the expected one', async () => {
    await store.create(hold('esc', { onDeadline: { action: 'escalate', to: 'boss@example.co.jp' } }));
    const change = { deadline: T0 + 48 * HOUR, onDeadline: { action: 'discard' as const }, approvers: ['boss@example.co.jp'] };
    expect(await store.escalate('esc', T0 + 1, change)).toBeNull();
    expect(await store.escalate('esc', T0 + 24 * HOUR, change)).toMatchObject({ state: 'held', ...change, escalations: 1 });
    expect(await store.escalate('esc', T0 + 24 * HOUR, change)).toBeNull(); // a second process: the deadline moved
    await store.transition('esc', 'discarded', { by: 'cli', at: T0 });
    expect(await store.escalate('esc', T0 + 48 * HOUR, change)).toBeNull();
  });

  it('lists by state, oldest first, with a limit, and counts', async () => {
    await store.create(hold('l2', { createdAt: T0 + 2 }));
    await store.create(hold('l1', { createdAt: T0 + 1 }));
    await store.create(hold('l3', { createdAt: T0 + 3 }));
    await store.transition('l2', 'released', { by: 'cli', at: T0 + 4 });
    expect((await store.list()).map((h) => h.id)).toEqual(['l1', 'l2', 'l3']);
    expect((await store.list({ state: 'held' })).map((h) => h.id)).toEqual(['l1', 'l3']);
    expect((await store.list({ state: 'released' })).map((h) => h.id)).toEqual(['l2']);
    expect((await store.list({ limit: 2 })).map((h) => h.id)).toEqual(['l1', 'l2']);
    expect(await store.counts()).toEqual({ held: 2, released: 1, discarded: 0, expired: 0 });
  });

  it('remembers which holds had their confirmation queued', async () => {
    await store.create(hold('n1', { createdAt: T0 }));
    await store.create(hold('n2', { createdAt: T0 + 10 }));
    expect((await store.unnotified(T0 + 5)).map((h) => h.id)).toEqual(['n1']);
    await store.markNotified('n1', T0 + 20);
    expect(await store.unnotified(T0 + 100)).toHaveLength(1);
    expect((await store.get('n1'))!.notifiedAt).toBe(T0 + 20);
  });
});
