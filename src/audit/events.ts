import crypto from 'node:crypto';
import type { Finding } from '../policy/verdict.js';

/**
 * Audit events (特記事項 第9・第10: the evidence reviewers inspect). Every decision is one event,
 * and the events form a hash chain: each carries the hash of the one before it, so editing,
 * removing or moving a stored event is found by `outguard audit verify` (see sqlite-audit.ts).
 *
 * ## The hash, precisely
 *
 *   hash = lowercase hex SHA-256 of the UTF-8 bytes of canonicalJson(E)
 *
 * where E is the event without its `hash` member — `seq`, `time`, `type`, the optional members
 * that are present, and `prevHash` — and canonicalJson is RFC 8785 (JSON Canonicalization Scheme)
 * for the values an event can hold:
 *
 * - an object is `{` members `}` with its members sorted by key (UTF-16 code units, as JS sorts;
 *   the keys are ASCII), each as `"key":value`, separated by `,`; members whose value is
 *   `undefined` are absent (an absent optional member is never written as null or "");
 * - an array is `[` elements `]` in their order, separated by `,`;
 * - a string is as JSON.stringify writes it (`\"`, `\\`, `\b \f \n \r \t`, other characters
 *   below U+0020 as `\u00xx`, everything else literally);
 * - a number is a safe integer (only `seq` is a number) in decimal;
 * - no whitespace between tokens.
 *
 * Example: `{"prevHash":"000…0","seq":1,"time":"2026-11-26T01:00:00.000Z","type":"delivered"}`.
 *
 * From the chain's switch point on (every event of a chain started by this version), the stored
 * value is not the SHA-256 but the HMAC-SHA256 of the same text under a subkey of the
 * data-at-rest key (computeMac); events before the switch point keep their SHA-256.
 *
 * `seq` is part of the hashed content, so an intact event moved to another position no longer
 * matches its hash there; `prevHash` of the first event is 64 zeros (GENESIS_HASH).
 *
 * Strings are made well-formed (a lone UTF-16 surrogate becomes U+FFFD) before hashing, so what is
 * hashed is exactly what SQLite stores and reads back as UTF-8.
 */

export const GENESIS_HASH = '0'.repeat(64);

/** The kinds of events outguard writes; other kebab-case names are allowed for later ones. */
export const AUDIT_EVENT_TYPES = [
  'delivered',
  'encrypted',
  'rejected',
  'held',
  'released',
  'discarded',
  'expired',
  'notice-sent',
  // a client sent a message again that was accepted before (nothing sent twice, not counted twice)
  'repeated',
  'policy-reloaded',
  'login',
  'purged',
  // 遵守事項 第2 (incidents.ts): detail is the incident id, exactly
  'incident-opened',
  'incident-reported',
  'incident-overdue',
  // the chain continues with MACs from this event on (an older chain was hashed without a key)
  'chain-keyed',
  // the anchor file was lost and a new one starts here (`outguard audit re-anchor`)
  'anchor-restarted',
] as const;

export type KnownAuditEventType = (typeof AUDIT_EVENT_TYPES)[number];
/** A known type, or another kebab-case name (`incident-opened`, …). */
export type AuditEventType = KnownAuditEventType | (string & {});

export interface AuditAttachment {
  name: string;
  /** Lowercase hex SHA-256 of the attachment as the sender attached it. */
  sha256: string;
}

/** One stored event. */
export interface AuditEvent {
  /** 1, 2, 3, … with no gaps: the position in the chain. */
  seq: number;
  /** ISO 8601 in UTC with milliseconds (Date.prototype.toISOString). */
  time: string;
  type: AuditEventType;
  /** The outguard id of the message (X-Outguard-Id), when the event is about one. */
  messageId?: string;
  /** Envelope sender ('' for the null sender <>). */
  sender?: string;
  /** Envelope recipients. */
  recipients?: string[];
  subject?: string;
  attachments?: AuditAttachment[];
  /** Rule ids of the findings that led to the decision. */
  rules?: string[];
  /** The clauses those rules serve (第6-1, 第6-2, …). */
  clauses?: string[];
  /** The verdict or policy action (deliver, hold, reject, send, …). */
  action?: string;
  /** Who decided: 'gateway', 'cli', 'deadline', a sender or approver address, a reviewer's login. */
  actor?: string;
  /** Free text for what the other members do not say (an error, a policy file, a count). Never a password, token or body. */
  detail?: string;
  /** The hash of the previous event; GENESIS_HASH for seq 1. */
  prevHash: string;
  /** See the top of this file. */
  hash: string;
}

/** What a caller records: the store assigns seq, prevHash and hash; time defaults to now. */
export type NewAuditEvent = Omit<AuditEvent, 'seq' | 'time' | 'prevHash' | 'hash'> & {
  /** An ISO 8601 string, a Date or ms since the epoch; default: now. Stored as toISOString(). */
  time?: string | number | Date;
};

/** An event as it is hashed. */
export type UnhashedAuditEvent = Omit<AuditEvent, 'hash'>;

const OPTIONAL_STRINGS = ['messageId', 'sender', 'subject', 'action', 'actor', 'detail'] as const;
const OPTIONAL_LISTS = ['recipients', 'rules', 'clauses'] as const;
const TYPE_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

type CanonicalValue = string | number | boolean | null | undefined | CanonicalValue[] | { [key: string]: CanonicalValue };

/** RFC 8785 serialization for strings, safe integers, booleans, null, arrays and plain objects. */
export function canonicalJson(value: CanonicalValue): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonicalJson: only safe integers are allowed, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot serialize a ${typeof value}`);
}

/** The exact text whose SHA-256 is the event's hash. */
export function hashInput(event: UnhashedAuditEvent): string {
  const { hash: _ignored, ...rest } = event as UnhashedAuditEvent & { hash?: string };
  return canonicalJson(rest as unknown as CanonicalValue);
}

export function computeHash(event: UnhashedAuditEvent): string {
  return crypto.createHash('sha256').update(hashInput(event), 'utf8').digest('hex');
}

/**
 * The MAC of a keyed event: lowercase hex HMAC-SHA256 of the same text under the chain key (a
 * subkey of the data-at-rest key, see chainKey). Unlike the plain hash, someone who can edit the
 * database but does not hold the key cannot recompute it.
 */
export function computeMac(chainKey: Buffer, event: UnhashedAuditEvent): string {
  return crypto.createHmac('sha256', chainKey).update(hashInput(event), 'utf8').digest('hex');
}

/** Replaces lone surrogates with U+FFFD (String.prototype.toWellFormed, which ES2023 typings lack). */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function isoTime(time: NewAuditEvent['time'], now: () => Date): string {
  const d = time === undefined ? now() : time instanceof Date ? time : new Date(time);
  if (Number.isNaN(d.getTime())) throw new TypeError(`audit event: time is not a valid date: ${String(time)}`);
  return d.toISOString();
}

/**
 * Checks a new event and brings it to the stored form: time as toISOString(), strings
 * well-formed, undefined members dropped. Throws TypeError naming the bad member.
 */
export function normalizeEvent(input: NewAuditEvent, now: () => Date = () => new Date()): Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'> {
  if (typeof input.type !== 'string' || !TYPE_PATTERN.test(input.type)) {
    throw new TypeError(`audit event: type must be a kebab-case name such as "delivered", got ${JSON.stringify(input.type)}`);
  }
  const out: Record<string, unknown> = { time: isoTime(input.time, now), type: input.type };
  for (const key of OPTIONAL_STRINGS) {
    const v = input[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new TypeError(`audit event: ${key} must be a string`);
    out[key] = wellFormed(v);
  }
  for (const key of OPTIONAL_LISTS) {
    const v = input[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new TypeError(`audit event: ${key} must be an array of strings`);
    out[key] = v.map(wellFormed);
  }
  if (input.attachments !== undefined) {
    if (!Array.isArray(input.attachments)) throw new TypeError('audit event: attachments must be an array of {name, sha256}');
    out.attachments = input.attachments.map((a, i) => {
      if (!a || typeof a.name !== 'string' || typeof a.sha256 !== 'string' || !SHA256_PATTERN.test(a.sha256.toLowerCase())) {
        throw new TypeError(`audit event: attachments[${i}] must be {name, sha256} with sha256 as 64 hex digits`);
      }
      // only name and sha256: a size or other member would not survive the round trip through the store
      return { name: wellFormed(a.name), sha256: a.sha256.toLowerCase() };
    });
  }
  return out as Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'>;
}

/** The rule ids and clauses of a verdict's findings, each once, in order: `{...findingFields(verdict.findings)}`. */
export function findingFields(findings: readonly Pick<Finding, 'rule' | 'clause'>[]): { rules: string[]; clauses: string[] } {
  return {
    rules: [...new Set(findings.map((f) => f.rule))],
    clauses: [...new Set(findings.map((f) => f.clause).filter((c) => c !== ''))],
  };
}
