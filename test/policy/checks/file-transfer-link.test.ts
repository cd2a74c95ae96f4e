import { describe, expect, it } from 'vitest';
import { ParamError } from '../../../src/policy/check.js';
import { fileTransferLink } from '../../../src/policy/checks/file-transfer-link.js';
import { makeContext, makeInput } from '../../support/context.js';

const params = { list: 'file-transfer' };
const FILE_TRANSFER = ['gigafile.nu', 'firestorage.jp', 'we.tl', 'wetransfer.com', 'send-anywhere.com', 'file.io', 'gofile.io'];
const ctx = makeContext({ lists: { 'file-transfer': FILE_TRANSFER } });

const SAFELINKS_WETL =
  'https://apc01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwe.tl%2Ft-AbCdE&data=05%7C01%7Ctaro%40example.co.jp%7C0123456789abcdef%7C0%7C0%7C638000000000000000%7CUnknown&sdata=AbCdEf%2BgHiJ%3D&reserved=0';

function text(body: string) {
  return makeInput({ headers: ['From: taro@example.co.jp', 'To: partner@partner.example', 'Subject: 資料', 'Content-Type: text/plain; charset=utf-8'], body });
}

function html(body: string) {
  return makeInput({ headers: ['From: taro@example.co.jp', 'To: partner@partner.example', 'Subject: 資料', 'Content-Type: text/html; charset=utf-8'], body });
}

const values = (input: ReturnType<typeof makeInput>, c = ctx) => fileTransferLink.run(input, c, params).map((h) => h.value);

describe('file-transfer-link', () => {
  it('catches a numbered gigafile host and says which entry matched', () => {
    expect(fileTransferLink.run(text('DL: https://97.gigafile.nu/1126-abcdef'), ctx, params)).toEqual([
      { value: 'https://97.gigafile.nu/1126-abcdef', detail: { ja: '匿名のファイル転送サービス gigafile.nu へのリンク', en: 'links to gigafile.nu (anonymous file transfer)' } },
    ]);
  });

  it('catches a scheme-less we.tl link in text', () => {
    expect(values(text('ファイルは we.tl/t-AbCdE からどうぞ'))).toEqual(['we.tl/t-AbCdE']);
  });

  it('catches a Safe Links-wrapped we.tl link, in text and in an HTML href with &amp;', () => {
    expect(values(text(`こちら: ${SAFELINKS_WETL}`))).toEqual(['https://we.tl/t-AbCdE']);
    expect(values(html(`<p><a href="${SAFELINKS_WETL.replace(/&/g, '&amp;')}">ダウンロード</a></p>`))).toEqual(['https://we.tl/t-AbCdE']);
  });

  it('cuts the URL correctly out of Japanese text', () => {
    expect(fileTransferLink.run(text('ダウンロードはこちら：https://firestorage.jp/download/abc。よろしく'), ctx, params)).toEqual([
      { value: 'https://firestorage.jp/download/abc', detail: { ja: '匿名のファイル転送サービス firestorage.jp へのリンク', en: 'links to firestorage.jp (anonymous file transfer)' } },
    ]);
  });

  it('catches links behind a Google redirect and URL Defense', () => {
    expect(values(text('https://www.google.com/url?q=https://gofile.io/d/AbC123&sa=D&source=editors'))).toEqual(['https://gofile.io/d/AbC123']);
    expect(values(text('https://urldefense.com/v3/__https://we.tl/t-AbCdE__;!!ACWV5N9M2RV99hQ!abcDEF$'))).toEqual(['https://we.tl/t-AbCdE']);
    expect(values(text('https://urldefense.proofpoint.com/v2/url?u=https-3A__file.io_XyZ&d=DwMFaQ&c=a&r=b&m=c&s=d&e='))).toEqual(['https://file.io/XyZ']);
  });

  it('reports each link once across text and HTML parts', () => {
    const raw = [
      'From: taro@example.co.jp',
      'To: partner@partner.example',
      'Subject: x',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'https://wetransfer.com/downloads/abc',
      '--b1',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<a href="https://wetransfer.com/downloads/abc">https://wetransfer.com/downloads/abc</a> <a href="https://send-anywhere.com/web/downloads/9">x</a>',
      '--b1--',
      '',
    ].join('\r\n');
    expect(values(makeInput({ raw }))).toEqual(['https://wetransfer.com/downloads/abc', 'https://send-anywhere.com/web/downloads/9']);
  });

  it('catches a link in a quoted-printable HTML part with a soft line break inside the URL', () => {
    const raw = [
      'From: taro@example.co.jp',
      'To: partner@partner.example',
      'Subject: =?UTF-8?B?6LOH5paZ?=',
      'MIME-Version: 1.0',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '<p>=E8=B3=87=E6=96=99=E3=81=AF<a href=3D"https://97.gigafile.nu/1126-ab=',
      'cdef">=E3=81=93=E3=81=A1=E3=82=89</a></p>',
      '',
    ].join('\r\n');
    expect(values(makeInput({ raw }))).toEqual(['https://97.gigafile.nu/1126-abcdef']);
  });

  it.each([
    'https://www.google.com/',
    'https://drive.google.com/file/d/1AbC/view?usp=sharing',
    'https://example.co.jp/gigafile.nu',
    'https://example.co.jp/?ref=gigafile.nu',
    'お問い合わせは someone@gigafile.nu まで',
    'notgigafile.nu/abc と https://notgigafile.nu/abc',
    'https://www.google.com/search?q=gigafile.nu',
    'gigafile.nu という名前のサービス',
  ])('does not flag %s', (body) => {
    expect(values(text(body))).toEqual([]);
  });

  it('does not flag mailto: links or the service name in visible HTML text', () => {
    expect(values(html('<a href="mailto:someone@gigafile.nu">someone@gigafile.nu</a> gigafile.nu'))).toEqual([]);
  });

  it('lets the allow list win, host by host along the wrapper chain', () => {
    const local = makeContext({ lists: { 'file-transfer': FILE_TRANSFER, allow: ['=approved.gigafile.nu', 'safelinks.protection.outlook.com'] } });
    expect(values(text('https://approved.gigafile.nu/1-a'), local)).toEqual([]);
    expect(values(text('https://97.gigafile.nu/1-a'), local)).toEqual(['https://97.gigafile.nu/1-a']);
    // an allowed wrapper still has its target checked
    expect(values(text(SAFELINKS_WETL), local)).toEqual(['https://we.tl/t-AbCdE']);
  });

  it('validates its list parameter at load', () => {
    const env = { lists: new Set(['file-transfer', 'other']) };
    expect(fileTransferLink.params({}, env)).toEqual({ list: 'file-transfer' });
    expect(fileTransferLink.params({ list: 'other' }, env)).toEqual({ list: 'other' });
    expect(() => fileTransferLink.params({ list: 'missing' }, env)).toThrow(ParamError);
  });
});
