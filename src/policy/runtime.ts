import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { PolicyEngine } from './engine.js';
import { DeliveryHistory } from './history.js';
import { loadPolicy } from './policy-file.js';

/** The engine over the configured policy, with the delivery history it consults. */
export async function createPolicyEngine(config: Config, logger?: Logger): Promise<{ engine: PolicyEngine; history: DeliveryHistory }> {
  const policy = await loadPolicy(config.policy);
  const history = new DeliveryHistory(config.dataDir, config.organization.internalDomains, () =>
    logger?.warn('sender-burst: too many distinct senders tracked; new senders are not counted until old ones expire'),
  );
  const engine = new PolicyEngine(policy, {
    internalDomains: config.organization.internalDomains,
    partnerDomains: config.organization.partnerDomains,
    knownDomain: history.knownDomain,
    recentExternalMessages: history.recentExternalMessages,
  });
  return { engine, history };
}
