import type { AuditWriter } from '../audit/writer.js';
import type { IncidentService } from '../audit/incidents.js';
import type { Judge } from '../policy/judge.js';
import type { DeliveryEvents } from './events.js';
import type { DeliveryPipeline } from './pipeline.js';

/** How many recent messages are remembered, so a message of several copies counts once per sender. */
const COUNTED = 10_000;

/**
 * What reacts to a delivery, the same for direct mail, released holds and anything the outbox
 * sends later:
 * - the delivery history learns the outside domains (first-time-domain) and counts the sender's
 *   message once (sender-burst);
 * - the audit log records copies the outbox sent (a direct copy is in the gateway's decision
 *   event) and every notice sent;
 * - incidents learn that their report reached the client's contact, or failed to;
 * - the sender hears of a queued copy that failed for good (refused by the next hop, or not
 *   taken in time), as of recipients refused while the client waited.
 */
export function subscribeAfterDelivery(
  events: DeliveryEvents,
  deps: {
    judge: Pick<Judge, 'delivered'>;
    audit: Pick<AuditWriter, 'record'>;
    incidents: Pick<IncidentService, 'noticeSent' | 'noticeFailed'>;
    senders: Pick<DeliveryPipeline, 'notifySender'>;
  },
): void {
  const counted = new Set<string>();
  events.on('copy-delivered', (e) => {
    const first = !counted.has(e.ref);
    if (first) {
      counted.add(e.ref);
      if (counted.size > COUNTED) counted.delete(counted.values().next().value!);
    }
    return deps.judge.delivered(e.envelope, { countSender: first });
  });
  events.on('copy-delivered', (e) => {
    if (e.via !== 'outbox') return;
    deps.audit.record({
      type: e.encrypted ? 'encrypted' : 'delivered',
      messageId: e.id,
      recipients: e.envelope.to,
      ...(e.encrypted ? { attachments: e.encrypted.files } : {}),
      action: 'message',
      actor: 'outbox',
      detail: `ref ${e.ref}`,
    });
  });
  events.on('notice-delivered', ({ job }) => {
    deps.audit.record({ type: 'notice-sent', messageId: job.id, recipients: job.envelope.to, action: job.kind, actor: 'outbox', detail: `ref ${job.ref}` });
  });
  events.on('notice-delivered', ({ job, accepted }) => deps.incidents.noticeSent(job, accepted));
  events.on('job-failed', ({ job, error }) => deps.incidents.noticeFailed(job, error));
  events.on('job-failed', ({ job, error }) => {
    if (job.kind !== 'message') return;
    return deps.senders.notifySender({ ref: job.ref, subject: '', sender: job.envelope.from, refused: job.envelope.to.map((address) => ({ address, reply: error })) });
  });
}
