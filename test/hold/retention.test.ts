import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { bodyPurgedEvent } from '../../src/audit/hold-events.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { WebServer } from '../../src/web/server.js';
import { sealedChunks, sealedKey } from '../support/sealed-chunks.js';
import { type Sink, startSink } from '../support/sink.js';
import { type Harness, compose, dataDir, dbBytes, holdInput, openHarness } from './fixtures.js';

const DAY = 24 * 3_600_000;
const PARTNER = 'partner@partner.example';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A hold service on a clock the test moves, writing its 'purged' events to a real audit log. */
async function setup(): Promise<{ h: Harness; audit: SqliteAuditStore; clock: { now: number }; written: Promise<unknown>[] }> {
  const sink: Sink = await startSink();
  cleanup.push(() => sink.close());
  const dir = dataDir('outguard-retention-');
  const audit = SqliteAuditStore.open(dir);
  cleanup.push(() => audit.close());
  const clock = { now: Date.now() };
  const written: Promise<unknown>[] = [];
  const h = await openHarness(dir, sink, {
    start: false,
    now: () => clock.now,
    bodyDays: 7,
    onPurged: (erased, days) => void written.push(audit.append(bodyPurgedEvent(erased, days))),
  });
  cleanup.push(() => h.close());
  return { h, audit, clock, written };
}

/**
 * Probes of what opens a hold's message and of its body start, read through a separate connection:
 * the message's own key, sealed in the row (its chunks are deleted without zeroing their pages, so
 * erasing the key is what erases the message), and the body start's ciphertext.
 */
function sealedProbes(dir: string, id: string): Buffer[] {
  const db = new Database(path.join(dir, 'outguard.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT body_start FROM holds WHERE id = ?').get(id) as { body_start: Buffer };
    // 48 ciphertext bytes from the body start (after version and nonce, sealed.ts)
    return [sealedKey(dir, 'holds', id)!, row.body_start.subarray(13, 61)];
  } finally {
    db.close();
  }
}

/** Holds a message and discards it at `at`; returns its id, its body marker and its release link's token. */
async function decidedAt(h: Harness, clock: { now: number }, at: number): Promise<{ id: string; marker: string; token: string }> {
  const saved = clock.now;
  clock.now = at;
  const { raw, marker } = await compose({ to: [PARTNER] });
  const input = holdInput(raw, [PARTNER]);
  await h.service.hold(input);
  const token = h.service.linkFor((await h.holds.get(input.id))!).split('/hold/')[1]!;
  await h.service.discardById(input.id);
  clock.now = saved;
  return { id: input.id, marker, token };
}

describe('retention (retention.bodyDays)', () => {
  it('erases, at start, the message of a hold decided more than bodyDays ago — not one decided yesterday — and logs one purged event for it', async () => {
    const { h, audit, clock, written } = await setup();
    const now = clock.now;
    const old = await decidedAt(h, clock, now - 8 * DAY);
    const recent = await decidedAt(h, clock, now - 1 * DAY);
    await h.holds.scrub();
    expect((await h.holds.get(old.id))!.bodyStart).toContain(old.marker);
    // the message is on disk, sealed, until the retention erases it: the key that opens it is in the file
    const sealed = sealedProbes(h.dir, old.id);
    expect(sealed.every((c) => dbBytes(h.dir).includes(c))).toBe(true);
    expect(dbBytes(h.dir).includes(Buffer.from(old.marker))).toBe(false); // sealed, never in clear

    await h.service.start(); // the first timer pass runs the retention
    await Promise.all(written);

    expect(await h.holds.get(old.id)).toMatchObject({ state: 'discarded', hasRaw: false, bodyStart: '', bodyErased: { at: now, days: 7 } });
    expect(await h.holds.message(old.id)).toBeNull();
    expect(await h.holds.get(recent.id)).toMatchObject({ state: 'discarded', hasRaw: true });
    expect((await h.holds.get(recent.id))!.bodyErased).toBeUndefined();
    // its chunks are deleted and its key is gone from the row, the database file and its WAL (the
    // service scrubbed after erasing): whatever of the chunks lingers in free pages cannot be opened
    expect(sealedChunks(h.dir, `hold:${old.id}`)).toEqual([]);
    expect(sealedKey(h.dir, 'holds', old.id)).toBeNull();
    const bytes = dbBytes(h.dir);
    expect(sealed.map((c) => bytes.includes(c))).toEqual([false, false]);
    expect(bytes.includes(Buffer.from(old.marker))).toBe(false);

    const purged = await audit.list({ type: 'purged' });
    expect(purged).toHaveLength(1);
    expect(purged[0]).toMatchObject({ type: 'purged', messageId: old.id, action: 'erase-bodies', actor: 'retention' });
    expect(purged[0]!.detail).toContain('7 days after it was discarded');
    // the audit events stay, and the chain is intact
    expect(await audit.verify()).toMatchObject({ ok: true });

    // a second pass erases nothing more and writes no event
    expect(await h.service.purgeBodies()).toBe(0);
    expect(await audit.list({ type: 'purged' })).toHaveLength(1);
  });

  it('the release page of an erased hold says the body was erased after N days', async () => {
    const { h, clock } = await setup();
    const old = await decidedAt(h, clock, clock.now - 10 * DAY);
    expect(await h.service.purgeBodies()).toBe(1);
    const web = new WebServer({ host: '127.0.0.1', port: 0 }, () => ({}), h.service);
    const { port } = await web.listen();
    cleanup.push(() => web.close());

    const res = await fetch(`http://127.0.0.1:${port}/hold/${old.token}`);
    const page = await res.text();
    expect(res.status).toBe(410);
    expect(page).toContain('破棄');
    expect(page).toMatch(/id="body-erased">このメールの本文と添付ファイルは、保存期間（判断から 7 日）を過ぎたため .* に消去されました。/);
    expect(page).toContain('7 days after the decision');
    expect(page).not.toContain(old.marker);
  });
});
