import { describe, expect, it } from 'vitest';
import libmime from 'libmime';
import { decodeWords } from '../../src/message/words.js';
import { MessageModel } from '../../src/message/model.js';
import { withAttachments } from '../support/mime.js';

describe('decoding base64 bodies (RFC 2045: characters outside the alphabet are ignored)', () => {
  const attachmentOf = (encoded: string) => {
    const raw = Buffer.from(
      withAttachments({ files: [{ name: 'a.bin', content: Buffer.from('x') }] })
        .toString('latin1')
        .replace(/(filename="a\.bin"\r\n\r\n)[^\r]*/, `$1${encoded}`),
      'latin1',
    );
    return MessageModel.parse(raw).attachments[0]!.content().toString('latin1');
  };

  it('reads line breaks, spaces and stray characters as nothing', () => {
    expect(attachmentOf('QUJD\r\nREVG')).toBe('ABCDEF');
    expect(attachmentOf('QUJD !*REVG')).toBe('ABCDEF');
  });

  it('does not read - and _ as base64url digits', () => {
    expect(attachmentOf('QU-JD_REVG')).toBe('ABCDEF');
  });
});

describe('decodeWords (RFC 2047)', () => {
  it('reads UTF-8 "B" words as libmime does, including a character split between words', () => {
    const cases = [
      '=?UTF-8?B?44CQ4peL4peL5biC44CR?=',
      '=?utf-8?b?6Yi05pyo?= =?utf-8?b?IOiKseWtkA==?=',
      '=?UTF-8?B?44GC?=\r\n =?UTF-8?B?44GE?=',
      '=?UTF-8?B?4pyT?= =?UTF-8?B?UA==?=',
      '=?UTF-8?B?4p?= =?UTF-8?B?yTUK?=',
      '=?UTF-8?B?44GC?= plain',
      '=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=',
    ];
    for (const c of cases) expect(decodeWords(c), c).toBe(libmime.decodeWords(c));
    expect(decodeWords('=?UTF-8?B?44GC?=\r\n =?UTF-8?B?44GE?=')).toBe('あい');
  });
});

describe('decoding UTF-8 text', () => {
  it('gives the same text as Buffer.toString for long Japanese bodies, emoji, a BOM and noncharacters', () => {
    const texts = ['\ufeff' + 'お世話になっております。'.repeat(60), '絵文字 😀🇯🇵 𠮷野家 '.repeat(80), '\uffff\ufffe\u0000'.repeat(300)];
    for (const text of texts) {
      const raw = Buffer.from(`Subject: t\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}`, 'utf8');
      expect(MessageModel.parse(raw).textParts[0]).toBe(text);
    }
  });
});
