import { describe, expect, it } from 'vitest';
import { oneLine } from '../../src/message/one-line.js';

describe('oneLine: untrusted text as one display line', () => {
  it('turns CR, LF, C0 and C1 controls, DEL and the Unicode line and paragraph separators into spaces', () => {
    expect(oneLine('見積\r\nPassword: fake')).toBe('見積 Password: fake');
    expect(oneLine('a\rb\nc\tb\x00d\x1be\x7ff\x85g\x9bh\u2028i\u2029j\vk\fl')).toBe('a b c b d e f g h i j k l');
  });

  it('collapses runs of white space and trims the ends, but keeps a single full-width space', () => {
    expect(oneLine('  見積\u3000書 \r\n\r\n  \t 送付  ')).toBe('見積\u3000書 送付');
    expect(oneLine('\r\n')).toBe('');
    expect(oneLine(undefined)).toBe('');
  });

  it('caps the length in characters, ending in …, without splitting a surrogate pair', () => {
    expect(oneLine('x'.repeat(200))).toBe('x'.repeat(200));
    const long = oneLine('x'.repeat(500));
    expect([...long]).toHaveLength(200);
    expect(long.endsWith('x…')).toBe(true);
    expect(oneLine('😀'.repeat(10), 5)).toBe('😀😀😀😀…');
  });
});
