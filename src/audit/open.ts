import type { Config } from '../config/schema.js';
import { loadSecretKey } from '../store/secret-key.js';
import { replayJournal } from './journal.js';
import { type AuditStoreOptions, SqliteAuditStore } from './sqlite-audit.js';

/**
 * The audit chain of a configured data dir, keyed and anchored as the config says: the one way
 * the gateway, its audit thread and every CLI command open it.
 */
export function openAuditChain(config: Pick<Config, 'dataDir' | 'audit'>, options: Pick<AuditStoreOptions, 'readOnly' | 'onAnchorError'> = {}): SqliteAuditStore {
  const store = SqliteAuditStore.open(config.dataDir, { key: loadSecretKey(config.dataDir).key, anchorFile: config.audit.anchorFile, ...options });
  try {
    // what a gateway that was killed made durable but did not put into the chain yet (the
    // journal stays: a running gateway owns it and empties it)
    replayJournal(config.dataDir, store, { truncate: false });
  } catch (err) {
    void store.close();
    throw err;
  }
  return store;
}
