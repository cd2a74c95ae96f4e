import type { Logger } from './log.js';
import { NextHopError } from './delivery/next-hop.js';
import { planDelivery } from './delivery/plan.js';
import type { DeliveryPipeline, DirectResult, Seal } from './delivery/pipeline.js';
import type { Envelope } from './message/envelope.js';
import { newMessageId } from './message/id.js';
import type { MessageModel } from './message/model.js';
import { decisive } from './policy/engine.js';
import { passedAsIsFinding } from './policy/encryption-gate.js';
import type { Judge, Judgement } from './policy/judge.js';
import type { HoldService } from './hold/service.js';
import type { AuditWriter } from './audit/writer.js';
import type { NewAuditEvent } from './audit/events.js';
import type { IncidentService } from './audit/incidents.js';
import { findingFields } from './audit/events.js';
import type { Verdict } from './policy/verdict.js';
import type { ByteSource } from './message/source.js';
import type { Mailbox } from './message/mailbox.js';

export interface InboundMessage {
  /** The message as received: in memory, or spooled (read by offsets). */
  source: ByteSource;
  envelope: Envelope;
  client: { address: string; user?: string };
}

/** The SMTP answer for one message, decided here and only spoken by the SMTP layer. */
export interface Outcome {
  id: string;
  code: number;
  /** Reply text after the code, starting with the enhanced status code. */
  text: string;
}

/** Keeps the next hop's reply on one short line when quoting it back to the client. */
const quote = (reply: string) => reply.replace(/[\r\n]+/g, ' ').slice(0, 200);
/** The enhanced status code of a permanent reply ("550 5.7.1 …" → "5.7.1"). */
const enhancedCode = (reply: string) => /^\d{3}[ -](5\.\d{1,3}\.\d{1,3})\b/.exec(reply)?.[1];

/**
 * Wires the stages for one message: id → policy verdict (on the one message model) → hold, or
 * delivery plan → pipeline. A message is answered 250 only once every copy was accepted by the
 * next hop or durably queued, and its decision's audit event is durable — written before the
 * first copy is handed over for good (the end of its DATA), the hold is stored or the 550 is
 * said; anything else is a temporary failure so the client keeps it.
 */
export class Gateway {
  constructor(
    private readonly deps: {
      judge: Judge;
      pipeline: Pick<DeliveryPipeline, 'deliver'>;
      holds: Pick<HoldService, 'hold'>;
      logger: Logger;
      /** notices.from: who the password notices to senders come from. */
      noticeFrom: Mailbox;
      isInternal: (domain: string) => boolean;
      /** The audit log (特記事項 第9): one event per decision, durable before the answer. */
      audit: Pick<AuditWriter, 'record' | 'commit' | 'urge'>;
      /** Incidents (遵守事項 第2): rules marked `incident: true` open one. */
      incidents?: Pick<IncidentService, 'ruleFired'>;
    },
  ) {}

  async process(inbound: InboundMessage): Promise<Outcome> {
    const started = performance.now();
    let id = newMessageId();
    const { logger, judge } = this.deps;
    let outcome: Outcome;
    let action: string;
    let judgement: Judgement | undefined;
    let verdict: Verdict | undefined;
    let sent: DirectResult | undefined;
    let encrypted: { name: string; sha256: string }[] = [];
    let repeated = false;
    // the decision's audit event, made durable once, before anything leaves or the client hears 2xx/5xx
    let decided: Promise<void> | undefined;
    const decide: Seal = (how, lazy = false) => {
      decided ??= this.deps.audit
        .commit(this.decisionEvent(inbound, how.messageId, action, verdict, judgement?.message, encrypted, how.repeated), { lazy })
        .catch((err: Error) => Promise.reject(new DecisionNotRecorded(err.message)));
      if (!lazy) this.deps.audit.urge();
      return decided;
    };
    try {
      judgement = await judge.evaluate(inbound.source, inbound.envelope);
      verdict = judgement.verdict;
      action = verdict.action;
      const finding = decisive(verdict);
      if (verdict.action === 'reject' && finding) {
        await decide({ messageId: id, repeated: false });
        outcome = { id, code: 550, text: `5.7.1 ${finding.rule}: ${finding.reason}` };
      } else if (verdict.action === 'hold' && finding) {
        const held = await this.deps.holds.hold({
          id,
          message: judgement.message,
          envelope: inbound.envelope,
          verdict,
          encryption: judgement.encryption,
          beforeStore: () => decide({ messageId: id, repeated: false }),
        });
        id = held.hold.id;
        repeated = held.repeated;
        await decide({ messageId: id, repeated });
        outcome = { id, code: 250, text: `2.0.0 Ok: held for confirmation as ${id}${repeated ? ' (this message was held before; it is held once)' : ''}` };
      } else {
        const plan = await planDelivery({ id, message: judgement.message, envelope: inbound.envelope, settings: judgement.encryption, isInternal: this.deps.isInternal, noticeFrom: this.deps.noticeFrom });
        encrypted = plan.copies.flatMap((c) => c.encrypted?.files ?? []);
        if (plan.passedAsIs.length > 0) verdict = { ...verdict, findings: [...verdict.findings, passedAsIsFinding(plan.passedAsIs)] };
        sent = await this.deps.pipeline.deliver(plan, inbound, decide);
        id = sent.messageId;
        repeated = sent.repeated;
        await decide({ messageId: id, repeated });
        outcome = { id, code: 250, text: deliveredText(sent) };
      }
    } catch (err) {
      action = 'tempfail';
      if (err instanceof DecisionNotRecorded) {
        // fail closed: nothing was handed over, and the client keeps the message
        logger.error({ id, err: err.message }, 'cannot record the decision in the audit log: answered 451, nothing sent');
        outcome = { id, code: 451, text: '4.3.0 Cannot record the decision in the audit log, try again later' };
      } else if (err instanceof NextHopError && err.responseCode !== undefined && err.responseCode >= 500) {
        // refused for good, and nothing was handed over: the client bounces it to the sender now
        // (451 would have it retried for days, neither delivered nor bounced)
        action = 'refused';
        outcome = { id, code: 554, text: `${enhancedCode(err.reply) ?? '5.0.0'} Next hop refused the message (${quote(err.reply)})` };
        sent = { messageId: id, delivered: [], queued: [], refused: [], repeated: false, replies: [err.reply] };
      } else if (err instanceof NextHopError) {
        outcome = err.responseCode
          ? { id, code: 451, text: `4.4.0 Next hop refused the message, try again later (${quote(err.reply)})` }
          : { id, code: 451, text: `4.4.1 Next hop unavailable, try again later (${quote(err.reply)})` };
        sent = { messageId: id, delivered: [], queued: [], refused: [], repeated: false, replies: [err.reply] };
      } else {
        // parsing, a check or the encryption failed: the message cannot be handled, so it must not leave
        logger.error({ id, err: (err as Error).message }, 'message processing failed');
        outcome = { id, code: 451, text: '4.3.0 Temporary local problem, try again later' };
      }
      // a failure is on record too (after the decision's event, if that was written)
      this.deps.audit.record({ ...this.decisionEvent(inbound, id, action, verdict, judgement?.message, [], false), detail: [`${outcome.code} ${outcome.text}`, verdict && decisive(verdict)?.detail].filter(Boolean).join('; ') });
    }
    const message = judgement?.message;
    const findings = verdict?.findings ?? [];
    logger.info(
      {
        id,
        client: inbound.client.address,
        user: inbound.client.user,
        from: inbound.envelope.from,
        rcptCount: inbound.envelope.to.length,
        size: inbound.source.length,
        action,
        ms: Math.round(performance.now() - started),
        ...(sent ? { reply: sent.replies.join(' | ') } : {}),
        ...(sent && (sent.queued.length > 0 || sent.repeated || sent.delivered.length > 1) ? { delivered: sent.delivered, queued: sent.queued, repeated: sent.repeated } : {}),
        ...(encrypted.length > 0 ? { encrypted: encrypted.length } : {}),
        ...(findings.length > 0
          ? {
              rules: [...new Set(findings.map((f) => f.rule))],
              clauses: [...new Set(findings.map((f) => f.clause))],
              findings: findings.map((f) => ({ rule: f.rule, clause: f.clause, severity: f.severity, value: f.value })),
            }
          : {}),
      },
      'message',
    );
    // a final answer only: after a 451 the client sends the message again, and that opens it (once)
    if (action !== 'tempfail' && !repeated && message && verdict?.findings.some((f) => f.incident)) {
      this.deps.incidents?.ruleFired({ messageId: id, message, envelope: inbound.envelope, findings: verdict.findings, action: (action === 'refused' ? 'reject' : action) as 'deliver' | 'hold' | 'reject' });
    }
    return outcome;
  }

  /** The decision's audit event (特記事項 第9); a repeated message's is not counted again. */
  private decisionEvent(
    inbound: InboundMessage,
    messageId: string,
    action: string,
    verdict: Verdict | undefined,
    message: MessageModel | undefined,
    encrypted: { name: string; sha256: string }[],
    repeated: boolean,
  ): NewAuditEvent {
    const stopped = (action === 'reject' || action === 'hold') && message ? message.files.map((f) => ({ name: f.filename, sha256: f.sha256 })) : [];
    const finding = verdict && decisive(verdict);
    return {
      type: repeated ? 'repeated' : auditType(action, encrypted.length > 0),
      messageId,
      sender: inbound.envelope.from,
      recipients: inbound.envelope.to,
      ...(message ? { subject: message.subject } : {}),
      attachments: encrypted.length > 0 ? encrypted : stopped,
      ...findingFields(verdict?.findings ?? []),
      action,
      actor: inbound.client.user ?? inbound.client.address,
      ...(action === 'reject' && finding ? { detail: [`550 5.7.1 ${finding.rule}: ${finding.reason}`, finding.detail].filter(Boolean).join('; ') } : {}),
    };
  }
}

/** The decision's audit event could not be made durable: the message is answered 451 and nothing leaves. */
export class DecisionNotRecorded extends Error {
  constructor(reason: string) {
    super(`the audit event could not be written: ${reason}`);
    this.name = 'DecisionNotRecorded';
  }
}

function deliveredText(sent: DirectResult): string {
  // the message's id first (DESIGN: a 250 names the message), then its other copies
  const copies = sent.delivered.length > 0 ? sent.delivered : sent.queued;
  const ids = [sent.messageId, ...copies.filter((c) => c !== sent.messageId)].join(', ');
  const parts = [`2.0.0 Ok: delivered as ${ids}`];
  if (sent.repeated) parts.push('(this message was accepted before; nothing was sent twice)');
  else if (sent.queued.length > 0 && sent.delivered.length > 0) parts.push(`(queued for a later try: ${sent.queued.join(', ')})`);
  else if (sent.queued.length > 0) parts.push('(queued: the next hop deferred it, outguard retries)');
  if (sent.refused.length > 0) parts.push(`(${sent.refused.length} recipient(s) refused, sender notified)`);
  return parts.join(' ');
}

/** The audit event type of a decision. */
function auditType(action: string, encrypted: boolean): string {
  if (action === 'reject') return 'rejected';
  if (action === 'hold') return 'held';
  if (action === 'tempfail') return 'deferred';
  if (action === 'refused') return 'next-hop-refused';
  return encrypted ? 'encrypted' : 'delivered';
}
