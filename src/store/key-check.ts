import { createHmac } from 'node:crypto';
import { SecretKeyError, deriveKey } from './secret-key.js';
import { type Migration, type SqliteDatabase, migrate } from './sqlite.js';

/**
 * Which data-at-rest key a database's sealed rows are made with, recorded the first time a
 * sealing store opens it: a check value derived from the key (it tells nothing about the key).
 * A process given another key — another OUTGUARD_SECRET, a node handed the wrong key file — is
 * refused when it opens the store, with a message that says so, instead of failing later on
 * every sealed row it cannot open.
 */
const MIGRATIONS: readonly Migration[] = [
  (db) => db.exec('CREATE TABLE key_check (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL, recorded_at INTEGER NOT NULL) STRICT'),
];

/** The check value of a key: 16 hex digits of an HMAC under a subkey of its own. */
export function keyCheckValue(key: Buffer): string {
  return createHmac('sha256', deriveKey(key, 'key-check')).update('outguard data-at-rest key').digest('hex').slice(0, 16);
}

/** Records the key's check value in a database that has none, and refuses a key whose value differs. */
export function checkDataKey(db: SqliteDatabase, key: Buffer): void {
  migrate(db, 'key-check', MIGRATIONS);
  const given = keyCheckValue(key);
  // OR IGNORE: of two processes opening a new database at once, the first one's value stands
  db.prepare('INSERT OR IGNORE INTO key_check (id, value, recorded_at) VALUES (1, ?, ?)').run(given, Date.now());
  const recorded = (db.prepare('SELECT value FROM key_check WHERE id = 1').get() as { value: string }).value;
  if (recorded !== given) {
    throw new SecretKeyError(
      `the data-at-rest key given is not the key the data in ${db.name} is sealed with (key check ${recorded} recorded, ${given} given): ` +
        'give every process the same key — the same OUTGUARD_SECRET, OUTGUARD_SECRET_FILE naming a copy of the key file, or the data dir\'s own secret.key',
    );
  }
}
