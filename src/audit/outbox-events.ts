import type { JobInfo } from '../store/outbox-store.js';
import type { NewAuditEvent } from './events.js';

/**
 * The audit event of a job the outbox sent (stored with the mark that it was sent): a copy of a
 * message sent later (a released hold, a retry) as delivered or encrypted, any notice as
 * notice-sent. A copy sent while its client waited is in the gateway's decision event instead.
 */
export function sentJobEvent(job: JobInfo): NewAuditEvent {
  if (job.kind !== 'message') {
    return { type: 'notice-sent', messageId: job.id, recipients: job.envelope.to, action: job.kind, actor: 'outbox', detail: `ref ${job.ref}` };
  }
  const encrypted = job.meta?.encrypted;
  return {
    type: encrypted ? 'encrypted' : 'delivered',
    messageId: job.id,
    recipients: job.envelope.to,
    ...(encrypted ? { attachments: encrypted.files } : {}),
    action: 'message',
    actor: 'outbox',
    detail: `ref ${job.ref}`,
  };
}
