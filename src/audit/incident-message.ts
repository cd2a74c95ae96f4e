import type { Hold } from '../hold/types.js';
import type { HoldStore } from '../store/hold-store.js';
import type { OutboxStore } from '../store/outbox-store.js';
import type { AuditStore } from './audit-store.js';
import type { AuditEvent } from './events.js';
import { findingFields } from './events.js';
import type { IncidentMessage, MessageState, PasswordState } from './incident-types.js';

/**
 * What an incident report says about its message, worked out from what outguard kept: the hold
 * (for held messages: attachments with SHA-256 even when they were never sent), the audit events
 * (sender, recipients, subject, rules, what became of it) and the outbox (the password notices).
 */

/** Finds the message of a manual incident; null when outguard has no record of the id. */
export type MessageLookup = (messageId: string) => Promise<Omit<IncidentMessage, 'password'> & { encrypted: boolean } | null>;

/** A held (or once held) message as an incident sees it. */
export function messageOfHold(hold: Hold): Omit<IncidentMessage, 'password'> {
  return {
    sender: hold.envelope.from,
    recipients: [...hold.envelope.to],
    subject: hold.subject,
    attachments: hold.attachments.map((a) => ({ name: a.name, sha256: a.sha256 })),
    ...findingFields(hold.findings),
    state: hold.state === 'released' ? 'sent' : hold.state === 'held' ? 'held' : 'not-sent',
  };
}

/** The last decision about a message decides its state. */
const STATE_OF_EVENT: Record<string, MessageState> = {
  delivered: 'sent',
  encrypted: 'sent',
  released: 'sent',
  held: 'held',
  rejected: 'not-sent',
  discarded: 'not-sent',
  expired: 'not-sent',
  deferred: 'not-sent',
  'next-hop-refused': 'not-sent',
};

/** Builds the lookup from the stores: the hold if there is one, the audit events in any case. */
export function messageLookup(stores: { audit: Pick<AuditStore, 'list'>; holds?: Pick<HoldStore, 'get'> }): MessageLookup {
  return async (messageId) => {
    const events = (await stores.audit.list({ messageId })).filter((e) => STATE_OF_EVENT[e.type] !== undefined);
    const hold = stores.holds ? await stores.holds.get(messageId) : null;
    if (!hold && events.length === 0) return null;
    const encrypted = events.some((e) => e.type === 'encrypted');
    if (hold) return { ...messageOfHold(hold), encrypted };
    return { ...fromEvents(events), encrypted };
  };
}

function fromEvents(events: AuditEvent[]): Omit<IncidentMessage, 'password'> {
  const last = <K extends keyof AuditEvent>(key: K): AuditEvent[K] | undefined => [...events].reverse().find((e) => e[key] !== undefined)?.[key];
  return {
    sender: last('sender') ?? '',
    recipients: last('recipients') ?? [],
    subject: last('subject') ?? '',
    attachments: last('attachments') ?? [],
    rules: [...new Set(events.flatMap((e) => e.rules ?? []))],
    clauses: [...new Set(events.flatMap((e) => e.clauses ?? []))],
    state: STATE_OF_EVENT[events[events.length - 1]!.type]!,
  };
}

/**
 * Whether the password of the message went out. Each encrypted copy of message M has its own
 * password notice in the outbox, whose ref is the copy's id: M for the first copy, M-2, M-3, …
 * for the others (one per recipient group, so at most one more than there are recipients).
 * `encrypted` says the audit log knows the message was encrypted: with no notice left on record
 * (purged) the answer is then 'unknown' rather than 'not-applicable'.
 */
export async function passwordState(outbox: Pick<OutboxStore, 'list'>, messageId: string, recipients: number, encrypted: boolean): Promise<PasswordState> {
  const refs = [messageId, ...Array.from({ length: recipients }, (_, i) => `${messageId}-${i + 2}`)];
  const states: string[] = [];
  for (const ref of refs) {
    for (const job of await outbox.list({ ref })) if (job.kind === 'password-notice') states.push(job.state);
  }
  if (states.length === 0) return encrypted ? 'unknown' : 'not-applicable';
  if (states.includes('sent')) return 'sent';
  if (states.includes('waiting') || states.includes('ready')) return 'pending';
  return 'not-sent';
}
