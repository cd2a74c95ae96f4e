/**
 * The audit thread: a worker that owns its own connection to the audit log and does the hashing
 * and writing for the gateway, so a burst of mail costs the SMTP thread one postMessage per
 * batch. Requests and answers are described in thread-appender.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteAuditStore } from './sqlite-audit.js';
import type { JournalEntry } from './journal.js';
import type { AuditThreadData, FromAuditThread, ToAuditThread } from './thread-appender.js';

const port = parentPort!;
const { dataDir, key, anchorFile } = workerData as AuditThreadData;
const store = SqliteAuditStore.open(dataDir, { key: Buffer.from(key), anchorFile, onAnchorError: (err) => port.postMessage({ seq: -1, warning: err.message } satisfies FromAuditThread) });
// one at a time, in order: the chain is written in the order the gateway recorded it
let queue = Promise.resolve();

port.on('message', (m: ToAuditThread) => {
  queue = queue.then(async () => {
    if (m.type === 'close') {
      await store.close();
      port.close();
      return;
    }
    let answer: FromAuditThread;
    try {
      if (m.type === 'apply') store.holdJournaled(JSON.parse(m.json) as JournalEntry[]);
      answer = { seq: m.seq, ok: true, events: m.type === 'append' ? [await store.append(m.event)] : m.type === 'append-many' ? await store.appendMany(m.events) : [] };
    } catch (err) {
      answer = { seq: m.seq, ok: false, error: (err as Error).message };
    }
    port.postMessage(answer);
  });
});
port.postMessage({ seq: 0, ok: true, events: [] } satisfies FromAuditThread);
