import { getDomain } from 'tldts';
import { type Check, domainOf } from '../check.js';

/** The registrable domain (partner.co.jp for mail.partner.co.jp): what "delivered before" is remembered by. */
export function registrableDomain(domain: string): string {
  return getDomain(domain, { allowPrivateDomains: false }) ?? domain;
}

/**
 * 第6-1: an external domain this gateway has never delivered to. Partner domains count as known.
 * One hit per new domain among the envelope recipients (where the message really goes).
 */
export const firstTimeDomain: Check<Record<string, never>> = {
  name: 'first-time-domain',
  params: () => ({}),
  run({ envelope }, ctx) {
    const seen = new Set<string>();
    const hits = [];
    for (const address of envelope.to) {
      const domain = domainOf(address);
      if (domain === '' || ctx.isInternal(domain) || ctx.allowed(address)) continue;
      const base = registrableDomain(domain);
      if (seen.has(base) || ctx.knownDomain(base) || ctx.partnerDomains.some((p) => registrableDomain(p) === base)) continue;
      seen.add(base);
      hits.push({ value: base, detail: `first message to ${base}` });
    }
    return hits;
  },
};
