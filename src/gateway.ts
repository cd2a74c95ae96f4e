import type { Logger } from './log.js';
import type { NextHop } from './delivery/next-hop.js';
import { NextHopError } from './delivery/next-hop.js';
import { type Refusal, nonDeliveryNotice } from './delivery/non-delivery.js';
import type { Envelope } from './message/envelope.js';
import { newMessageId } from './message/id.js';
import { attachmentDigests } from './message/attachments.js';
import { parseMessage } from './message/parse.js';
import { decisive } from './policy/engine.js';
import type { Judge, Judgement } from './policy/judge.js';
import type { HoldService } from './hold/service.js';
import type { AuditWriter } from './audit/writer.js';
import type { IncidentService } from './audit/incidents.js';
import { findingFields } from './audit/events.js';
import type { Finding, Verdict } from './policy/verdict.js';
import type { DispatchResult, Dispatcher } from './dispatch.js';

export interface InboundMessage {
  raw: Buffer;
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

/**
 * Wires the stages for one message: id → policy verdict → next hop. A message is answered 250
 * only once the next hop has accepted it; anything else is a temporary failure so the client keeps it.
 */
export class Gateway {
  constructor(
    private readonly deps: {
      judge: Judge;
      dispatcher: Dispatcher;
      holds: Pick<HoldService, 'hold'>;
      nextHop: NextHop;
      logger: Logger;
      hostname: string;
      /** The audit log (特記事項 第9): one event per decision. */
      audit: Pick<AuditWriter, 'record'>;
      /** Incidents (遵守事項 第2): rules marked `incident: true` open one. */
      incidents?: Pick<IncidentService, 'ruleFired'>;
    },
  ) {}

  async process(message: InboundMessage): Promise<Outcome> {
    const started = performance.now();
    const id = newMessageId();
    const { logger, judge, dispatcher } = this.deps;
    const line = {
      id,
      client: message.client.address,
      user: message.client.user,
      from: message.envelope.from,
      rcptCount: message.envelope.to.length,
      size: message.raw.length,
    };
    let outcome: Outcome;
    let action: string;
    let reply: string | undefined;
    let verdict: Verdict | undefined;
    let sent: { deliveries?: Extract<DispatchResult, { kind: 'sent' }>['deliveries'] } = {};
    let subject: string | undefined;
    let attachmentCount = 0;
    try {
      const judgement = await judge.evaluate(message.raw, message.envelope);
      verdict = judgement.verdict;
      subject = judgement.subject;
      attachmentCount = judgement.attachments;
      action = verdict.action;
      const finding = decisive(verdict);
      if (verdict.action === 'reject' && finding) {
        outcome = { id, code: 550, text: `5.7.1 ${finding.rule}: ${finding.reason}` };
      } else if (verdict.action === 'hold' && finding) {
        outcome = await this.hold(id, message, verdict, judgement);
      } else {
        const result = await dispatcher.dispatch(id, message.raw, message.envelope, judgement);
        if (result.kind === 'refused') {
          // the message cannot be encrypted as it is (signed, already encrypted): 第6-2
          action = result.action;
          verdict = { action: result.action, findings: [...verdict.findings, encryptionFinding(result)] };
          outcome = result.action === 'hold' ? await this.hold(id, message, verdict, judgement) : { id, code: 550, text: `5.7.1 ${result.rule}: ${result.reason}` };
        } else {
          reply = result.accepted.map((a) => a.reply).join(' | ');
          sent = { deliveries: result.deliveries };
          if (result.passedAsIs.length > 0) verdict = { ...verdict, findings: [...verdict.findings, alreadyEncryptedFinding(result.passedAsIs)] };
          const ids = result.deliveries.map((d) => d.id).join(', ');
          outcome = { id, code: 250, text: `2.0.0 Ok: delivered as ${ids}` };
          const refused = result.accepted.flatMap((a) => a.rejected);
          if (refused.length > 0) outcome = await this.partlyRefused(id, message.envelope.from, judgement.subject, refused);
          await judge.delivered(message.envelope).catch((err: Error) => logger.error({ id, err: err.message }, 'cannot record delivery history'));
        }
      }
    } catch (err) {
      action = 'tempfail';
      if (err instanceof NextHopError) {
        reply = err.reply;
        outcome = err.responseCode
          ? { id, code: 451, text: `4.4.0 Next hop refused the message, try again later (${quote(err.reply)})` }
          : { id, code: 451, text: `4.4.1 Next hop unavailable, try again later (${quote(err.reply)})` };
      } else {
        // parsing or a check failed: the message cannot be judged, so it must not leave
        logger.error({ id, err: (err as Error).message }, 'message processing failed');
        outcome = { id, code: 451, text: '4.3.0 Temporary local problem, try again later' };
      }
    }
    if (outcome.code === 451) action = 'tempfail';
    const findings = verdict?.findings.map((f) => ({ rule: f.rule, clause: f.clause, severity: f.severity, value: f.value })) ?? [];
    this.deps.audit.record({
      type: auditType(action, sent.deliveries),
      messageId: id,
      sender: message.envelope.from,
      recipients: message.envelope.to,
      ...(subject !== undefined ? { subject } : {}),
      attachments: sent.deliveries
        ? sent.deliveries.flatMap((d) => d.encrypted?.files ?? [])
        : (action === 'reject' || action === 'hold') && attachmentCount > 0
          ? stoppedAttachments(message.raw)
          : [],
      ...findingFields(verdict?.findings ?? []),
      action,
      actor: message.client.user ?? message.client.address,
      ...(outcome.code >= 400 ? { detail: `${outcome.code} ${outcome.text}` } : {}),
    });
    logger.info(
      {
        ...line,
        action,
        ms: Math.round(performance.now() - started),
        reply,
        ...sent,
        ...(findings.length > 0
          ? { rules: [...new Set(findings.map((f) => f.rule))], clauses: [...new Set(findings.map((f) => f.clause))], findings }
          : {}),
      },
      'message',
    );
    // a final answer only: after a 451 the client sends the message again, and that opens it
    if (action !== 'tempfail' && verdict?.findings.some((f) => f.incident)) {
      this.deps.incidents?.ruleFired({ messageId: id, raw: message.raw, envelope: message.envelope, subject: subject ?? '', findings: verdict.findings, action: action as 'deliver' | 'hold' | 'reject' });
    }
    return outcome;
  }

  /** 第6-1: the message waits for its sender's confirmation; 250 once it is stored. */
  private async hold(id: string, message: InboundMessage, verdict: Verdict, judgement: Judgement): Promise<Outcome> {
    const result = await this.deps.holds.hold({ id, raw: message.raw, envelope: message.envelope, verdict, subject: judgement.subject, encryption: judgement.encryption });
    return result.kind === 'held'
      ? { id, code: 250, text: `2.0.0 Ok: held for confirmation as ${id}` }
      : { id, code: 550, text: `5.7.1 ${result.rule}: ${result.reason}` };
  }

  /**
   * The next hop took the message for some recipients only. A temporary refusal must not lose
   * the message: answer 451 so the sender retries (the accepted recipients may then get it twice,
   * which beats never). Permanent refusals are final: 250, and the sender gets a non-delivery notice.
   */
  private async partlyRefused(id: string, sender: string, subject: string, refused: Refusal[]): Promise<Outcome> {
    const { logger, nextHop, hostname } = this.deps;
    const temporary = refused.filter((r) => r.reply.startsWith('4'));
    logger.warn({ id, refused, retry: temporary.length > 0 }, 'next hop refused some recipients');
    if (temporary.length > 0) {
      return { id, code: 451, text: `4.4.0 Next hop deferred ${temporary.map((r) => r.address).join(', ')}, try again later` };
    }
    if (sender !== '') {
      try {
        const notice = await nonDeliveryNotice({ ref: id, sender, subject, refused, hostname });
        await nextHop.deliver(notice);
        logger.info({ id: notice.id, ref: id, to: sender }, 'non-delivery notice sent');
      } catch (err) {
        logger.error({ ref: id, err: (err as Error).message }, 'cannot send the non-delivery notice');
      }
    }
    return { id, code: 250, text: `2.0.0 Ok: delivered as ${id} (${refused.length} recipient(s) refused, sender notified)` };
  }
}

const ENCRYPTION_CLAUSE = '遵守事項 第6-2';

/** Names and SHA-256 of what a rejected or held message carried, for the reviewers (特記事項 第9). */
function stoppedAttachments(raw: Buffer): { name: string; sha256: string }[] {
  try {
    return attachmentDigests(parseMessage(raw)).map(({ name, sha256 }) => ({ name, sha256 }));
  } catch {
    // the decision stands; its event then lacks only the attachment list
    return [];
  }
}

/** The audit event type of a decision. */
function auditType(action: string, deliveries: Extract<DispatchResult, { kind: 'sent' }>['deliveries'] | undefined): string {
  if (action === 'reject') return 'rejected';
  if (action === 'hold') return 'held';
  if (action === 'tempfail') return 'deferred';
  return deliveries?.some((d) => d.encrypted) ? 'encrypted' : 'delivered';
}

function encryptionFinding(r: Extract<DispatchResult, { kind: 'refused' }>): Finding {
  const ja = r.rule === 'signed-message' ? '署名付きメールの添付ファイルは、署名を壊さずに暗号化できません。' : '添付ファイルがすでに暗号化されています。';
  return { rule: r.rule, clause: ENCRYPTION_CLAUSE, severity: r.action, message: `${ja} / ${r.reason}`, reason: r.reason, value: r.value };
}

/** Already password-protected files travel as they are; the log says which (第6-2 is met by their own encryption). */
function alreadyEncryptedFinding(files: string[]): Finding {
  const reason = 'attachment already encrypted, sent as it is';
  return { rule: 'already-encrypted', clause: ENCRYPTION_CLAUSE, severity: 'monitor', message: `すでに暗号化された添付ファイルをそのまま送信しました。 / ${reason}`, reason, value: files.join(', ') };
}
