import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { checkDataKey } from './key-check.js';

export type SqliteDatabase = Database.Database;

/** The embedded database file in the data directory, shared by the SQLite stores. */
export const DATABASE_FILE_NAME = 'outguard.db';

export interface OpenDatabaseOptions {
  /** How long a statement waits for another connection's write lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating it 0600 if needed) DATA_DIR/outguard.db with the settings every store relies on:
 *
 * - `journal_mode=WAL`: readers never block the writer; several processes may share the file.
 * - `synchronous=FULL`: a committed transaction survives power loss (WAL's default NORMAL may
 *   lose the last transactions, and a lost "sent" mark means a message sent twice).
 * - `busy_timeout`: wait for another connection's lock instead of failing at once.
 * - `secure_delete=ON`: deleted and overwritten content is zeroed in the file, so an erased
 *   secret does not linger in free pages.
 * - `foreign_keys=ON`.
 *
 * SQLite creates the -wal and -shm files with the database file's permissions, so all three stay 0600.
 */
export function openDatabase(dataDir: string, options: OpenDatabaseOptions = {}): SqliteDatabase {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, DATABASE_FILE_NAME);
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  const db = new Database(file);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000))}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') throw new Error(`${file}: cannot switch to WAL journal mode (got ${String(mode)})`);
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    db.pragma('foreign_keys = ON');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** One step of a component's schema: applied once, in order, inside a transaction. */
export type Migration = (db: SqliteDatabase) => void;

/**
 * Brings `component`'s tables up to date. Versions are kept per component in `schema_versions`
 * (not in `PRAGMA user_version`, which there is one of per file), so the outbox, holds, audit
 * and others can share one database file and evolve independently. Version n means
 * migrations[0..n-1] were applied. A database written by a newer build is refused rather than
 * guessed at.
 */
export function migrate(db: SqliteDatabase, component: string, migrations: readonly Migration[]): number {
  const run = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_versions (
      component TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT`);
    const row = db.prepare('SELECT version FROM schema_versions WHERE component = ?').get(component) as { version: number } | undefined;
    const current = row?.version ?? 0;
    if (current > migrations.length) {
      throw new Error(
        `${db.name}: the ${component} tables are at schema version ${current}, but this build of outguard knows only up to ${migrations.length}; ` +
          'it was written by a newer outguard — upgrade, or restore a backup made by this version',
      );
    }
    for (let v = current; v < migrations.length; v++) migrations[v]!(db);
    if (current !== migrations.length) {
      db.prepare(
        'INSERT INTO schema_versions (component, version, updated_at) VALUES (?, ?, ?) ON CONFLICT (component) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at',
      ).run(component, migrations.length, Date.now());
    }
    return migrations.length;
  });
  // IMMEDIATE: two processes starting together must not both run the same migration
  return run.immediate();
}

/** Opens DATA_DIR/outguard.db for a store that will own it; closes it again if the store cannot be made. */
export function openOwned<T>(dataDir: string, options: OpenDatabaseOptions, make: (db: SqliteDatabase) => T): T {
  const db = openDatabase(dataDir, options);
  try {
    return make(db);
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * What the stores that keep sealed data in outguard.db share: their own copy of the data-at-rest
 * key (zeroed on close), their schema brought up to date, scrubbing the WAL, closing.
 */
export abstract class SealedSqliteStore {
  protected readonly key: Buffer;
  private readonly ownsDb: boolean;

  protected constructor(
    protected readonly db: SqliteDatabase,
    key: Buffer,
    options: { ownsDb?: boolean },
    schema: { what: string; component: string; migrations: readonly Migration[] },
  ) {
    if (!Buffer.isBuffer(key) || key.length !== 32) throw new TypeError(`the ${schema.what} needs a 32-byte data-at-rest key`);
    this.key = Buffer.from(key);
    this.ownsDb = options.ownsDb ?? false;
    checkDataKey(db, this.key);
    migrate(db, schema.component, schema.migrations);
  }

  /**
   * Copies the WAL into the database file (where secure_delete has zeroed the erased bytes) and
   * truncates the WAL, which still held page images with the sealed bytes. Best effort: another
   * connection reading at this moment makes it stop short; the next scrub finishes. A short busy
   * timeout: the call blocks the event loop while it waits for readers.
   */
  async scrub(): Promise<void> {
    const busy = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma('busy_timeout = 250');
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.pragma(`busy_timeout = ${busy}`);
    }
  }

  async close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close();
    this.key.fill(0);
  }
}
