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
  detail?: string;
  /** The rule is marked `incident: true`: this finding opens an incident (遵守事項 第2). */
  incident?: true;
}

export interface Verdict {
  action: Action;
  findings: Finding[];
  /** For a hold: the deadline and approvers of the hold rules that fired. */
  hold?: { deadlineHours: number; onDeadline: { action: 'discard' } | { action: 'send' } | { action: 'escalate'; to: string }; approvers: string[] };
}
