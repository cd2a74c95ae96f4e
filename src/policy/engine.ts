import type { CheckContext, CheckInput, Hit } from './check.js';
import { type ContextSources, createContext } from './context.js';
import { encryptionFindings } from './encryption-gate.js';
import { DEFAULT_HOLD, type Policy, type Rule } from './policy-file.js';
import { type Finding, type Verdict, detailFields } from './verdict.js';

/** Where the engine reads what checks may consult besides lists: organisation and state. */
export type EngineSources = Omit<ContextSources, 'lists'>;

/** A check that threw: the message cannot be judged, so it must not leave (fail closed). */
export class CheckFailure extends Error {
  constructor(
    readonly rule: string,
    cause: unknown,
  ) {
    super(`rule ${rule} failed: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'CheckFailure';
  }
}

const RANK = { deliver: 0, hold: 1, reject: 2 } as const;

/**
 * Runs every rule's check and decides: reject > hold > deliver. `monitor` rules only add
 * findings for the log. The policy can be swapped at any time (reload); a message is always
 * judged by one whole policy.
 */
export class PolicyEngine {
  private state: { policy: Policy; context: CheckContext };

  constructor(
    policy: Policy,
    private readonly sources: EngineSources,
  ) {
    this.state = { policy, context: createContext({ ...sources, lists: policy.lists }) };
  }

  get current(): Policy {
    return this.state.policy;
  }

  use(policy: Policy): void {
    this.state = { policy, context: createContext({ ...this.sources, lists: policy.lists }) };
  }

  /** Judges by the policy in force, or by `policy` when it is the one in force (so the caller parsed with its limits). */
  evaluate(input: CheckInput, policy: Policy = this.state.policy): Verdict {
    const state = this.state.policy === policy ? this.state : { policy, context: createContext({ ...this.sources, lists: policy.lists }) };
    const { context } = state;
    const findings: Finding[] = [];
    const holdRules: Rule[] = [];
    let action: Verdict['action'] = 'deliver';
    for (const rule of policy.rules) {
      let hits;
      try {
        hits = rule.check.run(input, context, rule.params);
      } catch (err) {
        throw new CheckFailure(rule.id, err);
      }
      for (const hit of hits) findings.push(toFinding(rule, hit.value, hit.detail));
      if (hits.length > 0 && rule.action === 'hold') holdRules.push(rule);
      if (hits.length > 0 && rule.action !== 'monitor' && RANK[rule.action] > RANK[action]) action = rule.action;
    }
    // 第6-2's built-in part: what must not leave for outside as the encryption step would send it
    for (const f of encryptionFindings(input, context, policy.encryption)) {
      findings.push(f);
      if (f.severity !== 'monitor' && RANK[f.severity] > RANK[action]) action = f.severity;
    }
    if (action !== 'hold') return { action, findings };
    // The first hold rule that fired sets the deadline; every one of them may add approvers.
    const first = holdRules[0]?.hold ?? DEFAULT_HOLD;
    return {
      action,
      findings,
      hold: { deadlineHours: first.deadlineHours, onDeadline: first.onDeadline, approvers: [...new Set(holdRules.flatMap((r) => r.hold.approvers))] },
    };
  }
}

function toFinding(rule: Rule, value: string, detail: Hit['detail']): Finding {
  return {
    rule: rule.id,
    clause: rule.clause,
    severity: rule.action,
    message: `${rule.message.ja} / ${rule.message.en}`,
    reason: rule.message.en,
    value,
    ...detailFields(detail),
    ...(rule.incident ? { incident: true as const } : {}),
  };
}

/** The finding that decided the verdict: the first one with the verdict's severity. */
export function decisive(verdict: Verdict): Finding | undefined {
  return verdict.findings.find((f) => f.severity === verdict.action);
}
