import type { Outbox } from './delivery/outbox.js';
import type { Accepted, NextHop } from './delivery/next-hop.js';
import type { Logger } from './log.js';
import type { Envelope } from './message/envelope.js';
import { ID_HEADER, prependHeader } from './message/headers.js';
import { newMessageId } from './message/id.js';
import { parseMessage } from './message/parse.js';
import type { Judgement } from './policy/judge.js';
import type { OutboxStore } from './store/outbox-store.js';
import { composePasswordNotice } from './zip/password-notice.js';
import { groupRecipients } from './zip/recipients.js';
import { type Packing, packAttachments } from './zip/transform.js';

/** One copy of the message for one group of recipients. */
export interface Plan {
  id: string;
  envelope: Envelope;
  raw: Buffer;
  packing?: Extract<Packing, { kind: 'packed' }>;
  /** Already encrypted attachments that travel as they are. */
  passedAsIs?: string[];
  notice?: { envelope: Envelope; from: string; delayMinutes: number };
}

export type DispatchResult =
  | { kind: 'sent'; deliveries: { id: string; to: string[]; encrypted?: { zip: string; files: { name: string; sha256: string }[] } }[]; accepted: Accepted[]; passedAsIs: string[] }
  | { kind: 'refused'; action: 'hold' | 'reject'; rule: string; reason: string; value: string };

/**
 * Turns one message the policy lets through into its deliveries (第6-2): internal recipients
 * get it untouched, each group of external recipients gets a copy with the attachments in an
 * encrypted ZIP, and each ZIP's password goes out by the durable outbox as a separate notice —
 * stored (sealed) before the copy is sent, released only once the next hop accepted the copy.
 */
export class Dispatcher {
  constructor(
    private readonly deps: {
      nextHop: NextHop;
      store: OutboxStore;
      outbox: Outbox;
      logger: Logger;
      hostname: string;
      isInternal: (domain: string) => boolean;
    },
  ) {}

  async dispatch(id: string, raw: Buffer, envelope: Envelope, judgement: Judgement): Promise<DispatchResult> {
    const plans = judgement.attachments > 0 && judgement.encryption.enabled
      ? await this.plan(id, raw, envelope, judgement)
      : [{ id, envelope, raw }];
    if (!Array.isArray(plans)) return plans;

    const accepted: Accepted[] = [];
    for (const plan of plans) accepted.push(await this.deliver(plan, judgement.subject));
    return sent(plans, accepted);
  }

  /**
   * The same transformation as dispatch(), but every copy goes through the durable outbox: for a
   * released hold, which nobody waits on. Each password notice waits for its message job and
   * becomes ready in the same transaction that marks the message sent.
   */
  async enqueue(id: string, raw: Buffer, envelope: Envelope, judgement: Pick<Judgement, 'subject' | 'attachments' | 'encryption'>): Promise<DispatchResult> {
    const { store, outbox } = this.deps;
    const plans = judgement.attachments > 0 && judgement.encryption.enabled ? await this.plan(id, raw, envelope, judgement) : [{ id, envelope, raw }];
    if (!Array.isArray(plans)) return plans;
    for (const plan of plans) {
      await store.enqueue({ id: plan.id, kind: 'message', ref: id, envelope: plan.envelope, raw: prependHeader(plan.raw, ID_HEADER, plan.id) }, 'ready');
      if (plan.packing && plan.notice) {
        const noticeId = newMessageId();
        const notice = await this.composeNotice(plan, judgement.subject);
        await store.enqueue(
          { id: noticeId, kind: 'password-notice', ref: plan.id, envelope: plan.notice.envelope, raw: prependHeader(notice, ID_HEADER, noticeId), after: plan.id },
          'waiting',
        );
      }
    }
    outbox.kick();
    return sent(plans, []);
  }

  private composeNotice(plan: Plan, subject: string): Promise<Buffer> {
    return composePasswordNotice({
      ref: plan.id,
      subject,
      zipName: plan.packing!.zipName,
      recipients: plan.envelope.to,
      password: plan.packing!.password,
      envelope: plan.notice!.envelope,
      from: plan.notice!.from,
    });
  }

  /** Packs every external group first, so a message that cannot be encrypted stops before anything leaves. */
  async plan(id: string, raw: Buffer, envelope: Envelope, judgement: Pick<Judgement, 'encryption'>): Promise<Plan[] | Extract<DispatchResult, { kind: 'refused' }>> {
    const settings = judgement.encryption;
    const message = parseMessage(raw);
    const plans: Plan[] = [];
    for (const group of groupRecipients(envelope.to, this.deps.isInternal, settings)) {
      const planId = plans.length === 0 ? id : `${id}-${plans.length + 1}`;
      const groupEnvelope = { from: envelope.from, to: group.to };
      if (group.internal) {
        plans.push({ id: planId, envelope: groupEnvelope, raw });
        continue;
      }
      const packing = await packAttachments(message, settings, group.profile);
      if (packing.kind === 'refused') return { kind: 'refused', action: packing.action, rule: packing.rule, reason: packing.reason, value: packing.value };
      if (packing.kind === 'unchanged') {
        plans.push({ id: planId, envelope: groupEnvelope, raw, passedAsIs: packing.passedAsIs });
        continue;
      }
      const password = group.profile.password;
      // By default the password goes to the sender, who passes it on by another route; a
      // profile may send it to the recipients themselves, after a delay.
      const toSender = password.to === 'sender' && envelope.from !== '';
      const notice = toSender
        ? { envelope: { from: '', to: [envelope.from] }, from: `outguard <MAILER-DAEMON@${this.deps.hostname}>`, delayMinutes: 0 }
        : { envelope: groupEnvelope, from: message.from[0]?.address ?? envelope.from, delayMinutes: password.to === 'recipients' ? password.delayMinutes : 0 };
      plans.push({ id: planId, envelope: groupEnvelope, raw: packing.raw, packing, notice, passedAsIs: packing.passedAsIs });
    }
    return plans;
  }

  private async deliver(plan: Plan, subject: string): Promise<Accepted> {
    const { nextHop, store, outbox, logger } = this.deps;
    let noticeId: string | undefined;
    if (plan.packing && plan.notice) {
      noticeId = newMessageId();
      const raw = await this.composeNotice(plan, subject);
      // stored before the copy leaves: a crash after the next hop accepted it still sends the password
      await store.enqueue({ id: noticeId, kind: 'password-notice', ref: plan.id, envelope: plan.notice.envelope, raw: prependHeader(raw, ID_HEADER, noticeId) }, 'waiting');
    }
    let accepted: Accepted;
    try {
      accepted = await nextHop.deliver({ id: plan.id, envelope: plan.envelope, raw: prependHeader(plan.raw, ID_HEADER, plan.id) });
    } catch (err) {
      if (noticeId) await store.cancel(noticeId, 'the encrypted message was not accepted');
      throw err;
    }
    if (noticeId && plan.notice) {
      await store.markReady(noticeId, Date.now() + plan.notice.delayMinutes * 60000);
      outbox.kick();
      logger.info({ id: noticeId, ref: plan.id, to: plan.notice.envelope.to, delayMinutes: plan.notice.delayMinutes }, 'password notice queued');
    }
    return accepted;
  }
}

function sent(plans: Plan[], accepted: Accepted[]): DispatchResult {
  return {
    kind: 'sent',
    deliveries: plans.map((p) => ({ id: p.id, to: p.envelope.to, ...(p.packing ? { encrypted: { zip: p.packing.zipName, files: p.packing.files.map((f) => ({ name: f.name, sha256: f.sha256 })) } } : {}) })),
    accepted,
    passedAsIs: [...new Set(plans.flatMap((p) => p.passedAsIs ?? []))],
  };
}
