import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { MessageModel } from '../../src/message/model.js';
import { bytesToBuffer } from '../../src/message/source.js';
import { readZipDirectory } from '../../src/message/zip-directory.js';
import { DEFAULT_ENCRYPTION, type EncryptionSettings } from '../../src/policy/encryption.js';
import { type DeliveryPlan, planDelivery } from '../../src/delivery/plan.js';
import { sevenZip, SEVEN_ZIP } from '../support/archives.js';
import { HAS_CORPUS, corpusMessage } from '../support/corpus.js';
import { withAttachments } from '../support/mime.js';
import { requireTool } from '../support/tools.js';
import { defaultNoticeFrom } from '../../src/message/mailbox.js';

const settings = DEFAULT_ENCRYPTION;
const profile = settings.default;

/** The plan for one outside recipient (partner.example; example.co.jp is internal). */
function plan(raw: Buffer, s: EncryptionSettings = settings, to = ['b@partner.example']): Promise<DeliveryPlan> {
  return planDelivery({ id: 'm1', message: MessageModel.parse(raw), envelope: { from: 'a@example.co.jp', to }, settings: s, isInternal: (d) => d === 'example.co.jp', noticeFrom: defaultNoticeFrom('gw') });
}

async function entryNames(raw: Buffer, s: EncryptionSettings = settings): Promise<string[]> {
  const copy = (await plan(raw, s)).copies[0]!;
  if (!copy.encrypted) throw new Error('not packed');
  const zip = MessageModel.parse(await bytesToBuffer(copy.raw)).attachments.find((a) => a.filename === 'attachments.zip')!;
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
    const [name] = await entryNames(raw, { ...settings, default: { ...profile, names: 'cp932' } });
    expect(iconv.decode(Buffer.from(name!, 'latin1'), 'cp932')).toBe('見積書.txt');
  });
});

describe('planDelivery: what cannot be taken apart, and what need not be', () => {
  const signed = Buffer.from(
    [
      'From: a@example.co.jp', 'To: b@partner.example', 'Subject: signed', 'MIME-Version: 1.0',
      'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s"', '',
      '--s', 'Content-Type: multipart/mixed; boundary="m"', '',
      '--m', 'Content-Type: text/plain', '', 'body', '--m', 'Content-Type: application/pdf; name="a.pdf"', 'Content-Disposition: attachment; filename="a.pdf"', '', '%PDF-1.4', '--m--',
      '--s', 'Content-Type: application/pkcs7-signature; name="smime.p7s"', 'Content-Transfer-Encoding: base64', '', 'MIIB', '--s--', '',
    ].join('\r\n'),
  );

  it('never breaks a signature: a signed message goes whole, as one .eml, into the ZIP (once a person released it)', async () => {
    const p = await plan(signed);
    expect(p.copies).toHaveLength(1);
    expect(p.copies[0]!.encrypted).toMatchObject({ form: 'whole', files: [{ name: 'a.pdf' }] });
    expect(await entryNames(signed)).toEqual(['signed.eml']);
    expect(p.notices).toHaveLength(1);
  });

  it('gives internal recipients the original and outside ones the ZIP, each with its own password notice', async () => {
    const raw = withAttachments({ files: [{ name: 'a.txt', content: Buffer.from('secret data') }] });
    const p = await plan(raw, settings, ['c@example.co.jp', 'b@partner.example']);
    expect(p.copies.map((c) => [c.id, c.envelope.to, c.encrypted?.form])).toEqual([
      ['m1', ['c@example.co.jp'], undefined],
      ['m1-2', ['b@partner.example'], 'attachments'],
    ]);
    expect(p.notices.map((n) => [n.after, n.envelope.to, n.delayMs])).toEqual([['m1-2', ['a@example.co.jp'], 0]]);
  });

  it("sends the password to the recipients after the profile's delay", async () => {
    const raw = withAttachments({ files: [{ name: 'a.txt', content: Buffer.from('secret data') }] });
    const later = { ...settings, default: { ...settings.default, password: { to: 'recipients' as const, delayMinutes: 10 } } };
    expect((await plan(raw, later)).notices.map((n) => [n.envelope.to, n.delayMs])).toEqual([[['b@partner.example'], 600_000]]);
  });

  it.skipIf(!requireTool(SEVEN_ZIP, '7zip'))('passes an already encrypted file as it is; packs the others', async () => {
    const locked = sevenZip({ 'a.txt': 'secret' }, ['-tzip', '-pX7kq2Lmnb', '-mem=AES256']);
    const raw = withAttachments({ files: [{ name: '暗号化済み.zip', content: locked }] });
    expect(await plan(raw)).toMatchObject({ copies: [{ id: 'm1' }], notices: [], passedAsIs: ['暗号化済み.zip'] });
    const mixed = withAttachments({ files: [{ name: '暗号化済み.zip', content: locked }, { name: 'plain.txt', content: Buffer.from('p') }] });
    const packed = await plan(mixed);
    expect(packed.passedAsIs).toEqual(['暗号化済み.zip']);
    expect(MessageModel.parse(await bytesToBuffer(packed.copies[0]!.raw)).attachments.map((a) => a.filename)).toEqual(['暗号化済み.zip', 'attachments.zip']);
  });

  it('leaves a message without attachments alone: one copy for everyone', async () => {
    const raw = Buffer.from('From: a@example.co.jp\r\nTo: b@partner.example\r\nSubject: hi\r\n\r\njust text\r\n');
    const p = await plan(raw, settings, ['c@example.co.jp', 'b@partner.example']);
    expect(p.copies).toHaveLength(1);
    expect((await bytesToBuffer(p.copies[0]!.raw)).toString()).toBe(`X-Outguard-Id: m1\r\n${raw}`);
    expect(p.notices).toEqual([]);
  });

  it.skipIf(!HAS_CORPUS)('leaves a real message without attachments alone', async () => {
    expect((await plan(corpus('plain_emails/basic_email.eml'))).notices).toEqual([]);
  });
});
