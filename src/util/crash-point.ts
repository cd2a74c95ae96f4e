import process from 'node:process';

const counts = new Map<string, number>();

/**
 * A named step between two writes of the delivery path. When OUTGUARD_CRASH_AT names it — `step`,
 * or `step#n` for its n-th time — the process kills itself there with SIGKILL, as a power cut
 * would. The crash tests use it to stop the gateway between every pair of steps; unset (always, in
 * production) it costs one environment lookup.
 */
export function crashPoint(step: string): void {
  const at = process.env.OUTGUARD_CRASH_AT;
  if (at === undefined || !at.startsWith(step)) return;
  const n = (counts.get(step) ?? 0) + 1;
  counts.set(step, n);
  if (at === step || at === `${step}#${n}`) process.kill(process.pid, 'SIGKILL');
}
