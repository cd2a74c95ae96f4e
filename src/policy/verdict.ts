import type { Hit } from './check.js';

export type Action = 'deliver' | 'hold' | 'reject';

/** One thing a rule found, named by the rule and the clause it serves. */
export interface Finding {
  rule: string;
  clause: string;
  /** The rule's action: what this finding alone would do. */
  severity: 'reject' | 'hold' | 'monitor';
  /** For people: Japanese, then English. */
  message: string;
  /** Short English reason, used in SMTP replies. */
  reason: string;
  /** What matched: an address, a domain, a URL, a file name. Never a password. */
  value: string;
  /** What exactly was found, in English (logs, the audit record of a rejection, older holds). */
  detail?: string;
  /** The same in Japanese, shown first to people; absent for a plugin's one-language detail. */
  detailJa?: string;
  /** The rule is marked `incident: true`: this finding opens an incident (遵守事項 第2). */
  incident?: true;
}

export interface Verdict {
  action: Action;
  findings: Finding[];
  /** For a hold: the deadline and approvers of the hold rules that fired. */
  hold?: { deadlineHours: number; onDeadline: { action: 'discard' } | { action: 'send' } | { action: 'escalate'; to: string }; approvers: string[] };
}

/** A hit's detail as a finding carries it: `detail` in English, `detailJa` beside it. */
export function detailFields(detail: Hit['detail']): Pick<Finding, 'detail' | 'detailJa'> {
  if (!detail) return {};
  return typeof detail === 'string' ? { detail } : { detail: detail.en, detailJa: detail.ja };
}

/** A finding's message for people, Japanese and English apart (it is stored as "日本語 / English"). */
export function findingMessage(f: Pick<Finding, 'message' | 'reason'>): { ja: string; en: string } {
  const tail = ` / ${f.reason}`;
  if (f.message.endsWith(tail)) return { ja: f.message.slice(0, -tail.length), en: f.reason };
  const at = f.message.indexOf(' / ');
  return at < 0 ? { ja: f.message, en: f.reason } : { ja: f.message.slice(0, at), en: f.message.slice(at + 3) };
}

/** A finding's detail for people, Japanese and English (one text for both when it has one language). */
export function findingDetail(f: Pick<Finding, 'detail' | 'detailJa'>): { ja: string; en: string } | undefined {
  return f.detail === undefined ? undefined : { ja: f.detailJa ?? f.detail, en: f.detail };
}
