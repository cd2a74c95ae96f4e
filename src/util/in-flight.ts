/** Work under way that a shutdown must wait for: add promises as they start, await drain() to stop. */
export class InFlight {
  private readonly runs = new Set<Promise<unknown>>();

  get size(): number {
    return this.runs.size;
  }

  /** Remembers p until it settles, and returns it. */
  track<T>(p: Promise<T>): Promise<T> {
    this.runs.add(p);
    const forget = () => this.runs.delete(p);
    void p.then(forget, forget);
    return p;
  }

  /** Resolves once everything tracked (including work started meanwhile) has settled. */
  async drain(): Promise<void> {
    while (this.runs.size > 0) await Promise.allSettled([...this.runs]);
  }
}
