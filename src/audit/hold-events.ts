import type { Hold } from '../hold/types.js';
import type { ErasedBody } from '../store/hold-store.js';
import { type NewAuditEvent, findingFields } from './events.js';

/** The audit event of a decision on a hold (released, discarded, expired, escalated). */
export function holdDecisionEvent(hold: Hold, state: string, actor: string): NewAuditEvent {
  return {
    type: state,
    messageId: hold.id,
    sender: hold.envelope.from,
    recipients: hold.envelope.to,
    subject: hold.subject,
    attachments: hold.attachments.map((a) => ({ name: a.name, sha256: a.sha256 })),
    ...findingFields(hold.findings),
    action: state,
    actor,
    ...(hold.mistake ? { detail: 'the sender reported a mistake' } : {}),
  };
}

/** The audit event of one message the retention erased (retention.bodyDays); its other events stay. */
export function bodyPurgedEvent(erased: ErasedBody, days: number): NewAuditEvent {
  return {
    type: 'purged',
    messageId: erased.id,
    action: 'erase-bodies',
    actor: 'retention',
    detail: `message body erased ${days} days after it was ${erased.state} (${new Date(erased.decidedAt).toISOString()})`,
  };
}
