import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/message/parse.js';
import { readZipDirectory } from '../../src/message/zip-directory.js';
import { DEFAULT_ENCRYPTION, type EncryptionSettings } from '../../src/policy/encryption.js';
import { packAttachments } from '../../src/zip/transform.js';
import { sevenZip, SEVEN_ZIP } from '../support/archives.js';
import { HAS_CORPUS, corpusMessage } from '../support/corpus.js';
import { withAttachments } from '../support/mime.js';
import { requireTool } from '../support/tools.js';

const settings = DEFAULT_ENCRYPTION;
const profile = settings.default;

async function entryNames(raw: Buffer, s: EncryptionSettings = settings, p = profile): Promise<string[]> {
  const packing = await packAttachments(parseMessage(raw), s, p);
  if (packing.kind !== 'packed') throw new Error(`not packed: ${packing.kind}`);
  const zip = parseMessage(packing.raw).attachments.find((a) => a.filename === 'attachments.zip')!;
  return readZipDirectory(zip.content())!.map((e) => e.name);
}

/** ISO-2022-JP bytes (iconv-lite has no encoder for it): JIS X 0208 text, then an ASCII tail. */
function iso2022jp(kanji: string, ascii: string): Buffer {
  const sjis = iconv.encode(kanji, 'Shift_JIS');
  const jis: number[] = [];
  for (let i = 0; i < sjis.length; i += 2) {
    const [c1, c2] = [sjis[i]!, sjis[i + 1]!];
    let j1 = (c1 - (c1 <= 0x9f ? 0x70 : 0xb0)) << 1;
    let j2: number;
    if (c2 < 0x9f) {
      j1 -= 1;
      j2 = c2 - (c2 >= 0x80 ? 0x20 : 0x1f);
    } else j2 = c2 - 0x7e;
    jis.push(j1, j2);
  }
  return Buffer.concat([Buffer.from('\x1b$B', 'latin1'), Buffer.from(jis), Buffer.from(`\x1b(B${ascii}`, 'latin1')]);
}

const corpus = (name: string) => corpusMessage(`mail-gem/${name}`);

describe('packAttachments: the real names go into the ZIP', () => {
  it.skipIf(!HAS_CORPUS)('decodes RFC 2047 / 2231 Japanese names from real mail', async () => {
    expect(await entryNames(corpus('multi_charset/japanese_attachment.eml'))).toEqual(['てすと.txt']);
    expect(await entryNames(corpus('multi_charset/japanese_attachment_long_name.eml'))).toEqual(['かきくけこかきくけこかきくけこかきくけこかきくけこ.txt']);
  });

  it('puts a forwarded message in as .eml, named after its subject', async () => {
    const raw = Buffer.from(
      'From: a@example.co.jp\r\nTo: b@partner.example\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n' +
        '--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@partner.example\r\nSubject: =?UTF-8?B?5Y+k44GE44Oh44O844Or?=\r\n\r\nold text\r\n--b--\r\n',
    );
    expect(await entryNames(raw)).toEqual(['古いメール.eml']);
  });

  it.skipIf(!HAS_CORPUS)('puts a forwarded message from real mail in as .eml', async () => {
    expect(await entryNames(corpus('attachment_emails/attachment_message_rfc822.eml'))).toEqual(['ForwardedMessage.eml']);
  });

  it('decodes an RFC 2231 name continued over several lines in ISO-2022-JP', async () => {
    const enc = iso2022jp('御見積書（第二版）', '.pdf');
    const pct = [...enc].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    const raw = withAttachments({
      files: [{ name: 'x', content: Buffer.from('%PDF-1.4 test'), encodedName: `x` }],
    })
      .toString('latin1')
      .replace('Content-Disposition: attachment; filename=x', `Content-Disposition: attachment;\r\n filename*0*=ISO-2022-JP''${pct.slice(0, 30)};\r\n filename*1*=${pct.slice(30)}`)
      .replace('name=x', 'name=attachment.bin');
    expect(await entryNames(Buffer.from(raw, 'latin1'))).toEqual(['御見積書（第二版）.pdf']);
  });

  it('decodes a raw Shift_JIS file name', async () => {
    const raw = withAttachments({ files: [{ name: 'PLACEHOLDER', content: Buffer.from('data') }] });
    const sjis = Buffer.concat(
      raw
        .toString('latin1')
        .split('PLACEHOLDER')
        .flatMap((piece, i) => (i === 0 ? [Buffer.from(piece, 'latin1')] : [iconv.encode('請求書.xlsx', 'Shift_JIS'), Buffer.from(piece, 'latin1')])),
    );
    expect(await entryNames(sjis)).toEqual(['請求書.xlsx']);
  });

  it('writes CP932 names without the UTF-8 flag for a cp932 profile', async () => {
    const raw = withAttachments({ files: [{ name: '見積書.txt', content: Buffer.from('x') }] });
    const [name] = await entryNames(raw, settings, { ...profile, names: 'cp932' });
    expect(iconv.decode(Buffer.from(name!, 'latin1'), 'cp932')).toBe('見積書.txt');
  });
});

describe('packAttachments: what cannot be packed', () => {
  const signed = Buffer.from(
    [
      'From: a@example.co.jp', 'To: b@partner.example', 'Subject: signed', 'MIME-Version: 1.0',
      'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s"', '',
      '--s', 'Content-Type: multipart/mixed; boundary="m"', '',
      '--m', 'Content-Type: text/plain', '', 'body', '--m', 'Content-Type: application/pdf; name="a.pdf"', 'Content-Disposition: attachment; filename="a.pdf"', '', '%PDF-1.4', '--m--',
      '--s', 'Content-Type: application/pkcs7-signature; name="smime.p7s"', 'Content-Transfer-Encoding: base64', '', 'MIIB', '--s--', '',
    ].join('\r\n'),
  );

  it('refuses to break a signature: hold by default, reject when the policy says so', async () => {
    expect(await packAttachments(parseMessage(signed), settings, profile)).toMatchObject({ kind: 'refused', action: 'hold', rule: 'signed-message' });
    expect(await packAttachments(parseMessage(signed), { ...settings, signed: 'reject' }, profile)).toMatchObject({ kind: 'refused', action: 'reject' });
  });

  it.skipIf(!requireTool(SEVEN_ZIP, '7zip'))('passes an already encrypted file as it is, or holds it', async () => {
    const locked = sevenZip({ 'a.txt': 'secret' }, ['-tzip', '-pX7kq2Lmnb', '-mem=AES256']);
    const raw = withAttachments({ files: [{ name: '暗号化済み.zip', content: locked }] });
    expect(await packAttachments(parseMessage(raw), settings, profile)).toEqual({ kind: 'unchanged', passedAsIs: ['暗号化済み.zip'] });
    expect(await packAttachments(parseMessage(raw), { ...settings, alreadyEncrypted: 'hold' }, profile)).toMatchObject({ kind: 'refused', action: 'hold', rule: 'already-encrypted' });
    const mixed = withAttachments({ files: [{ name: '暗号化済み.zip', content: locked }, { name: 'plain.txt', content: Buffer.from('p') }] });
    const packed = await packAttachments(parseMessage(mixed), settings, profile);
    expect(packed).toMatchObject({ kind: 'packed', passedAsIs: ['暗号化済み.zip'] });
    expect(parseMessage((packed as { raw: Buffer }).raw).attachments.map((a) => a.filename)).toEqual(['暗号化済み.zip', 'attachments.zip']);
  });

  it('leaves a message without attachments alone', async () => {
    const raw = Buffer.from('From: a@example.co.jp\r\nTo: b@partner.example\r\nSubject: hi\r\n\r\njust text\r\n');
    expect(await packAttachments(parseMessage(raw), settings, profile)).toEqual({ kind: 'unchanged', passedAsIs: [] });
  });

  it.skipIf(!HAS_CORPUS)('leaves a real message without attachments alone', async () => {
    expect(await packAttachments(parseMessage(corpus('plain_emails/basic_email.eml')), settings, profile)).toEqual({ kind: 'unchanged', passedAsIs: [] });
  });
});
