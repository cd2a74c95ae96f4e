import { type Check, domainOf } from '../check.js';
import { registrableDomain } from '../lists.js';

/**
 * 第6-1: an external domain this gateway has never delivered to (remembered by registrable
 * domain: mail.partner.co.jp and partner.co.jp are one). Partner domains count as known.
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
      hits.push({ value: base, detail: { ja: `${base} への初めての送信`, en: `first message to ${base}` } });
    }
    return hits;
  },
};
