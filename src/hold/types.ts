import type { Envelope } from '../message/envelope.js';
import type { Finding } from '../policy/verdict.js';

/** 遵守事項 第6-1: a message kept until its sender (or an approver) confirms it. */
export type HoldState = 'held' | 'released' | 'discarded' | 'expired';

/** What happens when nobody acts before the deadline. */
export type DeadlineAction = { action: 'discard' } | { action: 'send' } | { action: 'escalate'; to: string };

export interface HoldAttachment {
  name: string;
  size: number;
  sha256: string;
}

/** A recipient as the confirmation shows it, with what makes it worth a second look. */
export interface HoldRecipient {
  address: string;
  external: boolean;
  firstTimeDomain: boolean;
  /** The internal or partner domain this one looks like, when lookalike-domain found it. */
  lookalikeOf?: string;
}

/** One hold as stored (the message itself is stored sealed, see HoldStore.raw). */
export interface Hold {
  id: string;
  state: HoldState;
  envelope: Envelope;
  subject: string;
  /** The first characters of the text body, for the notice and the page. */
  bodyStart: string;
  recipients: HoldRecipient[];
  attachments: HoldAttachment[];
  findings: Finding[];
  createdAt: number;
  deadline: number;
  onDeadline: DeadlineAction;
  /** Approvers (上長承認) who get the release link instead of the sender; empty: the sender. */
  approvers: string[];
  decidedAt?: number;
  /** Who released or discarded it: an address, "cli", "deadline". */
  decidedBy?: string;
  /** The sender pressed 間違いだった / this was a mistake. */
  mistake?: boolean;
  /** When the retention erased the message, and after how many days from the decision (retention.bodyDays). */
  bodyErased?: { at: number; days: number };
}

/** Why a release link does not work. */
export type TokenProblem = 'forged' | 'expired' | 'used' | 'unknown';

/** The held message cannot be opened whole (damaged, or sealed under another key): it cannot be sent, and stays held. */
export type DamagedMessage = 'damaged';

/** Who is acting through a release link. */
export interface Actor {
  /** The address the link was sent to (the sender, or an approver). */
  address: string;
  role: 'sender' | 'approver';
}

/**
 * What the release page (and the JSON API, and the CLI) may do with holds. Implemented by
 * src/hold/service.ts; the web layer knows nothing else of holds.
 */
export interface HoldActions {
  /** Checks a release-link token: HMAC-signed, valid until the hold's deadline, usable for one decision. */
  open(token: string): Promise<{ hold: Hold; actor: Actor; bodyText: string } | { problem: TokenProblem | DamagedMessage }>;
  /** Sends the held message the way direct mail goes (encrypted ZIP, split), through the durable outbox. Consumes the token. */
  release(token: string): Promise<{ hold: Hold } | { problem: TokenProblem | 'not-held' | DamagedMessage }>;
  /** Discards it (mistake: the sender reports it was a mistake). Consumes the token. */
  discard(token: string, options: { mistake: boolean }): Promise<{ hold: Hold } | { problem: TokenProblem | 'not-held' }>;
}

/**
 * What the reviewer pages may do with holds by id: read one, and (for admins; the pages check the
 * role) release or discard it, recorded as decided by `actor` (`web:<username>`). Implemented by
 * src/hold/service.ts.
 */
export interface HoldAdmin {
  get(id: string): Promise<Hold | null>;
  /** The holds waiting for a decision: how many, and the `limit` oldest, oldest first (the dashboard). */
  waiting(limit: number): Promise<{ total: number; oldest: Hold[] }>;
  releaseById(id: string, actor: string): Promise<{ hold: Hold } | { problem: 'unknown' | 'not-held' | DamagedMessage }>;
  discardById(id: string, actor: string): Promise<{ hold: Hold } | { problem: 'unknown' | 'not-held' }>;
}
