import path from 'node:path';
import Database from 'better-sqlite3';

/**
 * The outbox and the holds keep each message sealed in chunks, in outguard.db's sealed_chunks
 * table (src/store/sqlite-chunks.ts), named after their row: 'outbox:<id>/…' or 'hold:<id>/…'
 * (`row` below is 'outbox:<id>' or 'hold:<id>'). Tests look at them
 * through a separate connection, as anyone with the file could. Each message has a key of its
 * own, sealed with the data-at-rest key in the owning row (sealedKey below).
 */

/** Every record stored under a row: '/' sorts just before '0'. */
export const UNDER_ROW = "owner >= @row || '/' AND owner < @row || '0'";

/** The sealed chunks stored for one row, in order; empty once its message is erased. */
export function sealedChunks(dir: string, row: string): Buffer[] {
  const db = new Database(path.join(dir, 'outguard.db'), { readonly: true });
  try {
    return db.prepare(`SELECT data FROM sealed_chunks WHERE ${UNDER_ROW} ORDER BY owner, seq`).pluck().all({ row }) as Buffer[];
  } finally {
    db.close();
  }
}

/**
 * The sealed key of one stored message, as its owning row keeps it (raw_key of outbox_jobs or
 * holds), or null once the message is erased. Erasure is crypto-shredding: the chunks are deleted
 * without zeroing their pages, so what matters is that these bytes leave the database file and
 * its WAL (a test probes the files for them) — without them, no chunk left behind can be opened.
 */
export function sealedKey(dir: string, table: 'outbox_jobs' | 'holds', id: string): Buffer | null {
  const db = new Database(path.join(dir, 'outguard.db'), { readonly: true });
  try {
    const row = db.prepare(`SELECT raw_key FROM ${table} WHERE id = ?`).get(id) as { raw_key: Buffer | null } | undefined;
    if (!row) throw new Error(`no row ${id} in ${table}`);
    return row.raw_key;
  } finally {
    db.close();
  }
}

/** Flips the bits of one byte (`at` < 0 counts from the end) of a row's stored chunk, as a disk fault or an attacker would. */
export function tamperChunk(dir: string, row: string, at: number, seq = 0): void {
  const db = new Database(path.join(dir, 'outguard.db'));
  try {
    const chunk = db.prepare(`SELECT owner, data FROM sealed_chunks WHERE ${UNDER_ROW} AND seq = @seq`).get({ row, seq }) as { owner: string; data: Buffer } | undefined;
    if (!chunk) throw new Error(`no sealed chunk ${seq} of ${row}`);
    chunk.data[at < 0 ? chunk.data.length + at : at]! ^= 0xff;
    db.prepare('UPDATE sealed_chunks SET data = ? WHERE owner = ? AND seq = ?').run(chunk.data, chunk.owner, seq);
  } finally {
    db.close();
  }
}
