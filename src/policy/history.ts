import type { Envelope } from '../message/envelope.js';
import { KnownDomains } from '../store/known-domains.js';
import { domainOf } from './check.js';
import { listOf, registrableDomain } from './lists.js';
import { SenderActivity } from './sender-activity.js';

/**
 * What the gateway has delivered: the external domains it knows (first-time-domain) and each
 * sender's recent external messages (sender-burst). Checks read it; only delivery writes it.
 */
export class DeliveryHistory {
  private readonly domains: KnownDomains;
  private readonly activity: SenderActivity;
  private readonly internal: ReturnType<typeof listOf>;

  constructor(dataDir: string, internalDomains: readonly string[], onActivityFull: () => void = () => undefined) {
    this.domains = new KnownDomains(dataDir);
    this.activity = new SenderActivity(undefined, undefined, onActivityFull);
    this.internal = listOf('internal', [...internalDomains]);
  }

  readonly knownDomain = (domain: string): boolean => this.domains.has(domain);

  readonly recentExternalMessages = (sender: string, windowMinutes: number): number => this.activity.recent(sender, windowMinutes);

  /** Learns from a copy the next hop accepted; the sender's message is counted when countSender. */
  async delivered(envelope: Envelope, countSender = true): Promise<void> {
    const external = envelope.to.map(domainOf).filter((d) => d !== '' && this.internal.matchHost(d) === undefined);
    if (external.length === 0) return;
    if (countSender && envelope.from !== '') this.activity.record(envelope.from);
    const fresh = external.map(registrableDomain).filter((d) => !this.domains.has(d));
    if (fresh.length > 0) await this.domains.add(fresh);
  }

  close(): void {
    this.activity.close();
  }
}
