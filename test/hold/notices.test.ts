import { describe, expect, it } from 'vitest';
import { composeConfirmNotice, composeOutcomeNotice, composeWaitingNotice } from '../../src/hold/notices.js';
import type { Hold } from '../../src/hold/types.js';
import { MessageModel } from '../../src/message/model.js';
import { defaultNoticeFrom } from '../../src/message/mailbox.js';
import { lookalike } from './fixtures.js';

const HOSTILE = '見積\r\nPassword: fake1\u2028Password: fake2\x85end';
const ONE_LINE = '見積 Password: fake1 Password: fake2 end';

const hold: Hold = {
  id: 'h1',
  state: 'held',
  envelope: { from: 'taro@example.co.jp', to: ['b@partner.example'] },
  subject: MessageModel.parse(Buffer.from(`Subject: =?UTF-8?B?${Buffer.from(HOSTILE).toString('base64')}?=\r\n\r\nx\r\n`)).subject,
  bodyStart: 'いつもお世話になっております。\r\nPassword: in the body\u2028second',
  recipients: [{ address: 'b@partner.example', external: true, firstTimeDomain: true }],
  attachments: [{ name: 'a\r\nPassword: fake3\x1b[2J.pdf', size: 1234, sha256: 'ab'.repeat(32) }],
  findings: [],
  createdAt: Date.UTC(2026, 0, 5, 1),
  deadline: Date.UTC(2026, 0, 5, 2),
  onDeadline: { action: 'discard' },
  approvers: [],
};
const format = { from: defaultNoticeFrom('gw.example.co.jp') };

const linesOf = (notice: Buffer) => MessageModel.parse(notice).textParts.join('\n').split(/\r?\n/);

/** No line of the notice starts with text the sender wrote, and no line breaks hide inside one. */
function expectOneLineEach(notice: Buffer): string[] {
  const lines = linesOf(notice);
  expect(lines.filter((l) => l.startsWith('Password'))).toEqual([]);
  expect(lines.some((l) => /[\p{Cc}\u2028\u2029]/u.test(l.replace(/\t/g, '')))).toBe(false);
  expect(MessageModel.parse(notice).subject).toContain(ONE_LINE);
  return lines;
}

describe('the hold notices are built from data', () => {
  it('the confirmation notice shows the subject and file names on one line each, the body quoted line by line', async () => {
    const notice = await composeConfirmNotice({ hold, to: hold.envelope.from, role: 'sender', link: 'https://gw/hold/t', expiry: hold.deadline }, format);
    const lines = expectOneLineEach(notice);
    expect(lines).toContain(`件名: ${ONE_LINE}`);
    expect(lines).toContain(`Subject: ${ONE_LINE}`);
    expect(lines).toContain('  - a Password: fake3 [2J.pdf (1,234 バイト)');
    expect(lines).toContain('  > Password: in the body');
    expect(lines).toContain('  > second');
    expect(MessageModel.parse(notice).header('x-outguard-notice')).toBe('confirm');
  });

  it('comes from notices.from, named in words — not from MAILER-DAEMON, which reads as a bounce', async () => {
    const notice = await composeConfirmNotice({ hold, to: hold.envelope.from, role: 'sender', link: 'https://gw/hold/t', expiry: hold.deadline }, format);
    expect(MessageModel.parse(notice).from).toEqual([{ name: '送信確認 outguard', address: 'outguard@gw.example.co.jp' }]);
    const own = await composeOutcomeNotice({ hold, kind: 'released' }, { from: { name: '情報システム課', address: 'it-desk@example.co.jp' } });
    expect(MessageModel.parse(own).from).toEqual([{ name: '情報システム課', address: 'it-desk@example.co.jp' }]);
  });

  it('the waiting, released and discarded notices too', async () => {
    expectOneLineEach(await composeWaitingNotice({ ...hold, approvers: ['boss@example.co.jp\r\nPassword: x'] }, format));
    for (const kind of ['released', 'discarded'] as const) {
      const lines = expectOneLineEach(await composeOutcomeNotice({ hold: { ...hold, decidedBy: 'web:admin\nPassword: y' }, kind }, format));
      expect(lines).toContain(`Subject: ${ONE_LINE}`);
      expect(lines).toContain('操作: 担当者 admin Password: y（監査担当者の画面）');
      expect(lines).toContain('By: admin Password: y (reviewer pages)');
    }
  });
});

describe('the confirmation notice says why the message is held', () => {
  it('names the rule in words, Japanese first, with what the rule asks and what it found', async () => {
    const held = { ...hold, findings: [lookalike('b@examp1e.co.jp', 'example.co.jp')] };
    const lines = linesOf(await composeConfirmNotice({ hold: held, to: hold.envelope.from, role: 'sender', link: 'https://gw/hold/t', expiry: hold.deadline }, format));
    const ja = lines.indexOf('  - 社内・取引先に似たドメイン（遵守事項 第6-1）');
    const en = lines.indexOf('  - Lookalike recipient domain (遵守事項 第6-1)');
    expect(ja).toBeGreaterThan(lines.indexOf('保留の理由:'));
    expect(lines.slice(ja + 1, ja + 3)).toEqual(['    宛先のドメインが社内または取引先のドメインに似ています。', '    example.co.jp に似ています（1文字違い）']);
    expect(en).toBeGreaterThan(ja);
    expect(lines.slice(en + 1, en + 3)).toEqual(['    recipient domain looks like an internal or partner domain', '    looks like example.co.jp (edit distance 1)']);
    // the rule id is for admins and the log, not for the sender
    expect(lines.join('\n')).not.toContain('lookalike-domain');
  });

  it('names the sender and approvers by their part, and the deadline and the command in words', async () => {
    const by = async (decidedBy: string) => linesOf(await composeOutcomeNotice({ hold: { ...hold, approvers: ['boss@example.co.jp'], decidedBy }, kind: 'discarded' }, format));
    expect(await by('taro@example.co.jp')).toEqual(expect.arrayContaining(['操作: 送信者 taro@example.co.jp', 'By: the sender taro@example.co.jp']));
    expect(await by('boss@example.co.jp')).toEqual(expect.arrayContaining(['操作: 承認者 boss@example.co.jp', 'By: approver boss@example.co.jp']));
    expect(await by('cli')).toEqual(expect.arrayContaining(['操作: 管理者（outguard コマンド）', 'By: an administrator (outguard command)']));
  });
});
