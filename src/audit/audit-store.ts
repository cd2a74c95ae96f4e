import type { AuditEvent, NewAuditEvent } from './events.js';

/**
 * The audit log's storage: append-only, hash-chained (events.ts). This is the contract; the
 * SQLite backend is sqlite-audit.ts.
 */

export interface AuditFilter {
  /** Events at or after this time (ISO 8601 string, Date or ms). */
  since?: string | number | Date;
  /** Events before this time (exclusive). */
  until?: string | number | Date;
  /**
   * Events whose `type` or `action` is one of these: `rejected` finds the rejected events,
   * `reject` those whose verdict action was reject.
   */
  action?: string | readonly string[];
  /** Events whose `type` is one of these, exactly. */
  type?: string | readonly string[];
  /** Events whose `type` is none of these. */
  excludeTypes?: readonly string[];
  /** Events whose `rules` contain this rule id. */
  rule?: string;
  /** Events about this message id. */
  messageId?: string;
  /** Only events about a message (with a message id): mail, not logins or reloads. */
  messagesOnly?: boolean;
  /** Events whose envelope sender contains this text, case-insensitively ('' never matches the null sender). */
  sender?: string;
  /** With `sender`: the whole address must match (still case-insensitively). Default false. */
  senderExact?: boolean;
  /** Events with a recipient at this domain or a subdomain of it, case-insensitively (`evernote.com` finds `x@m.evernote.com`). */
  recipientDomain?: string;
  /** Events whose clauses contain this text (`第6-3` finds `遵守事項 第6-3`; `第6` finds all of 第6). */
  clause?: string;
  /** 'asc' (default): chain order, oldest first; 'desc': newest first. */
  order?: 'asc' | 'desc';
  /** Skip this many matching events (paging), in the chosen order. Default 0. */
  offset?: number;
  /** At most this many events; default: all. */
  limit?: number;
}

export type AuditProblem = 'altered' | 'removed' | 'reordered' | 'anchor-missing';

/** The head of the chain: how many events, and the stored hash (MAC) of the last one. Printed as `COUNT:MAC`. */
export interface AuditHead {
  count: number;
  mac: string;
}

export interface VerifyOptions {
  /** A head written down earlier (`--expect COUNT:MAC`): the chain must still hold it. */
  expect?: AuditHead;
}

export type AuditVerification =
  | {
      ok: true;
      /** Number of events checked. */
      count: number;
      /** The last event's hash or MAC (GENESIS_HASH when empty): write `count:lastHash` down to detect a rewrite of the whole tail later. */
      lastHash: string;
      /** The newest anchor the chain was held against. */
      anchor?: { count: number; time: string };
    }
  | {
      ok: false;
      /** The first bad position in the chain. */
      seq: number;
      /**
       * - altered: the event stored at seq does not match its hash (its content was edited);
       * - removed: the event that belonged at seq is gone (a gap in seq, the tail cut off, the
       *   rows after it renumbered, or it was replaced by an event with a recomputed hash, so the
       *   next event's prevHash no longer names it);
       * - reordered: the event stored at seq is an intact event from another position;
       * - anchor-missing: the chain is keyed but its anchor file is gone or unreadable.
       */
      problem: AuditProblem;
      /** One English sentence for the admin. */
      detail: string;
    };

export interface AuditStore {
  /**
   * Appends one event atomically: assigns the next seq and chains it to the last event. Safe
   * when several processes (the gateway, the CLI) share the store. Returns the stored event.
   */
  append(event: NewAuditEvent): Promise<AuditEvent>;
  /** Appends several events, in order, in one transaction (one write to disk for the batch). */
  appendMany(events: NewAuditEvent[]): Promise<AuditEvent[]>;
  /** Events matching the filter, in chain order (seq ascending) unless `order: 'desc'`. */
  list(filter?: AuditFilter): Promise<AuditEvent[]>;
  /** How many events match the filter (its order, offset and limit are ignored): for paging. */
  count(filter?: AuditFilter): Promise<number>;
  /** Walks the whole chain, holds it against its anchor (and `expect`), and names the first bad event. */
  verify(options?: VerifyOptions): Promise<AuditVerification>;
  /** The last event appended. */
  head(): Promise<AuditHead>;
  close(): Promise<void>;
}
