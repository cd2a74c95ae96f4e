import type { Accepted } from './next-hop.js';
import type { Envelope } from '../message/envelope.js';
import type { JobInfo, JobMeta } from '../store/outbox-store.js';

/** A copy of a message the next hop accepted, whichever way it went (the gateway's own send, or the outbox). */
export interface CopyDelivered {
  /** The copy's X-Outguard-Id. */
  id: string;
  /** The message it is a copy of (the gateway's id, or the hold's). */
  ref: string;
  envelope: Envelope;
  encrypted?: JobMeta['encrypted'];
  /** 'direct': sent while the client waited (the gateway's decision event records it); 'outbox': sent later. */
  via: 'direct' | 'outbox';
  accepted: Accepted;
}

export interface DeliveryEventMap {
  'copy-delivered': CopyDelivered;
  /** A notice (password, hold, incident, non-delivery) the next hop accepted. */
  'notice-delivered': { job: JobInfo; accepted: Accepted };
  /** An outbox job that failed for good. */
  'job-failed': { job: JobInfo; error: string };
}

type Listener<T> = (event: T) => void | Promise<void>;

/**
 * What happens after delivery, told once to whoever reacts — known domains and sender history,
 * the audit log, incidents — instead of each sender of mail calling each of them by hand. A
 * listener that fails is reported to onError and never stops the others or the delivery.
 */
export class DeliveryEvents {
  private readonly listeners = new Map<keyof DeliveryEventMap, Listener<never>[]>();

  constructor(private readonly onError: (event: keyof DeliveryEventMap, err: unknown) => void = () => undefined) {}

  on<K extends keyof DeliveryEventMap>(event: K, listener: Listener<DeliveryEventMap[K]>): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener as Listener<never>]);
    return this;
  }

  /** Calls every listener; resolves once all have finished (a failure is reported, not thrown). */
  async emit<K extends keyof DeliveryEventMap>(event: K, payload: DeliveryEventMap[K]): Promise<void> {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        await (listener as Listener<DeliveryEventMap[K]>)(payload);
      } catch (err) {
        this.onError(event, err);
      }
    }
  }
}
