/**
 * Polls `get` every 50 ms until it gives something other than undefined or false, and returns
 * that; after timeoutMs fails naming what it waited for.
 */
export async function until<T>(
  get: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  what: string | (() => string | Promise<string>) = 'a condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : await what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits `ms` milliseconds (for pacing a load, never to prove that nothing happens). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
