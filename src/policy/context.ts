import type { CheckContext, List } from './check.js';
import { listOf, normalizeHost } from './lists.js';

export interface ContextSources {
  lists: ReadonlyMap<string, List>;
  internalDomains: readonly string[];
  partnerDomains: readonly string[];
  knownDomain(domain: string): boolean;
  recentExternalMessages(sender: string, windowMinutes: number): number;
}

const EMPTY_ALLOW = listOf('allow', []);

/** Builds the read-only context checks see from the loaded lists, the organisation and the state stores. */
export function createContext(src: ContextSources): CheckContext {
  const internal = listOf('internal', [...src.internalDomains]);
  const allow = src.lists.get('allow') ?? EMPTY_ALLOW;
  return {
    list(name) {
      const list = src.lists.get(name);
      // params() checked every list name at load, so a missing one is a programming error
      if (!list) throw new Error(`list "${name}" is not loaded`);
      return list;
    },
    allowed: (value) => (value.includes('@') ? allow.matchAddress(value) : allow.matchHost(value)) !== undefined,
    isInternal: (domain) => domain !== '' && internal.matchHost(domain) !== undefined,
    internalDomains: src.internalDomains.map(normalizeHost),
    partnerDomains: src.partnerDomains.map(normalizeHost),
    knownDomain: src.knownDomain,
    recentExternalMessages: src.recentExternalMessages,
  };
}
