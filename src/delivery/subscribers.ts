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
 * - incidents learn that their report reached the client's contact, or failed to;
 * - the sender hears of a queued copy that failed for good (refused by the next hop, or not
 *   taken in time), as of recipients refused while the client waited.
 * The audit events of what the outbox sent are not reactions: they are stored with the mark that
 * it was sent (audit/outbox-events.ts).
 */
export function subscribeAfterDelivery(
  events: DeliveryEvents,
  deps: {
    judge: Pick<Judge, 'delivered'>;
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
  events.on('notice-delivered', ({ job, accepted }) => deps.incidents.noticeSent(job, accepted));
  events.on('job-failed', ({ job, error }) => deps.incidents.noticeFailed(job, error));
  events.on('job-failed', ({ job, error }) => {
    if (job.kind !== 'message') return;
    return deps.senders.notifySender({ ref: job.ref, subject: '', sender: job.envelope.from, refused: job.envelope.to.map((address) => ({ address, reply: error })) });
  });
}
