import NodeCache from 'node-cache';

/** Most timestamps kept per sender: enough to answer "more than N" for any sensible N. */
const MAX_PER_SENDER = 1000;

/**
 * External messages per sender in a sliding window, for sender-burst. An in-process TTL cache
 * (node-cache, no cloning) with a bound on the number of senders, so a flood of distinct senders
 * cannot grow memory without limit: once full, new senders are not tracked until old ones expire.
 */
export class SenderActivity {
  private readonly cache: NodeCache;
  private full = false;

  constructor(
    private readonly windowMinutes = 24 * 60,
    maxSenders = 50000,
    private readonly onFull: () => void = () => undefined,
  ) {
    this.cache = new NodeCache({ stdTTL: windowMinutes * 60, checkperiod: 60, useClones: false, maxKeys: maxSenders });
  }

  record(sender: string, now = Date.now()): void {
    const key = sender.toLowerCase();
    const since = now - this.windowMinutes * 60000;
    const times = (this.cache.get<number[]>(key) ?? []).filter((t) => t > since);
    times.push(now);
    if (times.length > MAX_PER_SENDER) times.splice(0, times.length - MAX_PER_SENDER);
    try {
      this.cache.set(key, times);
      this.full = false;
    } catch {
      if (!this.full) this.onFull();
      this.full = true;
    }
  }

  /** Messages recorded for the sender within the last windowMinutes (at most the cache's window). */
  recent(sender: string, windowMinutes: number, now = Date.now()): number {
    const since = now - windowMinutes * 60000;
    return (this.cache.get<number[]>(sender.toLowerCase()) ?? []).filter((t) => t > since).length;
  }

  close(): void {
    this.cache.close();
  }
}
