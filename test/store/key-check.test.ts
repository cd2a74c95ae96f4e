import { describe, expect, it } from 'vitest';
import { SecretKeyError } from '../../src/store/secret-key.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import { SqliteHoldStore } from '../../src/store/sqlite-holds.js';
import { keyCheckValue } from '../../src/store/key-check.js';
import { tempDirsPerTest } from '../support/gateway.js';

const tempDir = tempDirsPerTest('outguard-key-check-');
const KEY = Buffer.alloc(32, 1);
const OTHER = Buffer.alloc(32, 2);

describe('the data-at-rest key a database is sealed with', () => {
  it('is recorded by the first sealing store, and a process with another key is refused when it opens one', async () => {
    const dir = tempDir();
    const outbox = new SqliteOutboxStore(openDatabase(dir), KEY, { ownsDb: true });
    await outbox.close();
    // the same key again: fine, also for another store in the same file
    await SqliteHoldStore.open(dir, KEY).close();
    let refused: unknown;
    try {
      SqliteHoldStore.open(dir, OTHER);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(SecretKeyError);
    expect((refused as Error).message).toContain(`key check ${keyCheckValue(KEY)} recorded, ${keyCheckValue(OTHER)} given`);
    expect((refused as Error).message).toMatch(/OUTGUARD_SECRET_FILE/);
  });

  it('tells nothing about the key: different keys give different values, none of the key\'s bytes', () => {
    expect(keyCheckValue(KEY)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyCheckValue(KEY)).not.toBe(keyCheckValue(OTHER));
    expect(KEY.toString('hex')).not.toContain(keyCheckValue(KEY));
  });
});
