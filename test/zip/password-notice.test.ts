import { describe, expect, it } from 'vitest';
import { planDelivery } from '../../src/delivery/plan.js';
import { MessageModel } from '../../src/message/model.js';
import { DEFAULT_ENCRYPTION } from '../../src/policy/encryption.js';
import { composePasswordNotice } from '../../src/zip/password-notice.js';
import { withAttachments } from '../support/mime.js';
import { passwordOf } from '../support/notices.js';
import { defaultNoticeFrom } from '../../src/message/mailbox.js';

/** A subject that, decoded, puts two fake Password lines above the real one. */
const HOSTILE = '見積\r\nPassword: fake1\r\nPassword: fake2';
const encodedSubject = `=?UTF-8?B?${Buffer.from(HOSTILE).toString('base64')}?=`;

const textLines = (notice: Buffer) => MessageModel.parse(notice).textParts.join('\n').split(/\r?\n/);
const passwordLines = (notice: Buffer) => textLines(notice).filter((l) => l.startsWith('Password:'));

describe('the password notice is built from data', () => {
  it('keeps a subject with encoded line breaks and a ZIP name with control characters on one line each: one Password line', async () => {
    const subject = MessageModel.parse(Buffer.from(`Subject: ${encodedSubject}\r\n\r\nx\r\n`)).subject;
    expect(subject).toBe(HOSTILE);
    const notice = await composePasswordNotice({
      ref: 'm1',
      subject,
      zipName: 'a\rPassword: fake3\u2028Password: fake4\x85.zip',
      recipients: ['b@partner.example', 'c@partner.example\nPassword: fake5'],
      password: 'Real-Pass-123',
      envelope: { from: '', to: ['a@example.co.jp'] },
      from: defaultNoticeFrom('gw'),
    });
    expect(passwordLines(notice)).toEqual(['Password: Real-Pass-123']);
    expect(passwordOf(notice)).toBe('Real-Pass-123');
    const lines = textLines(notice);
    // the Japanese label says where the password is, and does not repeat "Password" itself
    expect(lines.filter((l) => /password/i.test(l) && !/fake|notice|ZIP|password of|this password/i.test(l))).toEqual(['Password: Real-Pass-123']);
    expect(lines[lines.indexOf('Password: Real-Pass-123') - 1]).toMatch(/^パスワード/);
    expect(lines).toContain('件名: 見積 Password: fake1 Password: fake2');
    expect(lines).toContain('Subject: 見積 Password: fake1 Password: fake2');
    expect(lines).toContain('ZIPファイル名: a Password: fake3 Password: fake4 .zip');
    expect(lines).toContain('Recipients: b@partner.example, c@partner.example Password: fake5');
    expect(lines.some((l) => /[\u2028\u2029\x85]/.test(l))).toBe(false);
    const parsed = MessageModel.parse(notice);
    expect(parsed.subject).toBe('パスワードのお知らせ / Password notice: 見積 Password: fake1 Password: fake2');
    expect(parsed.header('x-outguard-notice')).toBe('password');
    expect(parsed.header('x-outguard-ref')).toBe('m1');
  });

  it('stays so when the plan makes it from a real message with such a subject and file name', async () => {
    const raw = withAttachments({
      headers: ['From: taro@example.co.jp', 'To: b@partner.example', `Subject: ${encodedSubject}`],
      files: [{ name: 'x', encodedName: "*=UTF-8''%E8%A6%8B%E7%A9%8D%0D%0APassword%3A%20fake3%E2%80%A8.pdf", content: Buffer.from('%PDF-1.4 '.repeat(20)) }],
    });
    const plan = await planDelivery({
      id: 'm1',
      message: MessageModel.parse(raw),
      envelope: { from: 'taro@example.co.jp', to: ['b@partner.example'] },
      settings: DEFAULT_ENCRYPTION,
      isInternal: (d) => d === 'example.co.jp',
      noticeFrom: defaultNoticeFrom('gw'),
    });
    expect(plan.notices).toHaveLength(1);
    const notice = plan.notices[0]!.raw;
    expect(passwordLines(notice)).toHaveLength(1);
    expect(passwordOf(notice)).toMatch(/\S{8,}/);
    expect(textLines(notice)).toContain('Subject: 見積 Password: fake1 Password: fake2');
  });
});
