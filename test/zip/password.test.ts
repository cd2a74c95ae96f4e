import { describe, expect, it } from 'vitest';
import { generatePassword, PASSWORD_ALPHABET } from '../../src/zip/password.js';

describe('generatePassword', () => {
  it('makes 12 characters by default, from letters and digits only', () => {
    const p = generatePassword();
    expect(p).toHaveLength(12);
    expect(p).toMatch(/^[A-Za-z0-9]+$/);
  });

  it('never uses the look-alikes 0 O 1 l I', () => {
    expect(PASSWORD_ALPHABET).not.toMatch(/[0O1lI]/);
    const all = Array.from({ length: 2000 }, () => generatePassword()).join('');
    expect(all).not.toMatch(/[0O1lI]/);
    expect(all).toMatch(/^[\x21-\x7e]+$/); // ASCII, nothing to misread as a space
  });

  it('draws every character of its alphabet, roughly evenly', () => {
    const counts = new Map<string, number>();
    const n = 3000;
    for (let i = 0; i < n; i++) for (const ch of generatePassword(16)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect([...counts.keys()].sort().join('')).toBe([...PASSWORD_ALPHABET].sort().join(''));
    const mean = (n * 16) / PASSWORD_ALPHABET.length; // ≈ 842
    for (const [, c] of counts) expect(Math.abs(c - mean)).toBeLessThan(mean * 0.25);
  });

  it('always has an upper-case letter, a lower-case letter and a digit', () => {
    for (let i = 0; i < 2000; i++) {
      const p = generatePassword(8);
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[2-9]/);
    }
  });

  it('honours the length asked for, and does not repeat itself', () => {
    for (const len of [8, 9, 20, 64]) expect(generatePassword(len)).toHaveLength(len);
    expect(new Set(Array.from({ length: 1000 }, () => generatePassword())).size).toBe(1000);
  });

  it('throws RangeError below 8 characters or for a length that is not a whole number', () => {
    for (const len of [7, 0, -1, 8.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => generatePassword(len)).toThrow(RangeError);
  });
});
