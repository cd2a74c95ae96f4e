/** What a login attempt is counted against: the username tried, and the client address it came from. */
export type LockScope = 'user' | 'address';

interface Entry {
  failures: number;
  lockedUntil?: number;
}

/**
 * Lock-out after repeated failed logins: `maxFailures` failures in a row for a username, or from a
 * client address, refuse logins for that username (or from that address) for `lockMs`. Usernames
 * that do not exist are counted the same way, so a lock-out says nothing about which exist.
 *
 * The counters live in memory (a restart clears them) and at most `maxTracked` are kept, the
 * least recently touched dropped first (running lock-outs last), so a flood of made-up usernames
 * cannot exhaust memory.
 */
export class LoginLockout {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxFailures: number,
    private readonly lockMs: number,
    private readonly maxTracked = 10_000,
  ) {}

  /** Until when logins for this username or from this address are refused (the later of the two), or undefined. */
  lockedUntil(username: string, address: string, now: number): number | undefined {
    const until = [this.lock(`user:${username}`, now), this.lock(`address:${address}`, now)].filter((t) => t !== undefined);
    return until.length > 0 ? Math.max(...until) : undefined;
  }

  /** Counts a failed login; returns the lock-outs this failure started (none, user, address or both) and until when. */
  failure(username: string, address: string, now: number): { scope: LockScope; until: number }[] {
    const started: { scope: LockScope; until: number }[] = [];
    for (const [scope, key] of [['user', `user:${username}`], ['address', `address:${address}`]] as const) {
      const entry = this.touch(key, now);
      entry.failures++;
      if (entry.failures >= this.maxFailures) {
        entry.failures = 0;
        entry.lockedUntil = now + this.lockMs;
        started.push({ scope, until: entry.lockedUntil });
      }
    }
    return started;
  }

  /** A successful login ends the run of failures for the username and the address. */
  success(username: string, address: string): void {
    this.entries.delete(`user:${username}`);
    this.entries.delete(`address:${address}`);
  }

  private lock(key: string, now: number): number | undefined {
    const until = this.entries.get(key)?.lockedUntil;
    if (until === undefined) return undefined;
    if (until > now) return until;
    this.entries.delete(key); // served its time: a fresh run of failures starts
    return undefined;
  }

  /**
   * The entry for key, moved to the most recently used end. Beyond maxTracked the least recently
   * touched entry is dropped — one that is not locked out, while there is one, so a flood of
   * made-up usernames cannot end a running lock-out.
   */
  private touch(key: string, now: number): Entry {
    const entry = this.entries.get(key) ?? { failures: 0 };
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxTracked) {
      let drop = this.entries.keys().next().value!;
      for (const [k, e] of this.entries) {
        if (k !== key && !(e.lockedUntil !== undefined && e.lockedUntil > now)) {
          drop = k;
          break;
        }
      }
      this.entries.delete(drop);
    }
    return entry;
  }
}
