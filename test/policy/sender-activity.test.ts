import { describe, expect, it } from 'vitest';
import { SenderActivity } from '../../src/policy/sender-activity.js';

describe('SenderActivity', () => {
  it('counts a sender within the window only', () => {
    const a = new SenderActivity(60);
    const now = Date.now();
    for (let i = 0; i < 5; i++) a.record('Taro@example.co.jp', now - i * 60000);
    expect(a.recent('taro@example.co.jp', 60, now)).toBe(5);
    expect(a.recent('taro@example.co.jp', 2, now)).toBe(2);
    expect(a.recent('hanako@example.co.jp', 60, now)).toBe(0);
    a.close();
  });

  it('stops tracking new senders at maxKeys instead of growing', () => {
    let full = 0;
    const a = new SenderActivity(60, 100, () => full++);
    for (let i = 0; i < 1000; i++) a.record(`s${i}@example.co.jp`);
    expect(a.recent('s0@example.co.jp', 60)).toBe(1);
    expect(a.recent('s999@example.co.jp', 60)).toBe(0);
    expect(full).toBe(1);
    a.close();
  });
});
