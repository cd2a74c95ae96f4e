import { describe, expect, it } from 'vitest';
import { listOf } from '../../src/policy/lists.js';

describe('list matching', () => {
  const list = listOf('t', [
    '# comment',
    'gigafile.nu   # and its numbered hosts',
    '=share.bigprovider.example',
    'me@onenote.com',
    '*@m.evernote.com',
    'trigger@*.ifttt.com',
    'co.jp',
    'テスト.jp',
  ]);

  it('walks parent domains: a numbered host of a listed domain matches', () => {
    expect(list.matchHost('97.gigafile.nu')).toBe('gigafile.nu');
    expect(list.matchHost('GIGAFILE.NU.')).toBe('gigafile.nu');
    expect(list.matchAddress('user@97.gigafile.nu')).toBe('gigafile.nu');
    expect(list.matchHost('notgigafile.nu')).toBeUndefined();
  });

  it('never matches through a bare public suffix', () => {
    expect(list.matchHost('example.co.jp')).toBeUndefined();
    expect(list.matchHost('co.jp')).toBeUndefined();
  });

  it('matches exact hosts only exactly', () => {
    expect(list.matchHost('share.bigprovider.example')).toBe('=share.bigprovider.example');
    expect(list.matchHost('bigprovider.example')).toBeUndefined();
    expect(list.matchHost('x.share.bigprovider.example')).toBeUndefined();
  });

  it('matches exact addresses and glob patterns, case-insensitively', () => {
    expect(list.matchAddress('Me@OneNote.com')).toBe('me@onenote.com');
    expect(list.matchAddress('you@onenote.com')).toBeUndefined();
    expect(list.matchAddress('taro.1234abcd@m.evernote.com')).toBe('*@m.evernote.com');
    expect(list.matchAddress('trigger@applet.ifttt.com')).toBe('trigger@*.ifttt.com');
    expect(list.matchAddress('someone@applet.ifttt.com')).toBeUndefined();
  });

  it('turns IDN into punycode on both sides', () => {
    expect(list.matchHost('xn--zckzah.jp')).toBe('xn--zckzah.jp');
    expect(list.matchAddress('a@dl.テスト.jp')).toBe('xn--zckzah.jp');
  });
});
