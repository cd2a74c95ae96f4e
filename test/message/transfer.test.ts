import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { MessageModel } from '../../src/message/model.js';
import { BufferSource, rangeChunks } from '../../src/message/source.js';
import { base64Disagrees, decodeTransfer, decodeTransferChunks } from '../../src/message/transfer.js';
import { uuencodeLines } from '../support/encoders.js';

const qp = (s: string): string => decodeTransfer(Buffer.from(s, 'latin1'), 'quoted-printable').toString('latin1');
const b64 = (s: string): string => decodeTransfer(Buffer.from(s, 'latin1'), 'base64').toString('latin1');

const uuencode = uuencodeLines;

/** A message with one attachment written with the given transfer encoding and body lines. */
const attachment = (cte: string, bodyLines: string[], type = 'application/octet-stream'): Buffer =>
  Buffer.from(
    [
      'Subject: t',
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'see attached',
      '--b',
      `Content-Type: ${type}; name=file.bin`,
      'Content-Disposition: attachment; filename=file.bin',
      `Content-Transfer-Encoding: ${cte}`,
      '',
      ...bodyLines,
      '--b--',
      '',
    ].join('\r\n'),
    'latin1',
  );

const ours = (raw: Buffer): Buffer => MessageModel.parse(raw).attachments[0]!.content();
const theirs = async (raw: Buffer): Promise<Buffer> => (await simpleParser(raw)).attachments[0]!.content;

describe('quoted-printable', () => {
  it('removes soft line breaks, with and without white space after the "=", CRLF and LF', () => {
    expect(qp('abc=\r\ndef')).toBe('abcdef');
    expect(qp('abc=  \r\ndef')).toBe('abcdef');
    expect(qp('abc= \t\ndef')).toBe('abcdef');
    expect(qp('abc=\ndef=\r\nghi')).toBe('abcdefghi');
    expect(qp('=\r\n')).toBe('');
  });

  it('keeps white space written before a soft line break (it is data, the break protects it)', () => {
    expect(qp('a\t=\r\nb')).toBe('a\tb');
    expect(qp('ab  =\r\ncd')).toBe('ab  cd');
  });

  it('decodes =XX in upper and lower case', () => {
    expect(decodeTransfer(Buffer.from('=E3=81=82=e3=81=82=3D=3d'), 'quoted-printable')).toEqual(Buffer.from('ああ=='));
  });

  it('keeps broken escapes as written', () => {
    expect(qp('a=G1b')).toBe('a=G1b');
    expect(qp('x =4 y')).toBe('x =4 y');
    expect(qp('x = y')).toBe('x = y');
    // a final `=` is a soft line break before the end of the part, as mailparser reads it
    expect(qp('100%=')).toBe('100%');
    expect(qp('=\rx')).toBe('=\rx');
  });

  it('removes white space at the end of lines (transport padding) but keeps =20 and =09', () => {
    expect(qp('trail   \r\nnext\t\r\n')).toBe('trail\r\nnext\r\n');
    expect(qp('keep=20\r\n')).toBe('keep \r\n');
    expect(qp('keep=20  \r\n')).toBe('keep \r\n');
    expect(qp('keep=09\n')).toBe('keep\t\n');
    expect(qp('a b \nc')).toBe('a b\nc');
  });

  it('keeps line breaks as written (CRLF or LF)', () => {
    expect(qp('a\r\nb\nc')).toBe('a\r\nb\nc');
  });

  it('gives the same bytes as mailparser for an ordinary quoted-printable attachment', async () => {
    const raw = attachment('quoted-printable', ['caf=C3=A9 =3D ok=20', 'a long line that was wrapped by the =', 'encoder', 'trailing padding   ', '=E8=A6=8B=E7=A9=8D', '']);
    expect(ours(raw)).toEqual(await theirs(raw));
    expect(ours(raw).toString('utf8')).toBe('café = ok \r\na long line that was wrapped by the encoder\r\ntrailing padding\r\n見積\r\n');
  });

  it('keeps the white space before a soft line break that is followed by an empty line', async () => {
    expect(qp('ab =\r\n\r\nnext')).toBe('ab \r\nnext');
    const raw = attachment('quoted-printable', ['ab =', '', 'next']);
    expect(ours(raw)).toEqual(await theirs(raw));
  });

  it('treats the end of the part as a line end (a final soft break and trailing padding are removed)', async () => {
    expect(qp('no newline at end=')).toBe('no newline at end');
    expect(qp('spaces   ')).toBe('spaces');
    const soft = attachment('quoted-printable', ['line one', 'no newline at end=']);
    expect(ours(soft).toString('latin1')).toBe('line one\r\nno newline at end');
    expect(ours(soft)).toEqual(await theirs(soft));
    const padded = attachment('quoted-printable', ['spaces   ']);
    expect(ours(padded)).toEqual(await theirs(padded));
  });
});

describe('base64', () => {
  it('reads line breaks, spaces and characters outside the alphabet as nothing', () => {
    expect(b64('QUJD\r\nREVG')).toBe('ABCDEF');
    expect(b64('QUJD\nREVG\n')).toBe('ABCDEF');
    expect(b64('QUJD REVG\t!*')).toBe('ABCDEF');
    expect(b64('QUI=')).toBe('AB');
    expect(b64('QUI')).toBe('AB');
  });

  it('removes "-" and "_" instead of reading them as base64url digits', () => {
    expect(b64('QU-JD_REVG')).toBe('ABCDEF');
    expect(b64('-_QUJD')).toBe('ABC');
    const bytes = Buffer.from([0xfb, 0xff, 0xbf]); // "+/+/" in base64, "-_-_" in base64url
    expect(decodeTransfer(Buffer.from('+/+/\r\n-_-_'), 'base64')).toEqual(bytes);
  });

  it('stops at padding; base64Disagrees tells when data follows it', () => {
    expect(b64('QUI=QUJD')).toBe('AB');
    expect(base64Disagrees([Buffer.from('QUI=\r\nQUJD')])).toBe(true);
    expect(base64Disagrees([Buffer.from('QUI=QUJD')])).toBe(true);
    expect(base64Disagrees([Buffer.from('QUJD\r\nQUI=\r\n')])).toBe(false);
    expect(base64Disagrees([Buffer.from('QQ==\r\n\r\n')])).toBe(false);
    expect(base64Disagrees([Buffer.from('QUJD')])).toBe(false);
    // data characters padding does not complete: Python falls back to the raw bytes
    expect(base64Disagrees([Buffer.from('QUI')])).toBe(true);
    expect(base64Disagrees([Buffer.from('hello, world: text, not base64')])).toBe(true);
    expect(base64Disagrees([Buffer.from('QUI=\r\n')])).toBe(false);
    expect(base64Disagrees([Buffer.from('Q!U@J#D')])).toBe(false);
    expect(base64Disagrees([Buffer.from('QQ==\r\n-- \r\n')])).toBe(false);
  });

  it('gives the same bytes as mailparser for a base64 attachment wrapped at 76 and at odd places', async () => {
    const data = Buffer.from(Array.from({ length: 3001 }, (_, i) => (i * 37 + 11) & 0xff));
    const text = data.toString('base64');
    for (const width of [76, 64, 13]) {
      const raw = attachment('base64', text.match(new RegExp(`.{1,${width}}`, 'g'))!);
      expect(ours(raw)).toEqual(data);
      expect(createHash('sha256').update(ours(raw)).digest('hex')).toBe(createHash('sha256').update(await theirs(raw)).digest('hex'));
    }
  });
});

describe('uuencoded parts', () => {
  const data = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 7) & 0xff));

  it('decodes x-uuencode, uuencode and x-uue parts (one uuencode block)', () => {
    for (const cte of ['x-uuencode', 'uuencode', 'x-uue', 'X-UUEncode']) {
      expect(ours(attachment(cte, uuencode('file.bin', data)))).toEqual(data);
    }
    expect(decodeTransfer(Buffer.from(uuencode('a.txt', Buffer.from('hello')).join('\n')), 'x-uuencode').toString()).toBe('hello');
  });

  it('keeps the body as it is when it holds no uuencode block', () => {
    expect(decodeTransfer(Buffer.from('not uuencoded'), 'x-uuencode').toString()).toBe('not uuencoded');
  });
});

describe('other encodings', () => {
  it('gives 7bit, 8bit, binary and unknown encodings as they are', () => {
    const bytes = Buffer.from('a=41 QUJD\r\n\xff', 'latin1');
    for (const cte of ['7bit', '8bit', 'binary', 'x-unknown', '']) expect(decodeTransfer(bytes, cte)).toEqual(bytes);
  });
});

describe('decoding a file a piece at a time (large attachments are never decoded whole)', () => {
  const lines = (data: Buffer, width: number, eol = '\r\n') => Buffer.from((data.toString('base64').match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join(eol), 'latin1');
  /** Bytes spliced in at several places, across the 256 KiB pieces the source is read in. */
  const spliced = (body: Buffer, insert: string) => {
    const parts: Buffer[] = [];
    let at = 0;
    for (const cut of [1000, 262_143, 262_145, 700_001, body.length - 10]) {
      parts.push(body.subarray(at, cut), Buffer.from(insert, 'latin1'));
      at = cut;
    }
    parts.push(body.subarray(at));
    return Buffer.concat(parts);
  };
  const data = Buffer.from(Array.from({ length: 900_000 }, (_, i) => (i * 7919) % 251));
  const bodies: Record<string, Buffer> = {
    'lines of 76, CRLF': lines(data, 76),
    'lines of 75 (groups of four cut across lines), LF': lines(data, 75, '\n'),
    'one line of 1.2 MB': lines(data, 2_000_000),
    'spaces and junk between the data': spliced(lines(data, 76), ' !\xff\t'),
    'base64url characters (- and _)': spliced(lines(data, 76), '-_'),
    'padding in the middle (Node stops there)': spliced(lines(data, 76), 'QQ=='),
    'an odd number of data characters at the end': Buffer.concat([lines(data, 76), Buffer.from('\r\nQUJ', 'latin1')]),
  };

  for (const [name, body] of Object.entries(bodies)) {
    it(`decodes as a whole decode does, and agrees on whether decoders disagree: ${name}`, () => {
      const source = new BufferSource(body);
      const pieces = Buffer.concat([...decodeTransferChunks(source, 0, body.length, 'base64')]);
      expect(pieces.equals(decodeTransfer(body, 'base64'))).toBe(true);
      expect(base64Disagrees(rangeChunks(source))).toBe(base64Disagrees([body]));
      // read in pieces of a few bytes too, not only 256 KiB
      expect(base64Disagrees(rangeChunks(source, 0, body.length, 4093))).toBe(base64Disagrees([body]));
    });
  }

  it('decodes quoted-printable a line group at a time as it decodes it whole', () => {
    const text = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `行 ${i}: caf=C3=A9 =3D soft=\r\nbreak trailing   \r\n`).join(''), 'latin1');
    const source = new BufferSource(text);
    expect(Buffer.concat([...decodeTransferChunks(source, 0, text.length, 'quoted-printable')]).equals(decodeTransfer(text, 'quoted-printable'))).toBe(true);
  });
});

