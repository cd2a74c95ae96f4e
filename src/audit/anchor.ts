import fs from 'node:fs';

/**
 * The audit chain's anchor outside the database (`audit.anchorFile`): after every commit the head
 * of the chain — how many events, the MAC of the last one, where the keyed part starts — is
 * appended as one JSON line. Someone who can edit outguard.db but not this file (kept on another
 * disk or host) cannot cut, empty or rewrite the chain without `outguard audit verify` noticing.
 */
export interface Anchor {
  /** Events in the chain at that moment. */
  count: number;
  /** The stored hash (MAC) of event `count`; 64 zeros for an empty chain. */
  mac: string;
  /** The first event with a MAC (the switch point). */
  keyedFrom: number;
  /** ISO 8601 UTC. */
  time: string;
}

/** How much of the end of the file is read for the newest anchor: many lines, however long the file. */
const TAIL_BYTES = 64 * 1024;

export class AnchorFile {
  constructor(readonly file: string) {}

  /** Appends one anchor line (the file is created 0600). */
  append(anchor: Anchor): void {
    fs.appendFileSync(this.file, `${JSON.stringify(anchor)}\n`, { mode: 0o600 });
  }

  exists(): boolean {
    return fs.existsSync(this.file);
  }

  /**
   * The anchor with the highest count among the last lines (several processes append, so the
   * last line is not always the highest); undefined when the file holds none it can read, null
   * when there is no file. A line cut short by a crash is skipped.
   */
  newest(): Anchor | undefined | null {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, TAIL_BYTES);
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, size - length);
      let best: Anchor | undefined;
      for (const line of buf.toString('utf8').split('\n')) {
        const anchor = parseAnchor(line);
        if (anchor && (!best || anchor.count > best.count)) best = anchor;
      }
      return best;
    } finally {
      fs.closeSync(fd);
    }
  }
}

function parseAnchor(line: string): Anchor | undefined {
  try {
    const a = JSON.parse(line) as Partial<Anchor>;
    if (Number.isSafeInteger(a.count) && a.count! >= 0 && typeof a.mac === 'string' && /^[0-9a-f]{64}$/.test(a.mac) && Number.isSafeInteger(a.keyedFrom) && typeof a.time === 'string') {
      return { count: a.count!, mac: a.mac, keyedFrom: a.keyedFrom!, time: a.time };
    }
  } catch {
    // not a whole line
  }
  return undefined;
}

/** `COUNT:MAC`, as `audit verify` prints it and `--expect` takes it. */
export const formatHead = (head: { count: number; mac: string }) => `${head.count}:${head.mac}`;

export function parseHead(text: string): { count: number; mac: string } | undefined {
  const m = /^(\d+):([0-9a-fA-F]{64})$/.exec(text.trim());
  return m ? { count: Number(m[1]), mac: m[2]!.toLowerCase() } : undefined;
}
