/**
 * A small seeded PRNG (mulberry32) and the random content the generator builds from it. Nothing
 * here touches Math.random: a message is a pure function of (seed, index).
 */

/** Mixes two 32-bit numbers into one seed, so (seed, index) pairs give unrelated streams. */
export function mixSeed(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  /** Lowercase letters and digits. */
  token(n: number): string {
    const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
    let s = '';
    for (let i = 0; i < n; i++) s += chars[this.int(chars.length)];
    return s;
  }
  /** Random words in CRLF lines: text that no other part shares a 32-byte slice with. */
  text(n: number): string {
    const lines: string[] = [];
    let line = '';
    let total = 0;
    while (total < n) {
      const word = this.token(this.range(2, 9));
      line += (line ? ' ' : '') + (this.bool(0.1) ? word.toUpperCase() : word);
      total += word.length + 1;
      if (line.length > this.range(40, 72)) {
        lines.push(line);
        line = '';
      }
    }
    if (line) lines.push(line);
    return lines.join('\r\n') + '\r\n';
  }
  /** Random CSV rows. */
  csv(rows: number): string {
    const out = ['id,name,amount,note'];
    for (let r = 0; r < rows; r++) out.push(`${this.range(1, 99999)},${this.token(8)},${this.range(0, 999999)},${this.token(12)}`);
    return out.join('\r\n') + '\r\n';
  }
  /** Sub-stream for one purpose, so adding a draw elsewhere does not shift it. */
  fork(): Rng {
    return new Rng(mixSeed(this.int(0x100000000), 0x5bd1e995));
  }
}
