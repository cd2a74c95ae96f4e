import { describe, expect, it } from 'vitest';
import { composeConfirmNotice, composeOutcomeNotice, composeWaitingNotice } from '../../src/hold/notices.js';
import type { Hold } from '../../src/hold/types.js';
import { MessageModel } from '../../src/message/model.js';
import { defaultNoticeFrom } from '../../src/message/mailbox.js';

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
      expect(lines).toContain('By: web:admin Password: y');
    }
  });
});
