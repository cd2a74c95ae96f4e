import type { Bilingual } from '../render/bilingual.js';

/** The names of the audit event types, for people; other types are shown as they are. */
export const EVENT_TYPES: Record<string, Bilingual> = {
  rejected: { ja: '拒否（送信不可）', en: 'rejected' },
  held: { ja: '保留', en: 'held' },
  released: { ja: '保留解除・送信', en: 'released' },
  discarded: { ja: '破棄', en: 'discarded' },
  expired: { ja: '期限切れ', en: 'expired' },
  escalated: { ja: '上長へ確認依頼', en: 'escalated' },
  delivered: { ja: '配送', en: 'delivered' },
  encrypted: { ja: '暗号化して配送', en: 'encrypted' },
  deferred: { ja: '一時エラー（再送待ち）', en: 'deferred' },
  'next-hop-refused': { ja: '配送先が拒否（送信者へ返送）', en: 'refused by the next hop (bounced to the sender)' },
  repeated: { ja: '再送受付（送信済みのため再送信なし）', en: 'sent again by the client (not sent twice)' },
  'notice-sent': { ja: '通知送信', en: 'notice sent' },
  purged: { ja: '本文消去（保存期間満了）', en: 'body purged' },
  login: { ja: 'ログイン', en: 'login' },
  'policy-reloaded': { ja: 'ポリシー再読込', en: 'policy reloaded' },
  'incident-opened': { ja: 'インシデント登録', en: 'incident opened' },
  'incident-reported': { ja: 'インシデント報告', en: 'incident reported' },
  'incident-overdue': { ja: 'インシデント期限超過', en: 'incident overdue' },
  'chain-keyed': { ja: '監査ログの鍵付き連鎖を開始', en: 'audit chain keyed from here on' },
  'anchor-restarted': { ja: '監査ログのアンカーを新規作成（旧ファイル喪失）', en: 'audit anchor restarted (old file lost)' },
};

export function eventType(type: string): Bilingual {
  return Object.hasOwn(EVENT_TYPES, type) ? EVENT_TYPES[type]! : { ja: type, en: type };
}
