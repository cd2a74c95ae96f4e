import { describe, expect, it } from 'vitest';
import { actorName } from '../../src/audit/actor-names.js';

describe('actorName', () => {
  it('names the recorded actor ids in words, Japanese and English', () => {
    expect(actorName('web:admin')).toEqual({ ja: '担当者 admin（監査担当者の画面）', en: 'admin (reviewer pages)' });
    expect(actorName('cli')).toEqual({ ja: '管理者（outguard コマンド）', en: 'an administrator (outguard command)' });
    expect(actorName('deadline')).toEqual({ ja: '期限（自動）', en: 'the deadline (automatic)' });
    expect(actorName('policy:external-attachment')).toEqual({ ja: '規則「社外宛ての添付ファイル」（自動）', en: 'the rule "Attachment to an outside address" (automatic)' });
    expect(actorName('outguard (for web:kansa)')).toEqual({
      ja: 'outguard が自動で報告（登録: 担当者 kansa（監査担当者の画面））',
      en: 'outguard, automatically (opened by kansa (reviewer pages))',
    });
  });

  it('names the sender and approvers of the message by their part, whatever the case of the address', () => {
    const context = { sender: 'Taro@example.co.jp', approvers: ['boss@example.co.jp'] };
    expect(actorName('taro@example.co.jp', context)).toEqual({ ja: '送信者 taro@example.co.jp', en: 'the sender taro@example.co.jp' });
    expect(actorName('BOSS@example.co.jp', context)).toEqual({ ja: '承認者 BOSS@example.co.jp', en: 'approver BOSS@example.co.jp' });
  });

  it('keeps what is already a name (a --by name, an SMTP login, a client address), and says when nobody is recorded', () => {
    expect(actorName('hanako')).toEqual({ ja: 'hanako', en: 'hanako' });
    expect(actorName('192.0.2.7')).toEqual({ ja: '192.0.2.7', en: '192.0.2.7' });
    expect(actorName('someone@example.co.jp')).toEqual({ ja: 'someone@example.co.jp', en: 'someone@example.co.jp' });
    expect(actorName(undefined)).toEqual({ ja: '不明', en: 'unknown' });
  });
});
