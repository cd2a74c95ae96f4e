import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FileHop } from '../../src/delivery/file-hop.js';
import { Outbox } from '../../src/delivery/outbox.js';
import { SealedDataError } from '../../src/store/sealed.js';
import { CHUNK_BYTES } from '../../src/store/sealed-chunks.js';
import { SqliteChunks } from '../../src/store/sqlite-chunks.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { tempDir } from '../support/gateway.js';
import { UNDER_ROW, sealedChunks } from '../support/sealed-chunks.js';

const KEY = randomBytes(32);
const envelope = { from: 'taro@example.co.jp', to: ['yamada@example.com'] };
const closing: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

function outboxStore(dir = tempDir()): { store: SqliteOutboxStore; dir: string } {
  const store = SqliteOutboxStore.open(dir, KEY);
  closing.push(() => store.close());
  return { store, dir };
}

describe('messages in outguard.db, sealed in chunks', () => {
  it('stores a job a chunk at a time, reads it back by offsets, and erases it with its final state', async () => {
    const { store, dir } = outboxStore();
    const raw = Buffer.concat([Buffer.from('Subject: chunks\r\n\r\n'), randomBytes(3 * CHUNK_BYTES)]);
    // handed over as a stream, as a copy with a ZIP is
    await store.enqueue({ id: 'j1', kind: 'message', ref: 'j1', envelope, raw: { async *stream() { for (let at = 0; at < raw.length; at += 100_000) yield raw.subarray(at, at + 100_000); } } });
    expect(sealedChunks(dir, 'outbox:j1')).toHaveLength(4);
    const source = (await store.message('j1'))!;
    expect(source.length).toBe(raw.length);
    expect(source.read(CHUNK_BYTES - 3, CHUNK_BYTES + 3).equals(raw.subarray(CHUNK_BYTES - 3, CHUNK_BYTES + 3))).toBe(true);
    expect((await store.get('j1'))!.raw!.equals(raw)).toBe(true);
    await store.markSent('j1');
    expect(sealedChunks(dir, 'outbox:j1')).toEqual([]);
    expect(await store.message('j1')).toBeNull();
  });

  it('fails a job whose stored message lost its last chunk: the outbox never sends any of it', async () => {
    const { store, dir } = outboxStore();
    await store.enqueue({ id: 'cut', kind: 'message', ref: 'cut', envelope, raw: randomBytes(2 * CHUNK_BYTES + 10) });
    const db = openDatabase(dir);
    db.prepare(`DELETE FROM sealed_chunks WHERE ${UNDER_ROW} AND seq = 2`).run({ row: 'outbox:cut' });
    db.close();
    // read as it is sent, the message fails at the missing chunk (a next hop gets no end of DATA)
    const source = (await store.message('cut'))!;
    expect(() => source.read(0, source.length)).toThrow(SealedDataError);
    const out = path.join(dir, 'out');
    const outbox = new Outbox({ store, hop: new FileHop(out), logger: pino({ level: 'silent' }), pollMs: 60_000 });
    closing.push(() => outbox.stop());
    await outbox.runOnce();
    expect((await store.get('cut'))!.state).toBe('failed');
    expect((await store.get('cut'))!.lastError).toMatch(/cannot open the stored message/);
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('keeps the message of a job when another process stores a job of the same id (a race: its own chunks go)', async () => {
    const { store, dir } = outboxStore();
    const raw = randomBytes(CHUNK_BYTES + 5);
    await store.enqueue({ id: 'same', kind: 'message', ref: 'same', envelope, raw });
    await expect(store.enqueue({ id: 'same', kind: 'message', ref: 'same', envelope, raw: randomBytes(CHUNK_BYTES + 5) })).rejects.toThrow(/same/);
    expect((await store.get('same'))!.raw!.equals(raw)).toBe(true);
    expect(sealedChunks(dir, 'outbox:same')).toHaveLength(2);
  });

  it('sweeps chunks nobody names once they are an hour old (a crash between writing them and committing their row)', async () => {
    const { store, dir } = outboxStore();
    await store.enqueue({ id: 'kept', kind: 'message', ref: 'kept', envelope, raw: Buffer.from('Subject: kept\r\n\r\nhello\r\n') });
    const db = openDatabase(dir);
    closing.push(() => void db.close());
    const chunks = new SqliteChunks(db, KEY);
    await chunks.write('outbox:orphan', randomBytes(1000));
    expect(await store.sweep(Date.now())).toBe(0);
    expect(await store.sweep(Date.now() + 3_700_000)).toBe(1);
    expect(sealedChunks(dir, 'outbox:orphan')).toEqual([]);
    expect(sealedChunks(dir, 'outbox:kept')).toHaveLength(1);
  });

  it('the outbox sweeps them on its own, at its hourly pass', async () => {
    const { store, dir } = outboxStore();
    const db = openDatabase(dir);
    closing.push(() => void db.close());
    await new SqliteChunks(db, KEY).write('outbox:orphan', randomBytes(1000));
    const outbox = new Outbox({ store, hop: new FileHop(path.join(dir, 'out')), logger: pino({ level: 'silent' }), pollMs: 60_000, now: () => Date.now() + 2 * 3_600_000 });
    closing.push(() => outbox.stop());
    await outbox.runOnce();
    expect(sealedChunks(dir, 'outbox:orphan')).toEqual([]);
  });
});
