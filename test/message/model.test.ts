import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { describe, expect, it } from 'vitest';
import { type Attachment, MessageModel } from '../../src/message/model.js';
import { tinyPng, uuencodeLines } from '../support/encoders.js';

const PNG = tinyPng();

const crlf = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'latin1');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const b64lines = (b: Buffer): string[] => b.toString('base64').match(/.{1,76}/g) ?? [''];

/** multipart/mixed (boundary "b") around the given parts, each a list of lines. */
const mixed = (...parts: string[][]): Buffer => {
  const lines = ['From: taro@example.co.jp', 'To: partner@example.com', 'Subject: test', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=b', ''];
  for (const p of parts) lines.push('--b', ...p);
  lines.push('--b--', '');
  return crlf(...lines);
};
const TEXT = ['Content-Type: text/plain; charset=utf-8', '', 'Hello'];

/** What a user sees of the files: name, type, inline, signed, origin. */
const view = (list: Attachment[]) => list.map((a) => ({ filename: a.filename, contentType: a.contentType, inline: a.inline, signed: a.signed, origin: a.origin }));
const names = (raw: Buffer): string[] => MessageModel.parse(raw).attachments.map((a) => a.filename);

describe('bodies and files', () => {
  it('reads text/plain and text/html without disposition or file name as bodies, not files', () => {
    const m = MessageModel.parse(mixed(TEXT, ['Content-Type: text/html; charset=utf-8', 'Content-Disposition: inline', '', '<p>Hello</p>']));
    expect(m.attachments).toEqual([]);
    expect(m.textParts).toEqual(['Hello']);
    expect(m.htmlParts).toEqual(['<p>Hello</p>']);
    expect(m.shape.bodies).toEqual([
      { node: 1, kind: 'text' },
      { node: 2, kind: 'html' },
    ]);
  });

  it('decodes bodies by their charset and transfer encoding', () => {
    const sjis = Buffer.from('8ca990cf8f91', 'hex'); // 見積書
    const raw = Buffer.concat([
      crlf('Subject: =?UTF-8?B?6KaL56mN5pu4?=', 'Content-Type: multipart/alternative; boundary=a', '', '--a', 'Content-Type: text/plain; charset=Shift_JIS', 'Content-Transfer-Encoding: base64', '', sjis.toString('base64'), '--a'),
      crlf('', 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable', '', '<b>=E8=A6=8B</b>', '--a--', ''),
    ]);
    const m = MessageModel.parse(raw);
    expect(m.subject).toBe('見積書');
    expect(m.textParts).toEqual(['見積書']);
    expect(m.htmlParts).toEqual(['<b>見</b>']);
  });

  it('reads a single-part text message as its body', () => {
    const m = MessageModel.parse(crlf('Subject: s', '', 'just text'));
    expect(m.textParts).toEqual(['just text']);
    expect(m.attachments).toEqual([]);
  });

  it('makes text/plain and text/html files when they are attachments, have a file name or an unknown disposition', () => {
    const raw = mixed(
      TEXT,
      ['Content-Type: text/plain', 'Content-Disposition: attachment', '', 'a'],
      ['Content-Type: text/plain; name=named.txt', '', 'b'],
      ['Content-Type: text/html', 'Content-Disposition: inline; filename=page.html', '', '<p>c</p>'],
      ['Content-Type: text/plain', 'Content-Disposition: weird', '', 'd'],
    );
    const m = MessageModel.parse(raw);
    expect(m.textParts).toEqual(['Hello']);
    expect(view(m.attachments)).toEqual([
      { filename: 'part.plain', contentType: 'text/plain', inline: false, signed: false, origin: 'part' },
      { filename: 'named.txt', contentType: 'text/plain', inline: false, signed: false, origin: 'part' },
      { filename: 'page.html', contentType: 'text/html', inline: false, signed: false, origin: 'part' },
      { filename: 'part.plain', contentType: 'text/plain', inline: false, signed: false, origin: 'part' },
    ]);
    expect(m.attachments.map((a) => a.content().toString())).toEqual(['a', 'b', '<p>c</p>', 'd']);
  });

  it('makes other text types files (text/csv, text/calendar, text/rfc822-headers)', () => {
    const m = MessageModel.parse(mixed(TEXT, ['Content-Type: text/csv', '', 'a,b'], ['Content-Type: text/calendar; method=REQUEST', '', 'BEGIN:VCALENDAR'], ['Content-Type: text/rfc822-headers', '', 'Subject: x']));
    expect(m.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['part.csv', 'text/csv'],
      ['part.calendar', 'text/calendar'],
      ['part.rfc822headers', 'text/rfc822-headers'],
    ]);
    expect(m.textParts).toEqual(['Hello']);
  });

  it('makes a "text" part whose decoded bytes start with a file signature a file', () => {
    const m = MessageModel.parse(
      mixed(
        ['Content-Type: text/plain', '', 'PK\x03\x04 zip'],
        ['Content-Type: text/plain', 'Content-Transfer-Encoding: base64', '', Buffer.from('%PDF-1.7 pdf').toString('base64')],
        ['Content-Type: text/html', 'Content-Transfer-Encoding: base64', '', ...b64lines(PNG)],
        ['Content-Type: text/plain', 'Content-Transfer-Encoding: base64', '', Buffer.from([0x1f, 0x8b, 8, 0]).toString('base64')],
        ['Content-Type: text/plain', '', 'PK is not a zip without its signature'],
      ),
    );
    expect(m.attachments.map((a) => a.filename)).toEqual(['part.plain', 'part.plain', 'part.html', 'part.plain']);
    expect(m.attachments[1]!.content().toString()).toBe('%PDF-1.7 pdf');
    expect(m.attachments[2]!.content()).toEqual(PNG);
    expect(m.textParts).toEqual(['PK is not a zip without its signature']);
  });

  it('lists files in document order, across nested multiparts', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary=o',
      '',
      '--o',
      'Content-Type: application/pdf; name=1.pdf',
      '',
      'one',
      '--o',
      'Content-Type: multipart/related; boundary=r',
      '',
      '--r',
      'Content-Type: text/html',
      '',
      '<img src="cid:logo">',
      '--r',
      'Content-Type: image/png; name=2.png',
      'Content-ID: <logo>',
      'Content-Transfer-Encoding: base64',
      '',
      ...b64lines(PNG),
      '--r',
      'Content-Type: application/zip; name=3.zip',
      '',
      'PK',
      '--r--',
      '--o',
      'Content-Type: message/rfc822',
      '',
      'Subject: 4',
      '',
      'forwarded',
      '--o',
      'Content-Type: text/csv; name=5.csv',
      '',
      'a,b',
      '--o--',
      '',
    );
    const m = MessageModel.parse(raw);
    expect(m.attachments.map((a) => a.filename)).toEqual(['1.pdf', '2.png', '3.zip', '4.eml', '5.csv']);
    expect(m.files.map((a) => a.filename)).toEqual(['1.pdf', '3.zip', '4.eml', '5.csv']);
  });

  it('names a file declared with an empty file name like one without a name', () => {
    expect(names(mixed(TEXT, ['Content-Type: application/pdf', 'Content-Disposition: attachment; filename=""', '', 'x']))).toEqual(['part.pdf']);
  });

  it('keeps the leaf node with each file', () => {
    const m = MessageModel.parse(mixed(TEXT, ['Content-Type: application/pdf; name=a.pdf', '', 'x']));
    expect(m.attachments[0]!.node).toBe(m.node(2));
    expect(m.source.read(m.node(2).start, m.node(2).end).toString()).toBe('Content-Type: application/pdf; name=a.pdf\r\n\r\nx');
  });
});

describe('inline images in multipart/related', () => {
  const related = (html: string, image: { cid: string; type?: string; data?: Buffer; extra?: string[] }, outer = 'multipart/related'): MessageModel =>
    MessageModel.parse(
      crlf(
        'Subject: r',
        `Content-Type: ${outer}; boundary=r`,
        '',
        '--r',
        'Content-Type: text/html; charset=utf-8',
        '',
        html,
        '--r',
        `Content-Type: ${image.type ?? 'image/png'}`,
        'Content-Transfer-Encoding: base64',
        `Content-ID: ${image.cid}`,
        ...(image.extra ?? []),
        '',
        ...b64lines(image.data ?? PNG),
        '--r--',
        '',
      ),
    );

  it('keeps an image inline when the HTML shows it by cid: and its bytes are a whole image', () => {
    const m = related('<img src="cid:logo@example">', { cid: '<logo@example>' });
    expect(m.attachments.map((a) => a.inline)).toEqual([true]);
    expect(m.files).toEqual([]);
    expect(m.attachments[0]!.content()).toEqual(PNG);
  });

  it('matches the cid: reference case-insensitively and percent-decoded', () => {
    expect(related('<img src="CID:Logo%40Example">', { cid: '<logo@example>' }).attachments[0]!.inline).toBe(true);
    expect(related("<td style=\"background:url('cid:a%20b')\">", { cid: '<a b>' }).attachments[0]!.inline).toBe(true);
    expect(related('<img src=cid:bare>', { cid: 'bare' }).attachments[0]!.inline).toBe(true);
  });

  it('keeps an image inline when the HTML is in a multipart/alternative inside the related', () => {
    const raw = crlf(
      'Content-Type: multipart/related; boundary=r',
      '',
      '--r',
      'Content-Type: multipart/alternative; boundary=a',
      '',
      '--a',
      'Content-Type: text/plain',
      '',
      'x',
      '--a',
      'Content-Type: text/html',
      '',
      '<img src=cid:i>',
      '--a--',
      '--r',
      'Content-Type: image/png',
      'Content-ID: <i>',
      'Content-Transfer-Encoding: base64',
      '',
      ...b64lines(PNG),
      '--r--',
    );
    expect(MessageModel.parse(raw).attachments.map((a) => a.inline)).toEqual([true]);
  });

  it('makes a file of an image the HTML does not reference', () => {
    const m = related('<p>no image here</p>', { cid: '<logo@example>' });
    expect(m.attachments.map((a) => [a.filename, a.inline])).toEqual([['part.png', false]]);
    expect(m.files).toHaveLength(1);
  });

  it('makes a file of an SVG, even when referenced', () => {
    const m = related('<img src="cid:s">', { cid: '<s>', type: 'image/svg+xml', data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>') });
    expect(m.attachments.map((a) => a.inline)).toEqual([false]);
  });

  it('makes a file of a referenced image with data appended to it, or that is no image at all', () => {
    const zip = Buffer.concat([Buffer.from('504b0304', 'hex'), Buffer.alloc(40)]);
    expect(related('<img src="cid:i">', { cid: '<i>', data: Buffer.concat([PNG, zip]) }).attachments[0]!.inline).toBe(false);
    expect(related('<img src="cid:i">', { cid: '<i>', data: zip }).attachments[0]!.inline).toBe(false);
    expect(related('<img src="cid:i">', { cid: '<i>', data: PNG.subarray(0, 30) }).attachments[0]!.inline).toBe(false);
  });

  it('makes a file of an image with Content-Disposition: attachment', () => {
    expect(related('<img src="cid:i">', { cid: '<i>', extra: ['Content-Disposition: attachment; filename=i.png'] }).attachments[0]!.inline).toBe(false);
    expect(related('<img src="cid:i">', { cid: '<i>', extra: ['Content-Disposition: inline; filename=i.png'] }).attachments[0]!.inline).toBe(true);
  });

  it('makes a file of a referenced image outside multipart/related (in mixed)', () => {
    const m = related('<img src="cid:i">', { cid: '<i>' }, 'multipart/mixed');
    expect(m.attachments.map((a) => a.inline)).toEqual([false]);
    expect(m.htmlParts).toEqual(['<img src="cid:i">']);
  });

  it('makes a file of a referenced image without a Content-ID', () => {
    const m = related('<img src="cid:">', { cid: '' });
    expect(m.attachments.map((a) => a.inline)).toEqual([false]);
  });
});

describe('forwarded messages, signatures and encryption', () => {
  it('makes message/rfc822 one file named after its subject', () => {
    const raw = mixed(TEXT, ['Content-Type: message/rfc822', '', 'Subject: =?UTF-8?B?6KaL56mN5pu4?= re: a/b*c?', 'From: x@example.com', '', 'Content-Type: multipart/mixed; boundary=z', '', '--z', 'Content-Type: application/pdf; name=inner.pdf', '', 'x', '--z--']);
    const m = MessageModel.parse(raw);
    expect(view(m.attachments)).toEqual([{ filename: '見積書 re_ a_b_c_.eml', contentType: 'message/rfc822', inline: false, signed: false, origin: 'part' }]);
    expect(m.attachments[0]!.content().toString().startsWith('Subject: ')).toBe(true);
  });

  it('names a forwarded message without a subject message.eml, and uses a declared file name', () => {
    expect(names(mixed(['Content-Type: message/rfc822', '', 'From: x@example.com', '', 'body']))).toEqual(['message.eml']);
    expect(names(mixed(['Content-Type: message/rfc822; name=fwd.eml', '', 'Subject: s', '', 'body']))).toEqual(['fwd.eml']);
    expect(names(crlf('Subject: outer', 'Content-Type: message/rfc822', '', 'Subject: inner', '', 'body'))).toEqual(['inner.eml']);
  });

  it('names a base64-encoded forwarded message after its subject', () => {
    const inner = Buffer.from('Subject: Quarterly report\r\nFrom: a@example.com\r\n\r\nbody\r\n');
    const raw = mixed(TEXT, ['Content-Type: message/rfc822', 'Content-Transfer-Encoding: base64', '', inner.toString('base64')]);
    const m = MessageModel.parse(raw);
    expect(m.attachments[0]!.content()).toEqual(inner);
    expect(m.attachments[0]!.filename).toBe('Quarterly report.eml');
  });

  it('names the parts of a multipart/digest after their subjects', () => {
    expect(names(crlf('Content-Type: multipart/digest; boundary=d', '', '--d', '', 'Subject: one', '', 'x', '--d', '', 'Subject: two', '', 'y', '--d--'))).toEqual(['one.eml', 'two.eml']);
  });

  it('reads multipart/signed: the signature is neither body nor file; files under the signed part are signed, files beside it not', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary=o',
      '',
      '--o',
      'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary=s',
      '',
      '--s',
      'Content-Type: multipart/mixed; boundary=i',
      '',
      '--i',
      'Content-Type: text/plain',
      '',
      'signed body',
      '--i',
      'Content-Type: application/pdf; name=inside.pdf',
      '',
      'PDF',
      '--i--',
      '',
      '--s',
      'Content-Type: application/pkcs7-signature; name=smime.p7s',
      'Content-Transfer-Encoding: base64',
      '',
      'MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAKCA',
      '--s--',
      '',
      '--o',
      'Content-Type: application/pdf; name=beside.pdf',
      '',
      'PDF2',
      '--o--',
      '',
    );
    const m = MessageModel.parse(raw);
    expect(m.textParts).toEqual(['signed body']);
    expect(m.attachments.map((a) => [a.filename, a.signed])).toEqual([
      ['inside.pdf', true],
      ['beside.pdf', false],
    ]);
  });

  it('reads PGP/MIME multipart/signed the same way', () => {
    const raw = crlf('Content-Type: multipart/signed; protocol="application/pgp-signature"; boundary=s', '', '--s', 'Content-Type: text/plain', '', 'hi', '--s', 'Content-Type: application/pgp-signature; name=signature.asc', '', '-----BEGIN PGP SIGNATURE-----', '--s--');
    const m = MessageModel.parse(raw);
    expect(m.attachments).toEqual([]);
    expect(m.textParts).toEqual(['hi']);
  });

  it('makes an opaque S/MIME message (application/pkcs7-mime at the top) one signed file', () => {
    const m = MessageModel.parse(crlf('Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m', 'Content-Transfer-Encoding: base64', '', 'MIAGCSqGSIb3DQEHAqCAMIACAQEx'));
    expect(view(m.attachments)).toEqual([{ filename: 'smime.p7m', contentType: 'application/pkcs7-mime', inline: false, signed: true, origin: 'part' }]);
    // attached to a message, the same part is an ordinary file
    const attached = MessageModel.parse(mixed(TEXT, ['Content-Type: application/pkcs7-mime; name=smime.p7m', 'Content-Transfer-Encoding: base64', '', 'MIAG']));
    expect(attached.attachments.map((a) => a.signed)).toEqual([false]);
  });

  it('does not make a file of the version part of PGP/MIME multipart/encrypted', () => {
    const raw = crlf('Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=e', '', '--e', 'Content-Type: application/pgp-encrypted', '', 'Version: 1', '--e', 'Content-Type: application/octet-stream; name=encrypted.asc', '', '-----BEGIN PGP MESSAGE-----', '--e--');
    const m = MessageModel.parse(raw);
    expect(m.attachments.map((a) => [a.filename, a.contentType])).toEqual([['encrypted.asc', 'application/octet-stream']]);
  });
});

describe('multiparts that could not be read', () => {
  it('makes a multipart whose boundary is never found one opaque file', () => {
    const m = MessageModel.parse(crlf('Content-Type: multipart/mixed; boundary=b', '', '--a', 'X-Header: 1', '', 'PDF'));
    expect(m.ambiguities.map((a) => a.code)).toEqual(['boundary-not-found']);
    expect(view(m.attachments)).toEqual([{ filename: 'part.mixed', contentType: 'multipart/mixed', inline: false, signed: false, origin: 'part' }]);
    expect(m.attachments[0]!.content().toString()).toBe('--a\r\nX-Header: 1\r\n\r\nPDF');
    expect(m.textParts).toEqual([]);
  });

  it('makes a multipart without a boundary, or nested too deep, one opaque file', () => {
    expect(names(crlf('Content-Type: multipart/mixed', '', 'x'))).toEqual(['part.mixed']);
    const deep = MessageModel.parse(crlf('Content-Type: multipart/mixed; boundary=a', '', '--a', 'Content-Type: multipart/related; boundary=b', '', '--b', '', 'x', '--b--', '--a--'), { maxDepth: 1, maxParts: 100 });
    expect(deep.attachments.map((a) => a.contentType)).toEqual(['multipart/related']);
  });

  it('shows nothing for a multipart with nothing in it', () => {
    const m = MessageModel.parse(crlf('Content-Type: multipart/mixed; boundary=b', '', '', ''));
    expect(m.attachments).toEqual([]);
    expect(m.ambiguities).toEqual([]);
  });

  it('shows nothing for a multipart that holds only its close delimiter', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=o', '', '--o', 'Content-Type: text/plain', '', 'hi', '--o', 'Content-Type: multipart/alternative; boundary=i', '', '--i--', '--o--', '');
    const m = MessageModel.parse(raw);
    expect(m.ambiguities).toEqual([]);
    expect(m.attachments.map((a) => a.filename)).toEqual([]);
  });
});

describe('files inside bodies', () => {
  const uuencode = uuencodeLines;
  const yenc = (name: string, data: Buffer): string[] => {
    let line = '';
    for (const byte of data) {
      const e = (byte + 42) & 0xff;
      line += e === 0 || e === 0x0a || e === 0x0d || e === 0x3d ? `=${String.fromCharCode((e + 64) & 0xff)}` : String.fromCharCode(e);
    }
    return [`=ybegin line=128 size=${data.length} name=${name}`, line, `=yend size=${data.length}`];
  };

  it('lists a uuencoded block of a plain text body with its name and decoded content', () => {
    const data = Buffer.from('a report\n'.repeat(20));
    const m = MessageModel.parse(crlf('Subject: uu', 'Content-Type: text/plain', '', 'See below:', '', ...uuencode('report 2024.txt', data), '', 'Bye'));
    expect(m.textParts).toHaveLength(1);
    expect(view(m.embedded)).toEqual([{ filename: 'report 2024.txt', contentType: 'application/octet-stream', inline: false, signed: false, origin: 'uuencode' }]);
    expect(m.embedded[0]!.content()).toEqual(data);
    expect(m.embedded[0]!.sha256).toBe(sha256(data));
    expect(m.embedded[0]!.node).toBe(m.root);
  });

  it('lists a yEnc block with its name (spaces included) and decoded bytes', () => {
    const data = Buffer.from([0, 1, 2, 0xd6, 0xe3, 0x13, 0xff, 0x0a, 0x3d]);
    const raw = Buffer.concat([Buffer.from('Content-Type: text/plain\r\n\r\nhello\r\n'), Buffer.from(yenc('y file.bin', data).join('\r\n'), 'latin1'), Buffer.from('\r\n')]);
    const m = MessageModel.parse(raw);
    expect(m.embedded.map((a) => [a.origin, a.filename])).toEqual([['yenc', 'y file.bin']]);
    expect(m.embedded[0]!.content()).toEqual(data);
  });

  it('lists data: URIs of an HTML body that are not whole images, and skips those that are', () => {
    const pdf = Buffer.from('%PDF-1.4 hidden');
    const html = `<a href="data:application/pdf;base64,${pdf.toString('base64')}">x</a><img src="data:image/png;base64,${PNG.toString('base64')}">`;
    const m = MessageModel.parse(crlf('Content-Type: text/html; charset=utf-8', '', html));
    expect(m.embedded.map((a) => [a.origin, a.contentType])).toEqual([['data-uri', 'application/pdf']]);
    expect(m.embedded[0]!.content()).toEqual(pdf);
    expect(m.embedded[0]!.filename).toMatch(/^embedded-\d+\.bin$/);
    expect(m.files).toHaveLength(1);
  });

  it('lists data: URIs in a plain text body too', () => {
    const m = MessageModel.parse(crlf('Content-Type: text/plain', '', `link data:text/plain;base64,${Buffer.from('secret').toString('base64')} end`));
    expect(m.embedded.map((a) => [a.origin, a.contentType, a.content().toString()])).toEqual([['data-uri', 'text/plain', 'secret']]);
  });

  it('finds blocks in the decoded body (after quoted-printable), and in no file part', () => {
    const data = Buffer.from('qp body payload');
    const qpBody = uuencode('q.bin', data).map((l) => l.replace(/=/g, '=3D'));
    const m = MessageModel.parse(mixed(['Content-Type: text/plain', 'Content-Transfer-Encoding: quoted-printable', '', 'text', ...qpBody], ['Content-Type: application/octet-stream; name=x.txt', '', ...uuencode('inner.bin', data)]));
    expect(m.attachments.map((a) => [a.origin, a.filename])).toEqual([
      ['part', 'x.txt'],
      ['uuencode', 'q.bin'],
    ]);
    expect(m.embedded[0]!.content()).toEqual(data);
  });
});

describe('content, size and SHA-256', () => {
  it('computes size and SHA-256 from the decoded content', () => {
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff));
    const m = MessageModel.parse(mixed(TEXT, ['Content-Type: application/octet-stream; name=d.bin', 'Content-Transfer-Encoding: base64', '', ...b64lines(data)]));
    const [a] = m.attachments;
    expect(a!.size).toBe(5000);
    expect(a!.sha256).toBe(sha256(data));
    expect(a!.content()).toEqual(data);
    expect(a!.encryption).toBeUndefined();
  });

  it('flags base64 that goes on after its padding as undecodable-base64', () => {
    const m = MessageModel.parse(mixed(TEXT, ['Content-Type: application/octet-stream; name=x.bin', 'Content-Transfer-Encoding: base64', '', 'QUI=', 'QUJD']));
    expect(m.ambiguities.map((a) => a.code)).toEqual(['undecodable-base64']);
    expect(m.ambiguities[0]!.detail).toContain('part 2');
    const fine = MessageModel.parse(mixed(TEXT, ['Content-Type: application/octet-stream; name=x.bin', 'Content-Transfer-Encoding: base64', '', 'QUJD', 'QUI=', '']));
    expect(fine.ambiguities).toEqual([]);
    expect(fine.attachments[0]!.content().toString()).toBe('ABCAB');
  });
});

describe('crossing threads as plain data', () => {
  const sample = (): Buffer =>
    crlf(
      'From: =?UTF-8?B?5aSq6YOO?= <taro@example.co.jp>',
      'To: a@example.com, b@example.org',
      'Subject: =?UTF-8?B?6KaL56mN5pu4?=',
      'Content-Type: multipart/mixed; boundary=o',
      '',
      '--o',
      'Content-Type: multipart/related; boundary=r',
      '',
      '--r',
      'Content-Type: text/html; charset=utf-8',
      '',
      `<img src="cid:logo"><a href="data:application/zip;base64,UEsDBA==">z</a>`,
      '--r',
      'Content-Type: image/png',
      'Content-ID: <logo>',
      'Content-Transfer-Encoding: base64',
      '',
      ...b64lines(PNG),
      '--r--',
      '--o',
      'Content-Type: text/plain',
      '',
      'begin 644 u.txt',
      '#86)C',
      '`',
      'end',
      '--o',
      "Content-Type: application/pdf; name*=UTF-8''%E8%A6%8B.pdf",
      'Content-Transfer-Encoding: base64',
      '',
      'QUI=',
      'QUJD',
      '--o--',
      '',
    );

  const summary = (m: MessageModel) => ({
    subject: m.subject,
    from: m.from,
    to: m.to,
    text: m.textParts,
    html: m.htmlParts,
    ambiguities: m.ambiguities,
    attachments: m.attachments.map((a) => ({ ...view([a])[0], node: a.node.id, size: a.size, sha256: a.sha256, content: a.content().toString('hex'), encryption: a.encryption })),
    files: m.files.map((a) => a.filename),
    embedded: m.embedded.map((a) => a.filename),
  });

  it('gives the same model from structuredClone(model.shape) as from parsing, before and after lazy values were computed', () => {
    const raw = sample();
    const parsed = MessageModel.parse(raw);
    const early = MessageModel.fromShape(raw, structuredClone(parsed.shape));
    const expected = summary(parsed);
    expect(expected.attachments.map((a) => [a.filename, a.origin, a.inline])).toEqual([
      ['part.png', 'part', true],
      ['見.pdf', 'part', false],
      // files inside bodies follow the parts, body by body (the HTML body comes first here)
      ['embedded-3.bin', 'data-uri', false],
      ['u.txt', 'uuencode', false],
    ]);
    expect(expected.ambiguities.map((a) => a.code)).toEqual(['undecodable-base64']);
    expect(summary(early)).toEqual(expected);
    const late = MessageModel.fromShape(raw, structuredClone(parsed.shape));
    expect(summary(late)).toEqual(expected);
    expect(late.root).toEqual(parsed.root);
    expect(late.node(3)).toEqual(parsed.node(3));
  });

  it('keeps the shape free of functions and buffers (structuredClone keeps it whole)', () => {
    const m = MessageModel.parse(sample());
    void m.attachments.map((a) => a.sha256);
    expect(structuredClone(m.shape)).toEqual(m.shape);
    expect(JSON.parse(JSON.stringify(m.shape))).toEqual(m.shape);
  });
});

describe('against mailparser', () => {
  const build = (opts: ConstructorParameters<typeof MailComposer>[0]): Promise<Buffer> =>
    new Promise((resolve, reject) => new MailComposer(opts).compile().build((err, message) => (err ? reject(err) : resolve(message))));
  const reference = async (raw: Buffer): Promise<[string | undefined, string][]> => (await simpleParser(raw)).attachments.map((a) => [a.filename, sha256(a.content)]);
  const outguard = (raw: Buffer): [string, string][] => MessageModel.parse(raw).attachments.map((a) => [a.filename, a.sha256]);

  it('gives the attachment names and SHA-256 mailparser gives for a message nodemailer wrote', async () => {
    const raw = await build({
      from: 'taro@example.co.jp',
      to: 'partner@example.com',
      subject: '見積書の送付',
      text: 'お世話になっております。',
      html: '<p>お世話になっております。<img src="cid:logo@example"></p>',
      attachments: [
        { filename: '見積書_2024年度.pdf', content: Buffer.from('%PDF-1.4 fake') },
        { filename: 'data.csv', content: 'a,b\n1,2\n', contentType: 'text/csv' },
        { filename: 'notes.txt', content: 'plain text file\n' },
        { filename: `very long japanese name ${'あ'.repeat(40)}.docx`, content: Buffer.alloc(1000, 7) },
        { filename: 'qp.txt', content: 'café = ok\nline two  \n', contentTransferEncoding: 'quoted-printable' },
        { filename: 'logo.png', content: PNG, cid: 'logo@example' },
      ],
    });
    const m = MessageModel.parse(raw);
    expect(m.ambiguities).toEqual([]);
    expect(outguard(raw)).toEqual(await reference(raw));
    expect(m.attachments.filter((a) => a.inline).map((a) => a.filename)).toEqual(['logo.png']);
    expect(m.textParts).toEqual(['お世話になっております。']);
  });

  it('gives the names and SHA-256 mailparser gives for hand-written Japanese messages (RFC 2231, RFC 2047, ISO-2022-JP)', async () => {
    const jis = Buffer.from('1b2442382b40513d711b2842', 'hex'); // 見積書
    const pct = [...jis].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    const raw = mixed(
      ['Content-Type: text/plain; charset=ISO-2022-JP', 'Content-Transfer-Encoding: 7bit', '', Buffer.from('1b2442244f24241b2842', 'hex').toString('latin1')],
      [`Content-Type: application/pdf; name="=?ISO-2022-JP?B?${Buffer.concat([jis, Buffer.from('.pdf')]).toString('base64')}?="`, 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment', '', Buffer.from('%PDF-1.4 one').toString('base64')],
      ['Content-Type: application/vnd.ms-excel', 'Content-Transfer-Encoding: base64', `Content-Disposition: attachment; filename*0*=ISO-2022-JP''${pct.slice(0, 15)};`, ` filename*1*=${pct.slice(15)}.xls`, '', Buffer.from([0xd0, 0xcf, 0x11, 0xe0]).toString('base64')],
      ['Content-Type: application/zip; name="=?UTF-8?B?6KaL56mN5pu4?=.zip"', 'Content-Transfer-Encoding: base64', '', Buffer.from('PK\x03\x04').toString('base64')],
    );
    expect(outguard(raw)).toEqual(await reference(raw));
    expect(outguard(raw).map(([name]) => name)).toEqual(['見積書.pdf', '見積書.xls', '見積書.zip']);
    expect(MessageModel.parse(raw).textParts).toEqual(['はい']);
  });
});
