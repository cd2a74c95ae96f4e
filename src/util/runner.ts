import { randomBytes } from 'node:crypto';
import os from 'node:os';
import process from 'node:process';

/** A name for this process in leases and decisions: host:pid:random. */
export function newRunnerId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * Whether a runner is known to be gone: a process of this host that no longer runs. A runner of
 * another host, or one whose process id is taken again, is not known to be gone (callers then wait
 * for its lease or grace time instead).
 */
export function runnerGone(runner: string, self?: string): boolean {
  const [host, pid] = runner.split(':');
  if (host !== os.hostname() || runner === self || !/^\d+$/.test(pid ?? '')) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    // EPERM: it runs, as another user
    return (err as NodeJS.ErrnoException).code !== 'EPERM';
  }
}
