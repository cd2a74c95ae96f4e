import type { Envelope } from '../message/envelope.js';
import type { MessageModel } from '../message/model.js';
import type { Bilingual } from '../render/bilingual.js';

/** A named list from policies/lists/, loaded once into sets. */
export interface List {
  readonly name: string;
  readonly size: number;
  /** The entry that matches this e-mail address (exact address, glob pattern, or its domain), if any. */
  matchAddress(address: string): string | undefined;
  /** The entry that matches this host name (exact host or a parent domain, never a bare public suffix), if any. */
  matchHost(host: string): string | undefined;
}

/** What a check may consult besides the message. Read-only: checks never change state. */
export interface CheckContext {
  list(name: string): List;
  /** True when the address or host is on the allow list, which wins over every check. */
  allowed(addressOrHost: string): boolean;
  /** True for organization.internalDomains and their subdomains. */
  isInternal(domain: string): boolean;
  readonly internalDomains: readonly string[];
  readonly partnerDomains: readonly string[];
  /** Domains this gateway has delivered to before (first-time-domain). */
  knownDomain(domain: string): boolean;
  /** External messages this sender sent within the last `windowMinutes` before this one. */
  recentExternalMessages(sender: string, windowMinutes: number): number;
}

/**
 * One thing a check found: the matched value, and optionally a detail for the reader. The
 * built-in checks write it Japanese and English; a plugin may give one string for both.
 */
export interface Hit {
  value: string;
  detail?: string | Bilingual;
}

export interface CheckInput {
  message: MessageModel;
  envelope: Envelope;
}

/** Thrown by a check's params() with the key and what was expected; the loader adds file and rule. */
export class ParamError extends Error {
  constructor(
    readonly key: string,
    readonly expected: string,
  ) {
    super(`${key}: expected ${expected}`);
  }
}

/**
 * A check: a small pure function from (message, envelope, context) to hits. `params` validates
 * the rule's parameters once at load time, so `run` gets them typed and never fails on them.
 */
export interface Check<P = unknown> {
  readonly name: string;
  params(raw: Record<string, unknown>, env: ParamEnv): P;
  run(input: CheckInput, context: CheckContext, params: P): Hit[];
}

/** What params() may know at load time besides the raw values. */
export interface ParamEnv {
  /** Names of the lists the policy defines. */
  lists: ReadonlySet<string>;
}

/** Helpers for params(): typed values with defaults, or a ParamError naming the key. */
export const param = {
  /** The name of a list the policy defines. */
  list(raw: Record<string, unknown>, key: string, fallback: string, env: ParamEnv): string {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'string' || !env.lists.has(v)) throw new ParamError(key, `the name of a list defined under lists: (${[...env.lists].join(', ')})`);
    return v;
  },
  number(raw: Record<string, unknown>, key: string, fallback: number, min = 0): number {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new ParamError(key, `a number ≥ ${min}`);
    return v;
  },
  string(raw: Record<string, unknown>, key: string, fallback?: string): string {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'string' || v === '') throw new ParamError(key, 'a non-empty string');
    return v;
  },
  strings(raw: Record<string, unknown>, key: string, fallback: string[]): string[] {
    const v = raw[key] ?? fallback;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ParamError(key, 'a list of strings');
    return v as string[];
  },
  boolean(raw: Record<string, unknown>, key: string, fallback: boolean): boolean {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'boolean') throw new ParamError(key, 'true or false');
    return v;
  },
};

/** The domain part of an address, lower-cased ('' when there is none). */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

const recipientsOf = new WeakMap<CheckInput, string[]>();

/**
 * Every recipient a message reaches or shows: envelope RCPT TO and header To/Cc/Bcc, deduplicated,
 * domains lower-cased. Worked out once per message, however many checks ask.
 */
export function allRecipients(input: CheckInput): string[] {
  let list = recipientsOf.get(input);
  if (!list) {
    const { message, envelope } = input;
    const seen = new Set<string>();
    for (const a of [...envelope.to, ...message.to.map((x) => x.address), ...message.cc.map((x) => x.address), ...message.bcc.map((x) => x.address)]) {
      const at = a.lastIndexOf('@');
      if (at > 0) seen.add(a.slice(0, at) + a.slice(at).toLowerCase());
    }
    list = [...seen];
    recipientsOf.set(input, list);
  }
  return list;
}
