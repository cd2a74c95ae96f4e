import { beforeAll, describe, expect, it } from 'vitest';
import { attachmentType } from '../../../src/policy/checks/attachment-type.js';
import { externalAttachment } from '../../../src/policy/checks/external-attachment.js';
import { passwordInBody } from '../../../src/policy/checks/password-in-body.js';
import { sevenZip, SEVEN_ZIP } from '../../support/archives.js';
import { makeContext, makeInput } from '../../support/context.js';
import { withAttachments } from '../../support/mime.js';
import { requireTool } from '../../support/tools.js';

const ctx = makeContext();
const typeParams = attachmentType.params({}, { lists: new Set() });

describe('attachment-type', () => {
  const names = (files: { name: string; content?: Buffer }[]) =>
    attachmentType.run(makeInput({ raw: withAttachments({ files: files.map((f) => ({ name: f.name, content: f.content ?? Buffer.from('x') })) }) }), ctx, typeParams);

  it.each([
    ['setup.exe', '実行ファイルの種類 .exe', 'executable type .exe'],
    ['請求書.pdf.exe', '二重拡張子 .pdf.exe', 'double extension .pdf.exe'],
    ['invoice.PDF.scr', '二重拡張子 .pdf.scr', 'double extension .pdf.scr'],
    ['run.js', '実行ファイルの種類 .js', 'executable type .js'],
    ['report\u202Efdp.exe', 'ファイル名に文字の向きを変える制御文字があります', 'bidirectional control character in the name'],
  ])('rejects %s', (name, ja, en) => {
    expect(names([{ name }])).toEqual([{ value: name, detail: { ja, en } }]);
  });

  it('rejects a Windows program under an innocent name', () => {
    expect(names([{ name: 'photo.jpg', content: Buffer.from('MZ\x90\x00rest', 'latin1') }])[0]!.detail).toEqual({ ja: 'Windows のプログラム（MZ ヘッダー）', en: 'Windows program (MZ header)' });
  });

  it('passes documents, images and archives', () => {
    expect(names([{ name: '見積書.pdf' }, { name: 'photo.jpeg' }, { name: 'data.tar.gz' }, { name: 'v1.2.docx' }])).toEqual([]);
  });

  it.skipIf(!requireTool(SEVEN_ZIP, '7zip'))('looks inside an unencrypted ZIP', () => {
    const zip = sevenZip({ 'readme.txt': 'hi', 'tool.exe': 'MZ' }, ['-tzip']);
    expect(names([{ name: 'bundle.zip', content: zip }])).toEqual([
      { value: 'bundle.zip/tool.exe', detail: { ja: 'ZIP 内のファイル: 実行ファイルの種類 .exe', en: 'executable type .exe inside the ZIP' } },
    ]);
  });

  it('takes its own extension list', () => {
    const params = attachmentType.params({ extensions: ['.xlsm'] }, { lists: new Set() });
    const input = makeInput({ raw: withAttachments({ files: [{ name: 'macro.xlsm', content: Buffer.from('x') }, { name: 'a.exe', content: Buffer.from('x') }] }) });
    expect(attachmentType.run(input, ctx, params).map((h) => h.value)).toEqual(['macro.xlsm']);
  });
});

describe.skipIf(!requireTool(SEVEN_ZIP, '7zip'))('password-in-body', () => {
  // made when the tests run: a skipped block's body still runs at collection, without 7-Zip
  let encrypted: Buffer;
  let plain: Buffer;
  beforeAll(() => {
    encrypted = sevenZip({ 'a.txt': 'secret' }, ['-tzip', '-pHs7kq2Lm', '-mem=AES256']);
    plain = sevenZip({ 'a.txt': 'secret' }, ['-tzip']);
  });
  const run = (body: string, content: Buffer, html?: string) =>
    passwordInBody.run(makeInput({ raw: withAttachments({ body, html, files: [{ name: '資料.zip', content }] }) }), ctx, {});

  it.each(['パスワード：Hs7kq2Lm', '解凍パスワードは Hs7kq2Lm です', 'PW: Hs7kq2Lm', 'Password is Hs7kq2Lm', 'pass=Hs7kq2Lm', '暗証番号「Hs7kq2Lm」'])(
    'rejects "%s" next to an encrypted ZIP, without repeating the password',
    (line) => {
      const hits = run(`お世話になっております。\r\n${line}\r\nよろしくお願いします。`, encrypted);
      expect(hits).toHaveLength(1);
      expect(JSON.stringify(hits)).not.toContain('Hs7kq2Lm');
      expect(hits[0]!.value).toBe('資料.zip');
      expect(hits[0]!.detail).toMatchObject({ ja: expect.stringMatching(/^本文に「.+」の行があり、暗号化された添付ファイル 資料\.zip と同じメールに入っています$/) });
    },
  );

  it('finds it in an HTML body too', () => {
    expect(run('see html', encrypted, '<p>パスワード：<b>Hs7kq2Lm</b></p>')).toHaveLength(1);
  });

  it('passes when the attachment is not encrypted, or no password is written', () => {
    expect(run('パスワード：Hs7kq2Lm', plain)).toEqual([]);
    expect(run('パスワードは別途お送りします。', encrypted)).toEqual([]);
    expect(run('Please reset your password via the portal.', encrypted)).toEqual([]);
  });
});

describe('external-attachment', () => {
  const ctx2 = makeContext({ internalDomains: ['example.co.jp'] });
  const raw = withAttachments({ files: [{ name: '見積書.pdf', content: Buffer.from('%PDF') }] });
  it('finds attachments going to an external recipient', () => {
    expect(externalAttachment.run(makeInput({ raw, to: ['a@partner.example', 'b@example.co.jp'] }), ctx2, {})).toEqual([
      { value: '見積書.pdf', detail: { ja: '社外の宛先 a@partner.example へ添付ファイル1件', en: '1 attachment(s) to a@partner.example' } },
    ]);
  });
  it('ignores internal-only mail and mail without attachments', () => {
    expect(externalAttachment.run(makeInput({ raw, to: ['b@example.co.jp'] }), ctx2, {})).toEqual([]);
    expect(externalAttachment.run(makeInput({ to: ['a@partner.example'] }), ctx2, {})).toEqual([]);
  });
});
