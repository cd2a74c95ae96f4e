import { randomBytes } from 'node:crypto';
import { type Bytes, chunksOf } from '../message/source.js';
import { open, seal } from './sealed.js';
import { ChunkSealer, SealedChunkSource } from './sealed-chunks.js';
import { type Migration, type SqliteDatabase, migrate } from './sqlite.js';

const MIGRATIONS: readonly Migration[] = [
  (db) =>
    db.exec(`
      CREATE TABLE sealed_chunks (
        owner      TEXT NOT NULL,      -- the record: 'outbox:<id>', 'hold:<id>' (also the sealing's aad)
        seq        INTEGER NOT NULL,
        data       BLOB NOT NULL,      -- one chunk, sealed (sealed-chunks.ts)
        written_at INTEGER NOT NULL,
        PRIMARY KEY (owner, seq)
      ) STRICT, WITHOUT ROWID;
    `),
];

const keyAad = (owner: string) => `${owner}:key`;

/** Chunks sealed per transaction while a record is written: a few MB at a time, one sync each. */
const CHUNKS_PER_COMMIT = 8;

/**
 * Where a stored record is: its length and its own key, sealed with the data-at-rest key. The
 * owning row keeps both; erasing the key (a few bytes, zeroed by secure_delete) erases the record:
 * what is left of its chunks cannot be opened by anyone, the data-at-rest key's holder included.
 */
export interface StoredRecord {
  length: number;
  key: Buffer;
}

/**
 * Messages in outguard.db, sealed in chunks (sealed-chunks.ts) in one table the outbox and the
 * holds share: a record is written a chunk at a time before the row that names it is committed,
 * read by offsets without loading it whole, and erased with that row's transition. Each record
 * has a key of its own (crypto-shredding): its chunks are deleted without zeroing megabytes of
 * pages. Chunks nobody names (a crash between writing them and committing their row) are swept.
 */
export class SqliteChunks {
  private readonly stmt;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly key: Buffer,
  ) {
    migrate(db, 'sealed-chunks', MIGRATIONS);
    this.stmt = {
      insert: db.prepare('INSERT OR REPLACE INTO sealed_chunks (owner, seq, data, written_at) VALUES (?, ?, ?, ?)'),
      get: db.prepare('SELECT data FROM sealed_chunks WHERE owner = ? AND seq = ?').pluck(),
      erase: db.prepare('DELETE FROM sealed_chunks WHERE owner = ?'),
    };
  }

  /** Writes a record from its bytes (read once, front to back). */
  async write(owner: string, bytes: Bytes): Promise<StoredRecord> {
    const now = Date.now();
    const recordKey = randomBytes(32);
    let batch: [Buffer, number][] = [];
    const insert = this.db.transaction((rows: [Buffer, number][]) => {
      for (const [data, seq] of rows) this.stmt.insert.run(owner, seq, data, now);
    });
    // Chunks are committed without a sync of their own: nothing names them until the row that
    // does is committed (synchronous=FULL) on this connection, and syncing the WAL for that commit
    // makes every frame before it durable too. (Synchronous calls: nothing runs in between.)
    const commit = (rows: [Buffer, number][]) => {
      this.db.pragma('synchronous = OFF');
      try {
        insert(rows);
      } finally {
        this.db.pragma('synchronous = FULL');
      }
    };
    const sealer = new ChunkSealer(recordKey, owner, (sealed, seq) => {
      batch.push([sealed, seq]);
      if (batch.length >= CHUNKS_PER_COMMIT) {
        commit(batch);
        batch = [];
      }
    });
    try {
      for await (const piece of chunksOf(bytes)) sealer.write(piece);
      const length = sealer.end();
      commit(batch);
      return { length, key: seal(this.key, recordKey, keyAad(owner)) };
    } catch (err) {
      this.erase(owner);
      throw err;
    } finally {
      recordKey.fill(0);
    }
  }

  /** A record read by offsets; a missing, moved or altered chunk throws SealedDataError when read. */
  source(owner: string, record: StoredRecord): SealedChunkSource {
    const key = open(this.key, record.key, keyAad(owner));
    return new SealedChunkSource(record.length, key, owner, (seq) => (this.stmt.get.get(owner, seq) as Buffer | undefined) ?? null);
  }

  /**
   * Deletes a record's chunks (inside the caller's transaction, when there is one) without
   * zeroing them: the caller erases the record's key with its row, which leaves them unreadable.
   */
  erase(owner: string): void {
    this.db.pragma('secure_delete = OFF');
    try {
      this.stmt.erase.run(owner);
    } finally {
      this.db.pragma('secure_delete = ON');
    }
  }

  /**
   * Erases chunks older than `before` whose record is not named by `table`'s live rows: `prefix`
   * + id is the owner, `sizeColumn` is set while the row has its message.
   */
  sweep(prefix: string, table: string, sizeColumn: string, before: number): number {
    return this.db
      .prepare(
        `DELETE FROM sealed_chunks WHERE owner >= @lo AND owner < @hi AND written_at < @before
          AND substr(owner, @skip) NOT IN (SELECT id FROM ${table} WHERE ${sizeColumn} IS NOT NULL)`,
      )
      .run({ lo: prefix, hi: `${prefix}\uffff`, before, skip: prefix.length + 1 }).changes;
  }
}
