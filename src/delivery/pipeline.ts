import type { Logger } from '../log.js';
import { messageDigest } from '../message/digest.js';
import type { Envelope } from '../message/envelope.js';
import type { ByteSource } from '../message/source.js';
import { KnownMessageError } from '../store/known-message.js';
import type { JobInfo, NewJobIn, OutboxStore } from '../store/outbox-store.js';
import { crashPoint } from '../util/crash-point.js';
import type { DeliveryEvents } from './events.js';
import { type Accepted, type NextHop, NextHopError } from './next-hop.js';
import { type Refusal, nonDeliveryNotice } from './non-delivery.js';
import type { DeliveryPlan, PlannedCopy } from './plan.js';

/** What became of direct mail: the client's answer is made from this. */
export interface DirectResult {
  /** The message's id: the one just given, or, for a message sent again, the id it got the first time. */
  messageId: string;
  /** Copies the next hop accepted now (or before, for a recognised retry). */
  delivered: string[];
  /** Copies (or recipients of a copy) left to the durable outbox, which sends them later. */
  queued: string[];
  /** Recipients the next hop refused for good; the sender gets a non-delivery notice. */
  refused: Refusal[];
  /** The client sent a message it had sent before (same envelope and bytes): nothing was sent twice. */
  repeated: boolean;
  /** The replies of the next hop, for the log line. */
  replies: string[];
}

/**
 * Makes the decision's audit event durable (once; later calls get the same answer). The pipeline
 * queues it `lazy` as the first copy starts on its way, so the write overlaps the talk with the
 * next hop and is shared with the events of the messages queued meanwhile; it asks for it again,
 * not lazy, before the end of that copy's DATA and before it answers, and waits for it there.
 * When it rejects, nothing is handed over and the message is answered 451.
 */
export type Seal = (how: { messageId: string; repeated: boolean }, lazy?: boolean) => Promise<void>;

/** A seal as a copy's `beforeEnd`, remembering whether it failed (the hop reports only that it was cut off). */
function gate(seal: Seal, how: { messageId: string; repeated: boolean }) {
  let sealed: Promise<void> | undefined;
  const g = {
    failure: undefined as Error | undefined,
    /** Queues the write without waiting for it (its failure is kept for beforeEnd). */
    start(lazy = true) {
      sealed ??= seal(how, lazy).catch((err: Error) => {
        g.failure = err;
        throw err;
      });
      sealed.catch(() => undefined);
    },
    /** Wants the write done now (the events queued meanwhile share it), and waits for it. */
    beforeEnd: () => {
      if (sealed) seal(how, false).catch(() => undefined);
      else g.start(false);
      return sealed!;
    },
  };
  return g;
}

export interface PipelineOptions {
  nextHop: NextHop;
  store: OutboxStore;
  /** The outbox runner: its id leases the copies sent here, kick() wakes it for what is left. */
  outbox: { kick(): void; readonly runnerId: string };
  events: DeliveryEvents;
  logger: Logger;
  /** Keys the digest that recognises a message sent again (derived from the data-at-rest key). */
  digestKey: Buffer;
  /** smtp.hostname, for non-delivery notices. */
  hostname: string;
  /** How long copies stay leased to the SMTP session sending them (renewed while it does). Default 2 min. */
  leaseMs?: number;
  /** When a copy the next hop deferred is tried again by the outbox. Default 30 s. */
  retryMs?: number;
}

/**
 * The one way out for accepted mail, direct and released alike (DESIGN: "transform → next hop →
 * password notice queued separately"), built on the durable outbox:
 *
 * - A plan with one plain copy (no ZIP: most mail) is sent while the client waits, and answered
 *   250 only once the next hop accepted it; any failure throws NextHopError (451).
 * - A plan with a ZIP is first stored whole — every copy and every password notice in one
 *   transaction, each notice waiting for its copy — with the copies leased to this session, then
 *   sent while the client waits. A notice becomes due only once its copy was accepted (after its
 *   delay), so no password travels before its ZIP, and no ZIP is ever without its password: a
 *   crash anywhere leaves the rest to the outbox (a restarted gateway takes over the leases).
 *   A copy the next hop defers stays queued (250: it is durably enqueued); only when no copy was
 *   taken and every refusal was definite is the plan cancelled and the client told 451.
 * - A client that sends the same message again (same envelope and bytes: a retry after a lost
 *   answer or a crash) is recognised by a keyed digest and gets the first plan's answer: no second
 *   copy with another password.
 * - Released holds (nobody waits) put the plan in the outbox in one transaction.
 * Every accepted copy is a 'copy-delivered' event, whichever way it went.
 */
export class DeliveryPipeline {
  private readonly leaseMs: number;
  private readonly retryMs: number;

  constructor(private readonly o: PipelineOptions) {
    this.leaseMs = o.leaseMs ?? 120_000;
    this.retryMs = o.retryMs ?? 30_000;
  }

  /** Direct mail. Throws NextHopError when nothing was delivered or queued (answer 451). */
  async deliver(plan: DeliveryPlan, original: { envelope: Envelope; source: ByteSource }, seal: Seal): Promise<DirectResult> {
    const only = plan.copies[0]!;
    const decided = gate(seal, { messageId: plan.messageId, repeated: false });
    if (plan.copies.length === 1 && plan.notices.length === 0 && 'read' in only.raw) return this.deliverPlain({ ...only, raw: only.raw }, plan.messageId, plan.subject, decided);
    const digest = messageDigest(this.o.digestKey, original.envelope, original.source);
    const earlier = await this.o.store.findByDigest(digest);
    if (earlier !== null) return this.resume(earlier, plan.subject, seal);
    crashPoint('direct:planned');
    try {
      await this.o.store.enqueueAll(jobsOf(plan), { digest, lease: { owner: this.o.outbox.runnerId, until: Date.now() + this.leaseMs } });
    } catch (err) {
      if (err instanceof KnownMessageError) return this.resume(err.ref, plan.subject, seal);
      throw err;
    }
    crashPoint('direct:enqueued');
    decided.start();
    const result = emptyResult(plan.messageId);
    const failures: { copy: PlannedCopy; err: NextHopError }[] = [];
    for (const copy of plan.copies) {
      try {
        await this.sendCopy({ ...copy, raw: await this.stored(copy.id) }, plan.messageId, result, decided.beforeEnd);
      } catch (err) {
        if (decided.failure) break;
        if (!(err instanceof NextHopError)) throw err;
        failures.push({ copy, err });
      }
    }
    const nothingLeft = result.delivered.length === 0 && failures.length > 0 && failures.every((f) => definite(f.err));
    if (nothingLeft) {
      // nothing left the gateway: drop the plan (its notices go with it), and let the client retry
      for (const copy of plan.copies) await this.o.store.cancel(copy.id, `not accepted: ${failures[0]!.err.reply}`);
      throw failures[0]!.err;
    }
    // the copies left to the outbox leave later: the decision goes on record before that as well
    await decided.beforeEnd().catch(() => undefined);
    if (decided.failure) {
      // no copy was handed over (each one's end waits for the seal): drop the plan, answer 451
      for (const copy of plan.copies) await this.o.store.cancel(copy.id, 'the decision could not be recorded in the audit log');
      throw decided.failure;
    }
    for (const { copy, err } of failures) await this.leaveToOutbox(copy.id, plan.messageId, err, result);
    crashPoint('direct:sent');
    await this.afterSend(plan.messageId, plan.subject, original.envelope.from, result);
    return result;
  }

  /** A released hold: every copy and notice into the outbox at once; the outbox sends them. */
  async enqueue(plan: DeliveryPlan): Promise<void> {
    await this.o.store.enqueueAll(jobsOf(plan));
    crashPoint('release:enqueued');
    this.o.outbox.kick();
  }

  /** A copy as the outbox stored it: what is sent is what was stored (a ZIP copy is made only once). */
  private async stored(id: string): Promise<ByteSource> {
    const source = await this.o.store.message(id);
    if (!source) throw new Error(`outbox job ${id} has no stored message`);
    return source;
  }

  private async deliverPlain(copy: SendableCopy, ref: string, subject: string, decided: ReturnType<typeof gate>): Promise<DirectResult> {
    let accepted: Accepted;
    decided.start();
    try {
      accepted = await this.o.nextHop.deliver({ ...copy, beforeEnd: decided.beforeEnd });
    } catch (err) {
      throw decided.failure ?? err;
    }
    const result = emptyResult(ref);
    result.delivered.push(copy.id);
    result.replies.push(accepted.reply);
    await this.o.events.emit('copy-delivered', { id: copy.id, ref, envelope: copy.envelope, via: 'direct', accepted });
    await this.refusals(copy, ref, accepted, result, false);
    await this.afterSend(ref, subject, copy.envelope.from, result);
    return result;
  }

  /** Sends one stored copy now; marking it sent releases its password notice. */
  private async sendCopy(copy: SendableCopy, ref: string, result: DirectResult, beforeEnd: () => Promise<void>): Promise<void> {
    const renew = setInterval(() => void this.o.store.renew([copy.id], this.o.outbox.runnerId, Date.now() + this.leaseMs).catch(() => undefined), Math.max(1000, this.leaseMs / 3));
    renew.unref();
    let accepted: Accepted;
    try {
      accepted = await this.o.nextHop.deliver({ ...copy, beforeEnd });
    } finally {
      clearInterval(renew);
    }
    crashPoint('direct:copy-accepted');
    await this.o.store.markSent(copy.id);
    crashPoint('direct:copy-marked');
    this.o.outbox.kick();
    result.delivered.push(copy.id);
    result.replies.push(accepted.reply);
    await this.o.events.emit('copy-delivered', { id: copy.id, ref, envelope: copy.envelope, ...(copy.encrypted ? { encrypted: copy.encrypted } : {}), via: 'direct', accepted });
    await this.refusals(copy, ref, accepted, result, true);
  }

  /**
   * Recipients the next hop refused while it took the copy: refused for good, they are reported
   * to the sender; deferred, the copy goes to them again from the outbox — the same bytes, so the
   * same password.
   */
  private async refusals(copy: SendableCopy, ref: string, accepted: Accepted, result: DirectResult, stored: boolean): Promise<void> {
    const deferred = accepted.rejected.filter((r) => r.reply.startsWith('4'));
    result.refused.push(...accepted.rejected.filter((r) => !r.reply.startsWith('4')));
    if (deferred.length === 0) return;
    const id = `${copy.id}-r${Date.now().toString(36)}`;
    await this.o.store.enqueue({ id, kind: 'message', ref, envelope: { from: copy.envelope.from, to: deferred.map((r) => r.address) }, raw: copy.raw, ...(copy.encrypted ? { meta: { encrypted: copy.encrypted } } : {}) });
    this.o.outbox.kick();
    result.queued.push(id);
    this.o.logger.warn({ id: copy.id, ref, deferred: deferred.map((r) => r.address), stored }, 'next hop deferred some recipients; the outbox sends them the copy later');
  }

  /** The sender hears of recipients refused for good, by a notice from the outbox. */
  private async afterSend(ref: string, subject: string, sender: string, result: DirectResult): Promise<void> {
    await this.notifySender({ ref, subject, sender, refused: result.refused });
  }

  /**
   * A non-delivery notice to the sender (never to the null sender), through the durable outbox:
   * for recipients refused while the client waited, and for a queued copy that failed for good.
   */
  async notifySender(o: { ref: string; subject: string; sender: string; refused: Refusal[] }): Promise<void> {
    if (o.refused.length === 0 || o.sender === '') return;
    const notice = await nonDeliveryNotice({ ...o, hostname: this.o.hostname });
    await this.o.store.enqueue({ id: notice.id, kind: 'notice', ref: o.ref, envelope: notice.envelope, raw: notice.raw });
    this.o.outbox.kick();
  }

  /** The message was seen before: report its copies, and send now any the outbox has not. */
  private async resume(ref: string, subject: string, seal: Seal): Promise<DirectResult> {
    const result = emptyResult(ref);
    result.repeated = true;
    const decided = gate(seal, { messageId: ref, repeated: true });
    const copies = (await this.o.store.list({ ref, limit: 1000 })).filter((j: JobInfo) => j.kind === 'message');
    for (const job of copies) {
      if (job.state === 'sent' || job.state === 'failed' || job.state === 'cancelled') {
        if (job.state === 'sent') result.delivered.push(job.id);
        continue;
      }
      const claimed = await this.o.store.claim(job.id, this.o.outbox.runnerId, Date.now(), this.leaseMs);
      if (!claimed) {
        result.queued.push(job.id); // being sent right now, or waiting for its retry
        continue;
      }
      try {
        const copy: SendableCopy = { id: job.id, envelope: job.envelope, raw: claimed.openRaw(), ...(job.meta?.encrypted ? { encrypted: job.meta.encrypted } : {}) };
        await this.sendCopy(copy, ref, result, decided.beforeEnd);
      } catch (err) {
        if (decided.failure) throw decided.failure; // the job stays leased, and the outbox takes it over later: it was accepted before
        if (!(err instanceof NextHopError)) throw err;
        await this.leaveToOutbox(job.id, ref, err, result);
      }
    }
    await this.afterSend(ref, subject, copies[0]?.envelope.from ?? '', result);
    this.o.logger.info({ ref, delivered: result.delivered, queued: result.queued }, 'the client sent a message again that was accepted before; nothing sent twice');
    return result;
  }

  /** A stored copy the next hop did not take now: the outbox tries it again later. */
  private async leaveToOutbox(id: string, ref: string, err: NextHopError, result: DirectResult): Promise<void> {
    await this.o.store.markFailed(id, err.reply, Date.now() + this.retryMs, this.o.outbox.runnerId);
    result.queued.push(id);
    this.o.logger.warn({ id, ref, err: err.reply }, 'copy not accepted now; the outbox sends it later');
  }
}

/** A copy with its bytes readable by offsets (the original, or as the outbox stored it). */
type SendableCopy = PlannedCopy & { raw: ByteSource };

function emptyResult(messageId: string): DirectResult {
  return { messageId, delivered: [], queued: [], refused: [], repeated: false, replies: [] };
}

/** The plan as outbox jobs: the copies ready, each notice waiting for its copy (and its delay). */
function jobsOf(plan: DeliveryPlan): NewJobIn[] {
  return [
    ...plan.copies.map((c): NewJobIn => ({ id: c.id, kind: 'message', ref: plan.messageId, envelope: c.envelope, raw: c.raw, state: 'ready', ...(c.encrypted ? { meta: { encrypted: c.encrypted } } : {}) })),
    ...plan.notices.map((n): NewJobIn => ({ id: n.id, kind: 'password-notice', ref: n.after, envelope: n.envelope, raw: n.raw, state: 'waiting', after: n.after, delayMs: n.delayMs })),
  ];
}

/** The next hop surely did not take the message: it said so, or could not even be reached. */
function definite(err: NextHopError): boolean {
  return err.responseCode !== undefined || err.beforeData === true;
}
