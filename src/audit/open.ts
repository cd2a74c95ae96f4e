import type { Config } from '../config/schema.js';
import { loadSecretKey } from '../store/secret-key.js';
import { type AuditStoreOptions, SqliteAuditStore } from './sqlite-audit.js';

/**
 * The audit chain of a configured data dir, keyed and anchored as the config says: the one way
 * the gateway, its audit thread and every CLI command open it.
 */
export function openAuditChain(config: Pick<Config, 'dataDir' | 'audit'>, options: Pick<AuditStoreOptions, 'readOnly' | 'onAnchorError'> = {}): SqliteAuditStore {
  return SqliteAuditStore.open(config.dataDir, { key: loadSecretKey(config.dataDir).key, anchorFile: config.audit.anchorFile, ...options });
}
