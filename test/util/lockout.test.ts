import { describe, expect, it } from 'vitest';
import { LoginLockout } from '../../src/util/lockout.js';

const MIN = 60_000;

describe('login lock-out', () => {
  it('locks a username after maxFailures in a row, for lockMs, from any address', () => {
    const l = new LoginLockout(3, 15 * MIN);
    expect(l.failure('kansa', '10.0.0.1', 0)).toEqual([]);
    expect(l.failure('kansa', '10.0.0.2', 1)).toEqual([]);
    expect(l.failure('kansa', '10.0.0.3', 2)).toEqual([{ scope: 'user', until: 2 + 15 * MIN }]);
    expect(l.lockedUntil('kansa', '10.0.0.9', 3)).toBe(2 + 15 * MIN);
    expect(l.lockedUntil('admin', '10.0.0.9', 3)).toBeUndefined();
    expect(l.lockedUntil('kansa', '10.0.0.9', 2 + 15 * MIN)).toBeUndefined();
    // served its time: a fresh run of failures starts
    expect(l.failure('kansa', '10.0.0.4', 2 + 15 * MIN)).toEqual([]);
  });

  it('locks a client address after maxFailures in a row, whatever usernames it tries', () => {
    const l = new LoginLockout(3, 15 * MIN);
    l.failure('a', '10.0.0.1', 0);
    l.failure('b', '10.0.0.1', 0);
    expect(l.failure('c', '10.0.0.1', 0)).toEqual([{ scope: 'address', until: 15 * MIN }]);
    expect(l.lockedUntil('kansa', '10.0.0.1', 1)).toBe(15 * MIN);
    expect(l.lockedUntil('kansa', '10.0.0.2', 1)).toBeUndefined();
  });

  it('a success ends the run of failures', () => {
    const l = new LoginLockout(3, 15 * MIN);
    l.failure('kansa', '10.0.0.1', 0);
    l.failure('kansa', '10.0.0.1', 0);
    l.success('kansa', '10.0.0.1');
    expect(l.failure('kansa', '10.0.0.1', 0)).toEqual([]);
    expect(l.failure('kansa', '10.0.0.1', 0)).toEqual([]);
  });

  it('keeps at most maxTracked counters, dropping the least recently touched', () => {
    const l = new LoginLockout(2, 15 * MIN, 4);
    l.failure('kansa', '10.0.0.1', 0);
    for (let i = 0; i < 4; i++) l.failure(`x${i}`, `10.0.1.${i}`, 0);
    // kansa's first failure was dropped: one more is not yet a lock-out
    expect(l.failure('kansa', '10.0.0.1', 0)).toEqual([]);
  });

  it('a flood of made-up usernames from many addresses does not push a running lock-out out', () => {
    const l = new LoginLockout(2, 15 * MIN, 4);
    l.failure('kansa', '10.0.0.1', 0);
    expect(l.failure('kansa', '10.0.0.2', 0).map((x) => x.scope)).toEqual(['user']);
    for (let i = 0; i < 20; i++) l.failure(`made-up-${i}`, `10.0.2.${i}`, 1);
    expect(l.lockedUntil('kansa', '10.0.9.9', 2)).toBe(15 * MIN);
  });
});
