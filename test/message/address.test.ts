import { describe, expect, it } from 'vitest';
import { asciiDomain } from '../../src/message/address.js';

describe('asciiDomain', () => {
  it('turns a Unicode domain back into the punycode the client sent, keeping the local part', () => {
    expect(asciiDomain('Info@日本語.jp')).toBe('Info@xn--wgv71a119e.jp');
  });
  it('leaves ASCII addresses, the null sender and postmaster alone', () => {
    expect(asciiDomain('Taro.Yamada@example.co.jp')).toBe('Taro.Yamada@example.co.jp');
    expect(asciiDomain('')).toBe('');
    expect(asciiDomain('postmaster')).toBe('postmaster');
  });
});
