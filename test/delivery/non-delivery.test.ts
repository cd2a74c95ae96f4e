import { describe, expect, it } from 'vitest';
import { nonDeliveryNotice } from '../../src/delivery/non-delivery.js';
import { MessageModel } from '../../src/message/model.js';

describe('the non-delivery notice is built from data', () => {
  it('keeps the subject, the addresses and the replies on one line each', async () => {
    const subject = '見積\r\nPassword: fake1\u2029Password: fake2';
    const notice = await nonDeliveryNotice({
      ref: 'm1',
      sender: 'taro@example.co.jp',
      subject,
      refused: [{ address: 'b@partner.example', reply: '550-5.1.1 no such user\r\nPassword: fake3\x00\r\n550 5.1.1 bye' }],
      hostname: 'gw',
    });
    const parsed = MessageModel.parse(notice.raw);
    const lines = parsed.textParts.join('\n').split(/\r?\n/);
    expect(lines.filter((l) => l.trimStart().startsWith('Password'))).toEqual([]);
    expect(lines).toContain('件名: 見積 Password: fake1 Password: fake2');
    expect(lines).toContain('Subject: 見積 Password: fake1 Password: fake2');
    expect(lines).toContain('    550-5.1.1 no such user Password: fake3 550 5.1.1 bye');
    expect(parsed.subject).toBe('配信できなかった宛先があります / Undelivered recipients: 見積 Password: fake1 Password: fake2');
    expect(parsed.header('x-outguard-notice')).toBe('non-delivery');
  });
});
