import { ruleName } from '../policy/rule-names.js';

/**
 * Who did something, named for people. The audit log, holds and incidents keep the actor as
 * recorded (`web:admin`, `cli`, `deadline`, `policy:<rule>`, an address, a login); the notices,
 * the incident report and the pages say it in words. What this does not recognise (a name given
 * with --by, an SMTP login, a client address) is already a name and stays as it is.
 */

/** What is known about the message the actor acted on: its sender and approvers. */
export interface ActorContext {
  sender?: string;
  approvers?: readonly string[];
}

/** outguard's own parts (audit events of the outbox, retention, policy reloads, incident clocks). */
const SYSTEM: Record<string, { ja: string; en: string }> = {
  deadline: { ja: '期限（自動）', en: 'the deadline (automatic)' },
  cli: { ja: '管理者（outguard コマンド）', en: 'an administrator (outguard command)' },
  outguard: { ja: 'outguard（自動）', en: 'outguard (automatic)' },
  outbox: { ja: 'outguard（送信キュー）', en: 'outguard (outbox)' },
  retention: { ja: 'outguard（保存期間の管理）', en: 'outguard (retention)' },
  policy: { ja: 'outguard（ポリシーの読み込み）', en: 'outguard (policy loading)' },
};

const sameAddress = (a: string, b: string | undefined) => b !== undefined && a.toLowerCase() === b.toLowerCase();

export function actorName(actor: string | undefined, context: ActorContext = {}): { ja: string; en: string } {
  const a = (actor ?? '').trim();
  if (a === '') return { ja: '不明', en: 'unknown' };
  if (Object.hasOwn(SYSTEM, a)) return SYSTEM[a]!;
  if (a.startsWith('web:')) {
    const user = a.slice(4);
    return { ja: `担当者 ${user}（監査担当者の画面）`, en: `${user} (reviewer pages)` };
  }
  if (a.startsWith('cli:')) {
    const user = a.slice(4);
    return { ja: `管理者 ${user}（outguard コマンド）`, en: `administrator ${user} (outguard command)` };
  }
  if (a.startsWith('policy:')) {
    const rule = ruleName(a.slice(7));
    return { ja: `規則「${rule.ja}」（自動）`, en: `the rule "${rule.en}" (automatic)` };
  }
  // the incident notification recorded the report on behalf of whoever opened the incident
  const forWhom = /^outguard \(for (.+)\)$/.exec(a);
  if (forWhom) {
    const who = actorName(forWhom[1], context);
    return { ja: `outguard が自動で報告（登録: ${who.ja}）`, en: `outguard, automatically (opened by ${who.en})` };
  }
  if (sameAddress(a, context.sender)) return { ja: `送信者 ${a}`, en: `the sender ${a}` };
  if (context.approvers?.some((x) => sameAddress(a, x))) return { ja: `承認者 ${a}`, en: `approver ${a}` };
  return { ja: a, en: a };
}
