import { randomBytes } from 'node:crypto';
import { type Bytes, chunksOf } from '../message/source.js';
import { open, seal } from './sealed.js';
import { ChunkSealer, SealedChunkSource } from './sealed-chunks.js';
import { type Migration, type SqliteDatabase, migrate } from './sqlite.js';

const MIGRATIONS: readonly Migration[] = [
  (db) =>
    db.exec(`
      CREATE TABLE sealed_chunks (
        owner      TEXT NOT NULL,      -- the record: '<row>/<random>', e.g. 'outbox:<id>/3f…' (also the sealing's aad)
        seq        INTEGER NOT NULL,
        data       BLOB NOT NULL,      -- one chunk, sealed (sealed-chunks.ts)
        written_at INTEGER NOT NULL,
        PRIMARY KEY (owner, seq)
      ) STRICT, WITHOUT ROWID;
    `),
];

const keyAad = (row: string) => `${row}:key`;
const KEY_BYTES = 32;

/**
 * Where a stored record is, as its row keeps it: its length, and its own key and name sealed
 * with the data-at-rest key (bound to the row). Erasing the key (a few bytes, zeroed by
 * secure_delete) erases the record: what is left of its chunks cannot be opened by anyone, the
 * data-at-rest key's holder included.
 */
export interface StoredRecord {
  length: number;
  key: Buffer;
}

/** A record just written: what its row keeps, and its name, to discard it if the row is never stored. */
export interface WrittenRecord extends StoredRecord {
  name: string;
}

/** Chunks sealed per transaction while a record is written: a few MB at a time, one sync each. */
const CHUNKS_PER_COMMIT = 8;

/**
 * Messages in outguard.db, sealed in chunks (sealed-chunks.ts) in one table the outbox and the
 * holds share: a record is written a chunk at a time before the row that names it is committed,
 * read by offsets without loading it whole, and erased with that row's transition. Each record
 * has a key of its own (crypto-shredding: its chunks are deleted without zeroing megabytes of
 * pages) and a name of its own under its row (`<row>/<random>`): two writers racing for one row
 * id (two processes releasing one hold) never touch each other's chunks. Chunks nobody names (a
 * crash between writing them and committing their row) are swept.
 */
export class SqliteChunks {
  private readonly stmt;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly key: Buffer,
  ) {
    migrate(db, 'sealed-chunks', MIGRATIONS);
    this.stmt = {
      insert: db.prepare('INSERT INTO sealed_chunks (owner, seq, data, written_at) VALUES (?, ?, ?, ?)'),
      get: db.prepare('SELECT data FROM sealed_chunks WHERE owner = ? AND seq = ?').pluck(),
      discard: db.prepare('DELETE FROM sealed_chunks WHERE owner = ?'),
      // every record under a row: '/' sorts just before '0'
      erase: db.prepare("DELETE FROM sealed_chunks WHERE owner >= ? || '/' AND owner < ? || '0'"),
    };
  }

  /** Writes a record for `row` (e.g. 'outbox:<id>') from its bytes, read once, front to back. */
  async write(row: string, bytes: Bytes): Promise<WrittenRecord> {
    const now = Date.now();
    const name = `${row}/${randomBytes(8).toString('hex')}`;
    const recordKey = randomBytes(KEY_BYTES);
    let batch: [Buffer, number][] = [];
    const insert = this.db.transaction((rows: [Buffer, number][]) => {
      for (const [data, seq] of rows) this.stmt.insert.run(name, seq, data, now);
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
    const sealer = new ChunkSealer(recordKey, name, (sealed, seq) => {
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
      return { length, key: seal(this.key, Buffer.concat([recordKey, Buffer.from(name, 'utf8')]), keyAad(row)), name };
    } catch (err) {
      this.discard(name);
      throw err;
    } finally {
      recordKey.fill(0);
    }
  }

  /** `row`'s record read by offsets; a missing, moved or altered chunk throws SealedDataError when read. */
  source(row: string, record: StoredRecord): SealedChunkSource {
    const plain = open(this.key, record.key, keyAad(row));
    const name = plain.toString('utf8', KEY_BYTES);
    return new SealedChunkSource(record.length, plain.subarray(0, KEY_BYTES), name, (seq) => (this.stmt.get.get(name, seq) as Buffer | undefined) ?? null);
  }

  /** Deletes a record written for a row that was then not stored (the write lost a race, or failed). */
  discard(name: string): void {
    this.unzeroed(() => this.stmt.discard.run(name));
  }

  /**
   * Deletes every record of `row` (inside the caller's transaction, when there is one) without
   * zeroing them: the caller erases the record's key with its row, which leaves them unreadable.
   */
  erase(row: string): void {
    this.unzeroed(() => this.stmt.erase.run(row, row));
  }

  private unzeroed(run: () => unknown): void {
    this.db.pragma('secure_delete = OFF');
    try {
      run();
    } finally {
      this.db.pragma('secure_delete = ON');
    }
  }

  /**
   * Erases chunks older than `before` whose row is not a live row of `table`: their name is
   * `prefix` + id + '/…', and `sizeColumn` is set while the row has its message.
   */
  sweep(prefix: string, table: string, sizeColumn: string, before: number): number {
    return this.db
      .prepare(
        `DELETE FROM sealed_chunks WHERE owner >= @lo AND owner < @hi AND written_at < @before
          AND substr(owner, @skip, instr(substr(owner, @skip), '/') - 1) NOT IN (SELECT id FROM ${table} WHERE ${sizeColumn} IS NOT NULL)`,
      )
      .run({ lo: prefix, hi: `${prefix}\uffff`, before, skip: prefix.length + 1 }).changes;
  }
}
