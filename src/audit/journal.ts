import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { NewAuditEvent } from './events.js';

/**
 * The audit journal (DATA_DIR/audit-journal.jsonl): where a decision's event is made durable
 * before the client is answered. Appending lines with one synchronous write costs a fraction of a SQLite
 * commit (which writes and checksums a page of every index), so each batch of concurrent
 * messages waits only for that; the events go on into the keyed chain in outguard.db a few times
 * a second, in large batches, and the journal is emptied once the chain holds all of it. After a
 * crash, whatever the chain does not hold yet is taken from the journal when the audit log is next
 * opened (replayJournal). Each line is `{"j":<journal number>,"e":<event>}`; the chain records the
 * highest journal number it holds, so nothing is taken twice.
 */
export const JOURNAL_FILE_NAME = 'audit-journal.jsonl';

export interface JournalEntry {
  j: number;
  e: NewAuditEvent;
}

/** Where a journal's entries go: appended to the chain unless it holds them already (j ≤ what it holds). */
export interface JournalApplier {
  applyJournaled(entries: JournalEntry[]): Promise<void>;
}

export class AuditJournal {
  private next: number;
  /** Appends and truncation, one at a time and in order: a batch is durable only after those before it. */
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
    after: number,
  ) {
    this.next = after + 1;
  }

  /** Opens (creating it 0600) the journal of a data dir; numbering continues after `after` and after every entry in the file. */
  static async open(dataDir: string, after: number): Promise<AuditJournal> {
    const file = path.join(dataDir, JOURNAL_FILE_NAME);
    const last = readJournal(file).at(-1)?.j ?? 0;
    // O_DSYNC: a write returns once it is on disk — one trip to the thread pool instead of write + fdatasync
    const { O_WRONLY, O_APPEND, O_CREAT, O_DSYNC } = fs.constants;
    const handle = await fs.promises.open(file, O_WRONLY | O_APPEND | O_CREAT | O_DSYNC, 0o600);
    return new AuditJournal(file, handle, Math.max(after, last));
  }

  /** Appends the events, durably (O_DSYNC); resolves with their journal entries. */
  append(events: NewAuditEvent[]): Promise<JournalEntry[]> {
    const entries = events.map((e) => ({ j: this.next++, e }));
    const text = entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
    const done = this.chain.then(async () => {
      await this.handle.write(text);
      return entries;
    });
    this.chain = done.catch(() => undefined);
    return done;
  }

  /** Empties the journal once the chain holds every entry appended so far (`held`: the highest it holds). */
  truncateIfHeld(held: number): Promise<void> {
    const done = this.chain.then(async () => {
      if (held >= this.next - 1) await this.handle.truncate(0);
    });
    this.chain = done.catch(() => undefined);
    return done;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.handle.close();
  }
}

/** The entries of a journal file, in order; a line cut short by a crash (or a full disk) is skipped. */
export function readJournal(file: string): JournalEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const entries: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const entry = JSON.parse(line) as JournalEntry;
      if (Number.isSafeInteger(entry.j) && entry.e && typeof entry.e === 'object') entries.push(entry);
    } catch {
      // not a whole line
    }
  }
  return entries;
}

/**
 * Puts into the chain what the journal holds and the chain does not (after a crash). `truncate`:
 * empty the journal afterwards — only for the process that owns it (the gateway, at start), never
 * for a command run beside a running gateway.
 */
export function replayJournal(dataDir: string, chain: { holdJournaled(entries: JournalEntry[]): void }, options: { truncate: boolean }): void {
  const file = path.join(dataDir, JOURNAL_FILE_NAME);
  const entries = readJournal(file);
  if (entries.length > 0) chain.holdJournaled(entries);
  if (options.truncate && entries.length > 0) fs.truncateSync(file, 0);
}
