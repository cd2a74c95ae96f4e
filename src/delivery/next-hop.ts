import type { OutboundMessage } from '../message/envelope.js';

/** What the next hop said when it took the message. */
export interface Accepted {
  /** The next hop's final reply, e.g. "250 2.0.0 Ok: queued as 4F2x" or "file:/path/id.eml". */
  reply: string;
  accepted: string[];
  /** Recipients the next hop refused while it took the message for the others. */
  rejected: { address: string; reply: string }[];
}

/** The next hop did not take the message; nothing was delivered. */
export class NextHopError extends Error {
  constructor(
    /** The next hop's reply or the local error, safe to log and to quote to the client. */
    readonly reply: string,
    readonly responseCode?: number,
    /** The failure came before any of the message was handed over (no connection, refused at connect): surely not delivered. */
    readonly beforeData = responseCode !== undefined,
  ) {
    super(reply);
    this.name = 'NextHopError';
  }
}

/** Where accepted mail goes next: another SMTP server, or a folder of .eml files. */
export interface NextHop {
  readonly description: string;
  /** Resolves once the next hop has accepted the message; rejects with NextHopError otherwise. */
  deliver(message: OutboundMessage): Promise<Accepted>;
  close(): Promise<void>;
}
