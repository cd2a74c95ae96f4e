import type { Logger } from '../log.js';
import type { Envelope } from '../message/envelope.js';
import { ID_HEADER, prependHeader } from '../message/headers.js';
import { newMessageId } from '../message/id.js';
import { MessageModel } from '../message/model.js';
import type { EncryptionSettings } from '../policy/encryption.js';
import { type DeliveryPlan, planDelivery } from '../delivery/plan.js';
import { crashPoint } from '../util/crash-point.js';
import { newRunnerId, runnerGone } from '../util/runner.js';
import { messageDigest } from '../message/digest.js';
import { KnownMessageError } from '../store/known-message.js';
import { messageDigestKey } from '../store/secret-key.js';
import type { Finding, Verdict } from '../policy/verdict.js';
import type { ErasedBody, HoldStore, StoredHold } from '../store/hold-store.js';
import { DuplicateJobError, type OutboxStore } from '../store/outbox-store.js';
import { bodyStartOf, bodyTextOf, recipientsOf } from './content.js';
import { type NoticeFormat, type OutcomeKind, composeConfirmNotice, composeOutcomeNotice, composeWaitingNotice } from './notices.js';
import { HoldTokens, approverAudience, approverIndex } from './token.js';
import type { Actor, DamagedMessage, DeadlineAction, Hold, HoldActions, HoldAdmin, HoldRecipient, TokenProblem } from './types.js';
import { InFlight } from '../util/in-flight.js';
import type { ByteSource } from '../message/source.js';
import { SealedDataError } from '../store/sealed.js';
import type { Mailbox } from '../message/mailbox.js';

/**
 * Where a released hold goes: DeliveryPipeline.enqueue — the plan direct mail gets (planDelivery),
 * every copy and password notice into the durable outbox in one transaction.
 */
export interface HoldReleaser {
  enqueue(plan: DeliveryPlan): Promise<void>;
}

/** The hold part of a policy verdict (Verdict.hold); absent: 24 hours, then discard, no approvers. */
export type HoldRule = NonNullable<Verdict['hold']>;
export const DEFAULT_HOLD_RULE: HoldRule = { deadlineHours: 24, onDeadline: { action: 'discard' }, approvers: [] };

export interface HoldInput {
  /** The gateway's message id; the hold's id, and the X-Outguard-Id of the (first) copy sent on release. */
  id: string;
  /** The message model the verdict was reached on (Judgement.message): stored are its bytes, shown its bodies and files. */
  message: MessageModel;
  envelope: Envelope;
  /** The verdict: its findings (shown and stored) and its hold rule (deadline, action, approvers). */
  verdict: { findings: Finding[]; hold?: HoldRule };
  /** The policy's encryption settings of the same policy version (Judgement.encryption); used on release. */
  encryption: EncryptionSettings;
  /** Recipients with their flags; default: worked out from the envelope, the findings and isInternal. */
  recipients?: HoldRecipient[];
  /** Awaited before a new hold is stored (the gateway makes its audit event durable); a rejection stores nothing. */
  beforeStore?: () => Promise<void>;
}

export interface HoldServiceOptions {
  store: HoldStore;
  /** The outbox's store: notices are queued here (kind 'notice', ref = hold id). */
  outboxStore: OutboxStore;
  /** The outbox runner, kicked after a notice was queued (the CLI passes an idle one). */
  outbox: { kick(): void };
  releaser: HoldReleaser;
  logger: Logger;
  /** The data-at-rest key (loadSecretKey); the token key is derived from it. */
  key: Buffer;
  /** Told of every decision (for the audit log): the hold as decided, and who decided it. */
  onDecision?: (hold: Hold, state: 'released' | 'discarded' | 'expired' | 'escalated', actor: string) => void | Promise<void>;
  /** retention.bodyDays: a decided hold's message is erased this many days after the decision. Default 7. */
  bodyDays?: number;
  /** Told of every message the retention erased (for the audit log). */
  onPurged?: (erased: ErasedBody, days: number) => void;
  /** web.publicUrl: links are `${publicUrl}/hold/${token}`. */
  publicUrl: string;
  /** notices.from: who the notices to senders come from. */
  noticeFrom: Mailbox;
  /** Whether a recipient domain is internal (organization.internalDomains). */
  isInternal: (domain: string) => boolean;
  now?: () => number;
  /** Time zone of the times in the Japanese text of notices. Default Asia/Tokyo. */
  timeZone?: string;
  /** Characters of the body shown in the notice. Default 400. */
  bodyStartChars?: number;
  /** How soon a failed step (queueing a released message or a notice) is tried again. Default 60 s. */
  retryMs?: number;
  /**
   * Work another process may be doing right now (a CLI release between its decision and its
   * queueing) is left alone this long before it is taken over — unless that process is known to
   * be gone (a process of this host that no longer runs): then at once. Default 30 s.
   */
  graceMs?: number;
  /** The longest time between two looks at the store, for what other processes decided. Default 5 s. */
  pollMs?: number;
}

/** What hold() did: stored the message, or recognised it as one held before (the client sent it again). */
export interface HoldResult {
  hold: Hold;
  repeated: boolean;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MAX_TIMER = 2 ** 31 - 1;
/** The shortest time a hold waits (and an escalation adds). */
const MIN_DEADLINE_MS = 1000;

type Checked = { stored: StoredHold; actor: Actor; audience: string };
type DecideProblem = TokenProblem | 'not-held';

/**
 * The confirmation hold (遵守事項 第6-1): stores held messages, sends the confirmation notices,
 * carries out the decisions made through release links (HoldActions, for the web pages), by
 * admins (the CLI) and by deadlines, and always tells the sender what happened.
 *
 * Deadlines: one unref'd timer for the earliest deadline, re-armed after every change; start()
 * first handles every hold whose deadline passed while outguard was down. At the deadline:
 * - `discard`: the hold expires (state 'expired');
 * - `send`: it is released as "deadline" (state 'released', decidedBy 'deadline');
 * - `escalate` to an address: the address becomes an approver and gets a confirmation with a fresh
 *   link, the deadline moves on by the hold's original duration, and the action at the new
 *   deadline is `discard` (so a hold escalates once and never waits for ever). Links sent before
 *   expire at the old deadline.
 * In every case the sender gets a notice (hold-expired / hold-released / hold-escalated).
 *
 * Release: the decision is recorded first (held → released, atomically — a second decision
 * fails), then the message goes to Dispatcher.enqueue, then the hold is marked dispatched. A crash or
 * error in between is finished by the next timer pass or start(): a released hold whose copies are
 * not in the outbox is queued again (never twice: the outbox refuses a second job with the hold's id).
 *
 * Retention: a decided hold's message stays sealed for bodyDays (to look into a mistake or an
 * incident), then the timer pass erases it (purgeBodies).
 */
export class HoldService implements HoldActions, HoldAdmin {
  private readonly store: HoldStore;
  private readonly outboxStore: OutboxStore;
  private readonly outbox: { kick(): void };
  private readonly releaser: HoldReleaser;
  private readonly logger: Logger;
  private readonly onDecision: NonNullable<HoldServiceOptions['onDecision']>;
  private readonly onPurged: NonNullable<HoldServiceOptions['onPurged']>;
  private readonly bodyDays: number;
  private readonly tokens: HoldTokens;
  private readonly publicUrl: string;
  private readonly isInternal: (domain: string) => boolean;
  private readonly noticeFrom: Mailbox;
  private readonly now: () => number;
  private readonly format: NoticeFormat;
  private readonly bodyStartChars: number;
  private readonly retryMs: number;
  private readonly graceMs: number;
  private readonly pollMs: number;
  private readonly runnerId = newRunnerId();
  private readonly digestKey: Buffer;

  private started = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** When the next retention pass is due (ms): at start, then hourly. */
  private nextPurge = 0;
  /** When the timer fires (ms), while it is set. */
  private armedAt: number | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  /** Holds this process is deciding right now: the timer pass leaves them alone. */
  private readonly busy = new Set<string>();
  private readonly runs = new InFlight();

  constructor(options: HoldServiceOptions) {
    this.store = options.store;
    this.outboxStore = options.outboxStore;
    this.outbox = options.outbox;
    this.releaser = options.releaser;
    this.noticeFrom = options.noticeFrom;
    this.logger = options.logger;
    this.onDecision = options.onDecision ?? (() => undefined);
    this.onPurged = options.onPurged ?? (() => undefined);
    this.bodyDays = options.bodyDays ?? 7;
    this.tokens = new HoldTokens(options.key);
    this.publicUrl = options.publicUrl.replace(/\/+$/, '');
    this.isInternal = options.isInternal;
    this.now = options.now ?? Date.now;
    this.format = { from: options.noticeFrom, timeZone: options.timeZone };
    this.bodyStartChars = options.bodyStartChars ?? 400;
    this.retryMs = options.retryMs ?? 60_000;
    this.graceMs = options.graceMs ?? 30_000;
    this.pollMs = options.pollMs ?? 5_000;
    this.digestKey = messageDigestKey(options.key);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Handles what is overdue (deadlines passed while down, unfinished releases), then arms the timer. */
  async start(): Promise<void> {
    if (this.started) return;
    if (this.stopped) throw new Error('the hold service was stopped; create a new one');
    this.started = true;
    const counts = await this.store.counts();
    const next = await this.store.nextDeadline();
    this.logger.info({ held: counts.held, nextDeadline: next === null ? null : new Date(next).toISOString() }, 'holds started');
    await this.runTick();
  }

  /** Stops the timer and waits for the work in flight. Does not close the stores. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = undefined;
    await this.runs.drain();
  }

  // ---- holding ------------------------------------------------------------------------------

  /**
   * Stores the message (sealed) and queues the confirmation: one notice with the release link to
   * the sender — or, when the hold rule names approvers (上長承認), one to each approver (each with
   * a link of their own, so the audit says who released) and a short "waiting for approval"
   * notice without a link to the sender. Resolves once the hold is stored: then answer 250.
   * (A message that cannot be taken apart — ambiguous, signed over its files — is held like any
   * other; released, it goes whole into the ZIP: see planDelivery.)
   */
  async hold(input: HoldInput): Promise<HoldResult> {
    const { message } = input;
    // the client may send a message again after a lost answer: it is held once, and answered the same
    const digest = messageDigest(this.digestKey, input.envelope, message.source);
    const known = await this.store.findByDigest(digest);
    if (known !== null) return this.repeated(known);
    const rule = input.verdict.hold ?? DEFAULT_HOLD_RULE;
    const attachments = message.files.map((f) => ({ name: f.filename, size: f.size, sha256: f.sha256 }));
    const recipients = input.recipients ?? recipientsOf(input.envelope, input.verdict.findings, this.isInternal);
    if (!(rule.deadlineHours > 0)) throw new RangeError(`hold ${input.id}: deadlineHours must be more than 0`);
    await input.beforeStore?.();
    const createdAt = this.now();
    try {
      await this.store.create({
        id: input.id,
        envelope: { from: input.envelope.from, to: [...input.envelope.to] },
        subject: message.subject,
        bodyStart: bodyStartOf(bodyTextOf(message), this.bodyStartChars),
        recipients,
        attachments,
        findings: input.verdict.findings,
        createdAt,
        deadline: createdAt + Math.max(MIN_DEADLINE_MS, Math.round(rule.deadlineHours * HOUR)),
        onDeadline: rule.onDeadline,
        approvers: [...new Set(rule.approvers)],
        raw: message.source,
        releaseWith: { attachments: attachments.length, encryption: input.encryption },
        digest,
      });
    } catch (err) {
      if (err instanceof KnownMessageError) return this.repeated(err.ref);
      throw err;
    }
    const stored = (await this.store.get(input.id))!;
    this.logger.info(
      {
        hold: stored.id,
        from: stored.envelope.from,
        rcptCount: stored.envelope.to.length,
        deadline: new Date(stored.deadline).toISOString(),
        onDeadline: stored.onDeadline.action,
        approvers: stored.approvers,
        rules: [...new Set(stored.findings.filter((f) => f.severity === 'hold').map((f) => f.rule))],
      },
      'message held',
    );
    try {
      await this.sendConfirmations(stored);
    } catch (err) {
      // the hold is stored; the timer pass queues the confirmation again (unnotified)
      this.logger.error({ hold: stored.id, err: errorText(err) }, 'cannot queue the confirmation notice; will retry');
      this.retryLater();
    }
    this.rearm(stored.deadline);
    return { hold: toHold(stored), repeated: false };
  }

  private async repeated(id: string): Promise<HoldResult> {
    this.logger.info({ hold: id }, 'the client sent a held message again: it stays held once');
    return { hold: toHold((await this.store.get(id))!), repeated: true };
  }

  // ---- HoldActions (release links) ------------------------------------------------------------

  async open(token: string): Promise<{ hold: Hold; actor: Actor; bodyText: string } | { problem: TokenProblem | DamagedMessage }> {
    const checked = await this.check(token);
    if ('problem' in checked) {
      // the web layer shows a decided hold's state, never its message
      if (checked.decided) return { hold: toHold(checked.decided.stored), actor: checked.decided.actor, bodyText: '' };
      return { problem: checked.problem === 'not-held' ? 'used' : checked.problem };
    }
    const raw = await this.messageOf(checked.stored.id);
    if (raw === 'damaged') return { problem: raw };
    if (!raw) return { problem: 'used' };
    const message = MessageModel.parse(raw, checked.stored.releaseWith.encryption);
    return { hold: toHold(checked.stored), actor: checked.actor, bodyText: bodyTextOf(message) };
  }

  async release(token: string): Promise<{ hold: Hold } | { problem: DecideProblem | DamagedMessage }> {
    const checked = await this.check(token);
    if ('problem' in checked) return { problem: checked.problem };
    return this.releaseHold(checked.stored, checked.actor.address, checked.actor.role, checked.audience);
  }

  async discard(token: string, options: { mistake: boolean }): Promise<{ hold: Hold } | { problem: DecideProblem }> {
    const checked = await this.check(token);
    if ('problem' in checked) return { problem: checked.problem };
    return this.discardHold(checked.stored, 'discarded', checked.actor.address, checked.actor.role, { mistake: options.mistake, link: checked.audience });
  }

  // ---- admin (CLI, reviewer pages) -------------------------------------------------------------

  /** A hold by id, as stored (its metadata; the message itself is not part of it). */
  async get(id: string): Promise<Hold | null> {
    const stored = await this.store.get(id);
    return stored ? toHold(stored) : null;
  }

  async waiting(limit: number): Promise<{ total: number; oldest: Hold[] }> {
    const [counts, oldest] = await Promise.all([this.store.counts(), this.store.list({ state: 'held', limit })]);
    return { total: counts.held, oldest: oldest.map(toHold) };
  }

  /** Releases a hold by id (`outguard held release`): decidedBy `actor` (default "cli"). */
  async releaseById(id: string, actor = 'cli'): Promise<{ hold: Hold } | { problem: 'unknown' | 'not-held' | DamagedMessage }> {
    const stored = await this.store.get(id);
    if (!stored) return { problem: 'unknown' };
    if (stored.state !== 'held') return { problem: 'not-held' };
    const r = await this.releaseHold(stored, actor, 'admin');
    return 'problem' in r ? { problem: r.problem === 'damaged' ? 'damaged' : 'not-held' } : r;
  }

  /** Discards a hold by id (`outguard held discard`): decidedBy `actor` (default "cli"). */
  async discardById(id: string, actor = 'cli', options: { mistake?: boolean } = {}): Promise<{ hold: Hold } | { problem: 'unknown' | 'not-held' }> {
    const stored = await this.store.get(id);
    if (!stored) return { problem: 'unknown' };
    if (stored.state !== 'held') return { problem: 'not-held' };
    const r = await this.discardHold(stored, 'discarded', actor, 'admin', { mistake: options.mistake });
    return 'problem' in r ? { problem: 'not-held' } : r;
  }

  /** The release link for one audience of a hold (for tests and tools; never logged). */
  linkFor(hold: Pick<Hold, 'id' | 'deadline'>, audience = 's'): string {
    return `${this.publicUrl}/hold/${this.tokens.issue({ holdId: hold.id, audience, expiry: hold.deadline })}`;
  }

  // ---- decisions ------------------------------------------------------------------------------

  /**
   * A token's hold and actor. Problems: forged (format, MAC), unknown (no such hold), used (the
   * hold was decided with this link), expired (past the link's expiry), not-held (decided another way).
   */
  private async check(token: string): Promise<Checked | { problem: DecideProblem; decided?: Checked }> {
    const claims = this.tokens.verify(token);
    if ('problem' in claims) return claims;
    const stored = await this.store.get(claims.holdId);
    if (!stored) return { problem: 'unknown' };
    const index = approverIndex(claims.audience);
    const address = index === undefined ? stored.envelope.from : stored.approvers[index];
    if (address === undefined) return { problem: 'unknown' };
    const checked: Checked = { stored, actor: { address, role: index === undefined ? 'sender' : 'approver' }, audience: claims.audience };
    if (stored.state !== 'held') {
      // once the retention erased the body, any genuine link shows what became of the message
      if (stored.bodyErased) return { problem: 'not-held', decided: checked };
      if (stored.decidedWithLink === claims.audience) return { problem: 'used' };
      // decided another way (CLI, deadline, another approver): the page shows what became of it
      return this.now() >= claims.expiry ? { problem: 'expired' } : { problem: 'not-held', decided: checked };
    }
    if (this.now() >= claims.expiry) return { problem: 'expired' };
    return checked;
  }

  /** After a transition was refused: why (used by this link, or decided otherwise). */
  private async lost(id: string, link: string | undefined): Promise<{ problem: DecideProblem }> {
    const now = await this.store.get(id);
    return { problem: link !== undefined && now?.decidedWithLink === link ? 'used' : 'not-held' };
  }

  /**
   * A hold's stored message, every chunk opened once; 'damaged' (logged) when that fails: such a
   * message is never sent, and the hold stays held for an admin to look at.
   */
  private async messageOf(id: string): Promise<ByteSource | null | DamagedMessage> {
    try {
      return await this.store.message(id);
    } catch (err) {
      if (!(err instanceof SealedDataError)) throw err;
      this.logger.error({ hold: id, err: errorText(err) }, 'the stored message of a hold cannot be opened: it is not sent');
      return 'damaged';
    }
  }

  private async releaseHold(stored: StoredHold, by: string, role: string, link?: string): Promise<{ hold: Hold } | { problem: DecideProblem | DamagedMessage }> {
    this.busy.add(stored.id);
    try {
      const raw = await this.messageOf(stored.id);
      if (raw === 'damaged') return { problem: raw };
      if (!raw) {
        // decided and erased meanwhile by another request or process
        const now = await this.store.get(stored.id);
        if (now && now.state !== 'held') return await this.lost(stored.id, link);
        throw new Error(`hold ${stored.id} is held but its message is missing`);
      }
      const decided = await this.store.transition(stored.id, 'released', { by, at: this.now(), runner: this.runnerId, ...(link !== undefined ? { link } : {}) });
      if (!decided) return await this.lost(stored.id, link);
      this.logger.info({ hold: decided.id, state: 'released', actor: by, role }, 'hold released');
      // on record before its copies are queued (each copy's own event is stored when it is sent)
      await this.recordDecision(decided, 'released', by);
      crashPoint('release:decided');
      await this.completeRelease(decided, raw);
      this.rearm();
      return { hold: toHold((await this.store.get(stored.id))!) };
    } finally {
      this.busy.delete(stored.id);
    }
  }

  private async recordDecision(hold: StoredHold, state: 'released' | 'discarded' | 'expired', by: string): Promise<void> {
    try {
      await this.onDecision(toHold(hold), state, by);
    } catch (err) {
      this.logger.error({ hold: hold.id, state, err: errorText(err) }, 'cannot record the decision on a hold in the audit log');
    }
  }

  private async discardHold(
    stored: StoredHold,
    state: 'discarded' | 'expired',
    by: string,
    role: string,
    options: { mistake?: boolean; link?: string },
  ): Promise<{ hold: Hold } | { problem: DecideProblem }> {
    this.busy.add(stored.id);
    try {
      const decided = await this.store.transition(stored.id, state, {
        runner: this.runnerId,
        by,
        at: this.now(),
        ...(options.mistake !== undefined ? { mistake: options.mistake } : {}),
        ...(options.link !== undefined ? { link: options.link } : {}),
      });
      if (!decided) return await this.lost(stored.id, options.link);
      this.logger.info({ hold: decided.id, state, actor: by, role, ...(decided.mistake ? { mistake: true } : {}) }, `hold ${state}`);
      await this.recordDecision(decided, state, by);
      await this.tellSender(decided, state);
      this.rearm();
      return { hold: toHold(decided) };
    } finally {
      this.busy.delete(stored.id);
    }
  }

  /**
   * Hands a released hold to the dispatcher unless its copies are in the outbox already, erases
   * the message, and tells the sender. On an error the hold stays released-not-queued and the
   * timer pass tries again.
   */
  private async completeRelease(hold: StoredHold, raw: ByteSource): Promise<boolean> {
    const { id } = hold;
    let encrypted = false;
    try {
      const queued = (await this.outboxStore.list({ ref: id, limit: 1000 })).filter((j) => j.kind === 'message');
      if (queued.length > 0) {
        this.logger.warn({ hold: id, jobs: queued.map((j) => j.id) }, 'released hold was already queued (finishing an interrupted release)');
      } else {
        // The hold itself was the confirmation: attachments that are already encrypted travel
        // as they are even where the policy holds them (alreadyEncrypted: hold).
        const encryption: EncryptionSettings = { ...hold.releaseWith.encryption, alreadyEncrypted: 'pass' };
        const message = MessageModel.parse(raw, encryption);
        const plan = await planDelivery({ id, message, envelope: hold.envelope, settings: encryption, isInternal: this.isInternal, noticeFrom: this.noticeFrom });
        await this.releaser.enqueue(plan);
        encrypted = plan.copies.some((c) => c.encrypted);
        this.logger.info({ hold: id, copies: plan.copies.map((c) => ({ id: c.id, to: c.envelope.to, encrypted: c.encrypted?.form ?? false })) }, 'released hold queued');
      }
      await this.store.markDispatched(id, this.now());
    } catch (err) {
      if (err instanceof DuplicateJobError) {
        // another process queued it at the same moment: it is in the outbox once
        await this.store.markDispatched(id, this.now());
        this.logger.warn({ hold: id }, 'released hold was queued by another process');
        return true;
      }
      this.logger.error({ hold: id, err: errorText(err) }, 'cannot queue the released hold; will retry');
      this.retryLater();
      return false;
    }
    await this.tellSender(hold, 'released', { encrypted });
    return true;
  }

  // ---- retention ------------------------------------------------------------------------------

  /**
   * Erases the messages of holds decided more than bodyDays ago (the audit events stay), scrubs
   * the store so the bytes are gone from its files, and reports each erasure. Runs from the timer
   * at start and hourly; returns how many were erased.
   */
  async purgeBodies(): Promise<number> {
    const now = this.now();
    let erased = 0;
    for (;;) {
      const batch = await this.store.eraseBodies(now - this.bodyDays * DAY, { at: now, days: this.bodyDays }, 500);
      erased += batch.length;
      for (const e of batch) this.onPurged(e, this.bodyDays);
      if (batch.length < 500) break;
    }
    if (erased > 0) {
      await this.scrub();
      this.logger.info({ erased, bodyDays: this.bodyDays }, 'retention: erased the messages of decided holds');
    }
    // message bytes a crash left unnamed (written, their hold never committed)
    const swept = await this.store.sweep(now);
    if (swept > 0) this.logger.info({ chunks: swept }, 'erased held-message chunks no hold names (left by an interrupted run)');
    return erased;
  }

  // ---- deadlines ------------------------------------------------------------------------------

  /**
   * Re-arms the deadline timer after a change: with `deadline` (a new hold), only when it comes
   * before the time the timer is set for; without, a pass now recomputes everything.
   */
  private rearm(deadline?: number): void {
    if (!this.started || this.stopped) return;
    if (deadline === undefined) return this.schedule(0);
    if (this.ticking) {
      this.again = true; // the pass in flight may have read the next deadline before this one
      return;
    }
    if (this.armedAt !== undefined && this.armedAt <= deadline) return;
    this.schedule(deadline - this.now());
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const delay = Math.min(Math.max(0, delayMs), MAX_TIMER);
    this.armedAt = this.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedAt = undefined;
      void this.runTick();
    }, delay);
    this.timer.unref();
  }

  /** A step failed outside the timer pass: make sure a pass runs within retryMs. */
  private retryLater(): void {
    if (!this.started || this.stopped || this.ticking) return;
    if (this.armedAt === undefined || this.armedAt > this.now() + this.retryMs) this.schedule(this.retryMs);
  }

  private runTick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.again = false;
    const run = this.track(this.tick()).finally(() => {
      this.ticking = undefined;
      if (this.again) this.schedule(0);
    });
    this.ticking = run;
    return run;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    return this.runs.track(p);
  }

  /** One pass: overdue deadlines, unfinished releases, unsent confirmations; then the timer for what is next. */
  private async tick(): Promise<void> {
    let retry = false;
    let more = false;
    try {
      const now = this.now();
      const due = await this.store.due(now, 100);
      more = due.length === 100;
      for (const hold of due) {
        if (this.stopped) return;
        if (this.busy.has(hold.id)) continue;
        try {
          await this.onDeadline(hold);
        } catch (err) {
          retry = true;
          this.logger.error({ hold: hold.id, err: errorText(err) }, 'cannot carry out the deadline action; will retry');
        }
      }
      for (const hold of await this.store.undispatched(100)) {
        if (this.stopped) return;
        if (this.busy.has(hold.id)) continue;
        // another process may be queueing it right now, unless it is known to be gone
        if ((hold.decidedAt ?? 0) > now - this.graceMs && !(hold.decidedRunner !== undefined && runnerGone(hold.decidedRunner, this.runnerId))) {
          retry = true;
          continue;
        }
        this.busy.add(hold.id);
        try {
          const raw = await this.messageOf(hold.id);
          if (raw === 'damaged') await this.store.markDispatched(hold.id, this.now(), 'the stored message was damaged: not sent');
          else if (!raw) await this.store.markDispatched(hold.id, this.now(), 'the message was missing');
          else if (!(await this.completeRelease(hold, raw))) retry = true;
        } catch (err) {
          retry = true;
          this.logger.error({ hold: hold.id, err: errorText(err) }, 'cannot finish the release; will retry');
        } finally {
          this.busy.delete(hold.id);
        }
      }
      for (const hold of await this.store.unnotified(now - this.graceMs, 100)) {
        if (this.stopped) return;
        if (this.busy.has(hold.id)) continue;
        try {
          this.logger.warn({ hold: hold.id }, 'confirmation of a held message was never queued; queueing it now');
          await this.sendConfirmations(hold);
        } catch (err) {
          retry = true;
          this.logger.error({ hold: hold.id, err: errorText(err) }, 'cannot queue the confirmation notice; will retry');
        }
      }
      if ((await this.store.unnotified(this.now(), 1)).length > 0) retry = true;
      if (now >= this.nextPurge) {
        await this.purgeBodies();
        this.nextPurge = now + HOUR;
      }
    } catch (err) {
      retry = true;
      this.logger.error({ err: errorText(err) }, 'hold timer pass failed; trying again later');
    }
    if (this.stopped) return;
    if (more) return this.schedule(0);
    let next: number | null = null;
    try {
      next = await this.store.nextDeadline();
    } catch (err) {
      retry = true;
      this.logger.error({ err: errorText(err) }, 'cannot read the next hold deadline');
    }
    // look again within pollMs at the latest: other processes (the CLI, another node) decide too
    let delay = Math.min(next === null ? MAX_TIMER : next - this.now(), this.nextPurge - this.now(), this.pollMs);
    if (retry) delay = Math.min(delay, this.retryMs);
    this.schedule(delay);
  }

  private async onDeadline(hold: StoredHold): Promise<void> {
    const action: DeadlineAction = hold.onDeadline;
    if (action.action === 'send') {
      const r = await this.releaseHold(hold, 'deadline', 'deadline');
      // a message that cannot be sent is not kept waiting past its deadline: it expires
      if ('problem' in r && r.problem === 'damaged') await this.discardHold(hold, 'expired', 'deadline', 'deadline', {});
      else if ('problem' in r) this.logger.info({ hold: hold.id }, 'deadline: the hold was decided meanwhile');
      return;
    }
    if (action.action === 'escalate') return this.escalate(hold, action.to);
    const r = await this.discardHold(hold, 'expired', 'deadline', 'deadline', {});
    if ('problem' in r) this.logger.info({ hold: hold.id }, 'deadline: the hold was decided meanwhile');
  }

  private async escalate(hold: StoredHold, to: string): Promise<void> {
    const duration = Math.max(hold.deadline - hold.createdAt, MIN_DEADLINE_MS);
    const approvers = hold.approvers.includes(to) ? hold.approvers : [...hold.approvers, to];
    const updated = await this.store.escalate(hold.id, hold.deadline, { deadline: this.now() + duration, onDeadline: { action: 'discard' }, approvers });
    if (!updated) {
      this.logger.info({ hold: hold.id }, 'deadline: the hold was decided or escalated meanwhile');
      return;
    }
    this.logger.info({ hold: hold.id, state: 'held', actor: 'deadline', escalatedTo: to, deadline: new Date(updated.deadline).toISOString() }, 'hold escalated');
    this.onDecision(toHold(updated), 'escalated', 'deadline');
    await this.confirm(updated, to, 'approver', approverAudience(approvers.indexOf(to)), true);
    await this.tellSender(updated, 'escalated', { escalatedTo: to });
  }

  // ---- notices --------------------------------------------------------------------------------

  private async sendConfirmations(hold: StoredHold): Promise<void> {
    const from = hold.envelope.from;
    if (hold.approvers.length > 0) {
      for (const [i, approver] of hold.approvers.entries()) await this.confirm(hold, approver, 'approver', approverAudience(i), false);
      if (from !== '' && !hold.approvers.includes(from)) await this.queueNotice(hold.id, from, await composeWaitingNotice(toHold(hold), this.format), 'hold-waiting');
    } else if (from !== '') {
      await this.confirm(hold, from, 'sender', 's', false);
    } else {
      this.logger.warn({ hold: hold.id }, 'held message has a null sender and no approvers: nobody can confirm it, the deadline decides');
    }
    await this.store.markNotified(hold.id, this.now());
  }

  private async confirm(hold: StoredHold, to: string, role: 'sender' | 'approver', audience: string, escalated: boolean): Promise<void> {
    const raw = await composeConfirmNotice({ hold: toHold(hold), to, role, link: this.linkFor(hold, audience), expiry: hold.deadline, escalated }, this.format);
    await this.queueNotice(hold.id, to, raw, 'confirm');
  }

  /** The sender is always told; a failure to queue the notice is logged, never loses the decision. */
  private async tellSender(hold: StoredHold, kind: OutcomeKind, extra: { encrypted?: boolean; escalatedTo?: string } = {}): Promise<void> {
    if (hold.envelope.from === '') {
      this.logger.warn({ hold: hold.id, outcome: kind }, 'held message has a null sender: nobody to tell');
      return;
    }
    try {
      const raw = await composeOutcomeNotice({ hold: toHold(hold), kind, ...extra }, this.format);
      await this.queueNotice(hold.id, hold.envelope.from, raw, `hold-${kind}`);
    } catch (err) {
      this.logger.error({ hold: hold.id, outcome: kind, err: errorText(err) }, 'cannot queue the notice to the sender');
    }
  }

  private async queueNotice(holdId: string, to: string, raw: Buffer, notice: string): Promise<void> {
    const id = newMessageId();
    await this.outboxStore.enqueue({ id, kind: 'notice', ref: holdId, envelope: { from: '', to: [to] }, raw: prependHeader(raw, ID_HEADER, id) }, 'ready');
    this.outbox.kick();
    this.logger.info({ id, ref: holdId, to, notice }, 'hold notice queued');
  }

  private async scrub(): Promise<void> {
    await this.store.scrub().catch((err: unknown) => this.logger.warn({ err: errorText(err) }, 'holds: cannot scrub the store'));
  }
}

/** The Hold the pages and the JSON API see (without the stored extras). */
export function toHold(s: StoredHold): Hold {
  return {
    id: s.id,
    state: s.state,
    envelope: { from: s.envelope.from, to: [...s.envelope.to] },
    subject: s.subject,
    bodyStart: s.bodyStart,
    recipients: s.recipients,
    attachments: s.attachments,
    findings: s.findings,
    createdAt: s.createdAt,
    deadline: s.deadline,
    onDeadline: s.onDeadline,
    approvers: s.approvers,
    ...(s.decidedAt !== undefined ? { decidedAt: s.decidedAt } : {}),
    ...(s.decidedBy !== undefined ? { decidedBy: s.decidedBy } : {}),
    ...(s.mistake !== undefined ? { mistake: s.mistake } : {}),
    ...(s.bodyErased !== undefined ? { bodyErased: s.bodyErased } : {}),
  };
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
