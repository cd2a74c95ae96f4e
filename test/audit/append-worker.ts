// Appends N events from a separate process: node --import tsx append-worker.ts DATA_DIR N TAG
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';

const [dataDir, n, tag] = process.argv.slice(2);
const store = SqliteAuditStore.open(dataDir!);
for (let i = 0; i < Number(n); i++) await store.append({ type: 'delivered', messageId: `${tag}-${i}`, actor: tag! });
await store.close();
