import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/message/parse.js';
import { withAttachments } from '../support/mime.js';

describe('decoding base64 bodies (RFC 2045: characters outside the alphabet are ignored)', () => {
  const attachmentOf = (encoded: string) => {
    const raw = Buffer.from(
      withAttachments({ files: [{ name: 'a.bin', content: Buffer.from('x') }] })
        .toString('latin1')
        .replace(/(filename="a\.bin"\r\n\r\n)[^\r]*/, `$1${encoded}`),
      'latin1',
    );
    return parseMessage(raw).attachments[0]!.content().toString('latin1');
  };

  it('reads line breaks, spaces and stray characters as nothing', () => {
    expect(attachmentOf('QUJD\r\nREVG')).toBe('ABCDEF');
    expect(attachmentOf('QUJD !*REVG')).toBe('ABCDEF');
  });

  it('does not read - and _ as base64url digits', () => {
    expect(attachmentOf('QU-JD_REVG')).toBe('ABCDEF');
  });
});
