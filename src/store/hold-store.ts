import type { DeadlineAction, Hold, HoldState } from '../hold/types.js';
import type { EncryptionSettings } from '../policy/encryption.js';
import type { ByteSource, Bytes } from '../message/source.js';

/**
 * Storage of confirmation holds (遵守事項 第6-1). This is the contract; the SQLite backend is
 * sqlite-holds.ts.
 *
 * Life of a hold:
 *
 *   create ──► 'held' ──transition──► 'released'   (markDispatched once the copies are in the outbox)
 *                 │    ──transition──► 'discarded'
 *                 │    ──transition──► 'expired'
 *                 └──escalate──► 'held' with a later deadline, another approver, discard at the new deadline
 *
 * Retention: a decided hold keeps its message (sealed) for retention.bodyDays, so that a mistake
 * or an incident (遵守事項 第2) can still be looked into; then eraseBodies erases it. A released
 * hold is never erased before its copies are in the outbox.
 *
 * A transition happens only from 'held', atomically: of two decisions made at the same time (the
 * sender's page and an admin's CLI, two gateway processes at the deadline) exactly one wins, and
 * the other gets null.
 *
 * The message (`raw`, in chunks: sealed-chunks.ts) and the start of its body are stored sealed
 * (AES-256-GCM, sealed.ts, bound to the hold id) and erased by eraseBodies; everything else (ids, envelope, subject,
 * recipients, attachment names/sizes/SHA-256, findings, deadline, approvers, state, decision) is
 * metadata in clear, for admins' queries and the compliance log.
 */

/** What a release needs besides the message: the policy's settings when the message was held. */
export interface ReleaseSettings {
  /** Attachments that are not inline images (Judgement.attachments). */
  attachments: number;
  /** The policy's encryption settings from the same policy version as the verdict. */
  encryption: EncryptionSettings;
}

export interface NewHold extends Omit<Hold, 'state' | 'decidedAt' | 'decidedBy' | 'mistake'> {
  /** The message exactly as received (read once, front to back). Stored sealed in chunks; erased after retention. */
  raw: Bytes;
  /** Keyed digest of the envelope and bytes: the same message sent again is recognised (findByDigest). */
  digest?: string;
  releaseWith: ReleaseSettings;
}

/** A hold as stored, with what the service needs besides the Hold the pages see. */
export interface StoredHold extends Hold {
  /** Whether the sealed message is still stored (false once erased). */
  hasRaw: boolean;
  releaseWith: ReleaseSettings;
  /** Which release link made the decision ('s' sender, 'a0', 'a1', … approvers), when one did. */
  decidedWithLink?: string;
  /** The process that decided, when recorded. */
  decidedRunner?: string;
  /** Released: when its copies were handed to the outbox (then the message was erased). */
  dispatchedAt?: number;
  /** Why a released hold could not be sent, if it could not (the message was erased). */
  dispatchError?: string;
  /** When the confirmation notice(s) were queued. */
  notifiedAt?: number;
  /** How many times the deadline escalated it. */
  escalations: number;
}

/** A decided hold whose message eraseBodies erased. */
export interface ErasedBody {
  id: string;
  state: Exclude<HoldState, 'held'>;
  decidedAt: number;
}

export interface Decision {
  /** An address, "cli", "deadline". */
  by: string;
  at: number;
  mistake?: boolean;
  /** The audience of the release link used ('s', 'a0', …), marking that link used. */
  link?: string;
  /** The process that decided (host:pid:…): another one on this host may finish its release at once when it is gone. */
  runner?: string;
}

export interface HoldFilter {
  state?: HoldState;
  /** Default 1000. */
  limit?: number;
}

export interface Escalation {
  deadline: number;
  onDeadline: DeadlineAction;
  approvers: string[];
}

export interface HoldStore {
  /** Stores a new hold in state 'held'. Throws DuplicateHoldError if the id exists, KnownMessageError if its digest does. */
  create(hold: NewHold): Promise<void>;
  /** The id of the hold stored with this digest; null when none. */
  findByDigest(digest: string): Promise<string | null>;
  get(id: string): Promise<StoredHold | null>;
  /**
   * The message, read by offsets a chunk at a time (every chunk opened once first); null once
   * erased or when there is no such hold. Throws SealedDataError when it cannot be opened whole.
   */
  message(id: string): Promise<ByteSource | null>;
  /** Erases message bytes that no stored hold names (left by a crash while they were written). */
  sweep(now?: number): Promise<number>;
  /** Oldest first. */
  list(filter?: HoldFilter): Promise<StoredHold[]>;
  /**
   * 'held' → `to`, atomically, recording the decision; the message stays until eraseBodies. Null
   * when the hold is not 'held' (already decided) or does not exist.
   */
  transition(id: string, to: Exclude<HoldState, 'held'>, decision: Decision): Promise<StoredHold | null>;
  /** A released hold's copies are in the outbox (or, with `error`, can never be sent). */
  markDispatched(id: string, at: number, error?: string): Promise<boolean>;
  /**
   * Erases the message and body start of holds decided before `decidedBefore` (released ones only
   * once dispatched), recording when and after how many days; at most `limit`, oldest first.
   * Returns what it erased. Call scrub() afterwards.
   */
  eraseBodies(decidedBefore: number, erasure: { at: number; days: number }, limit?: number): Promise<ErasedBody[]>;
  /** Released holds whose copies were not yet handed to the outbox (a crash or an error in between). */
  undispatched(limit?: number): Promise<StoredHold[]>;
  /** The confirmation notice(s) of a hold were queued. */
  markNotified(id: string, at: number): Promise<void>;
  /** Held holds created before `createdBefore` whose confirmation was never queued (a crash in between). */
  unnotified(createdBefore: number, limit?: number): Promise<StoredHold[]>;
  /**
   * Moves a held hold's deadline (the escalate action): only while it is still held and its
   * deadline is still `expectedDeadline`, so two processes never escalate it twice. Null otherwise.
   */
  escalate(id: string, expectedDeadline: number, change: Escalation): Promise<StoredHold | null>;
  /** The earliest deadline of a held hold; null if none. */
  nextDeadline(): Promise<number | null>;
  /** Held holds whose deadline is ≤ now, earliest first. */
  due(now: number, limit?: number): Promise<StoredHold[]>;
  /** Number of holds in each state. */
  counts(): Promise<Record<HoldState, number>>;
  /** Makes erased messages unrecoverable from the backend's files as far as it can (SQLite: truncate the WAL). */
  scrub(): Promise<void>;
  close(): Promise<void>;
}

export class DuplicateHoldError extends Error {
  constructor(readonly id: string) {
    super(`hold ${id} already exists`);
    this.name = 'DuplicateHoldError';
  }
}

export const HOLD_STATES: readonly HoldState[] = ['held', 'released', 'discarded', 'expired'];
