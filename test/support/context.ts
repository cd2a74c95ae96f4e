import type { CheckContext, CheckInput } from '../../src/policy/check.js';
import { createContext } from '../../src/policy/context.js';
import { listOf } from '../../src/policy/lists.js';
import { MessageModel } from '../../src/message/model.js';

export interface ContextOptions {
  /** List name → entries, in the policies/lists/ syntax. */
  lists?: Record<string, string[]>;
  internalDomains?: string[];
  partnerDomains?: string[];
  knownDomains?: string[];
  /** sender → number of external messages in any window */
  recent?: Record<string, number>;
}

/** A real CheckContext (real list matching) over in-memory lists and state. */
export function makeContext(o: ContextOptions = {}): CheckContext {
  const known = new Set(o.knownDomains ?? []);
  return createContext({
    lists: new Map(Object.entries(o.lists ?? {}).map(([name, lines]) => [name, listOf(name, lines)])),
    internalDomains: o.internalDomains ?? ['example.co.jp'],
    partnerDomains: o.partnerDomains ?? [],
    knownDomain: (d) => known.has(d),
    recentExternalMessages: (s) => o.recent?.[s] ?? 0,
  });
}

/** A check input from header lines and a body (CRLF), with the envelope given or taken from To/Cc/Bcc. */
export function makeInput(opts: { headers?: string[]; body?: string; raw?: string | Buffer; from?: string; to?: string[] }): CheckInput {
  const raw = opts.raw
    ? Buffer.isBuffer(opts.raw) ? opts.raw : Buffer.from(opts.raw)
    : Buffer.from([...(opts.headers ?? ['From: taro@example.co.jp', 'To: partner@partner.example', 'Subject: test']), '', opts.body ?? 'hello', ''].join('\r\n'));
  const message = MessageModel.parse(raw);
  const to = opts.to ?? [...message.to, ...message.cc, ...message.bcc].map((a) => a.address);
  return { message, envelope: { from: opts.from ?? 'taro@example.co.jp', to } };
}
