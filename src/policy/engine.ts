import type { Subject, Verdict } from './verdict.js';

/**
 * Decides what happens to a message. The default policy (issue 3) will add checks here;
 * with none loaded every message is delivered unchanged.
 */
export class PolicyEngine {
  evaluate(_subject: Subject): Verdict {
    return { action: 'deliver', findings: [] };
  }
}
