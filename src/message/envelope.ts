import type { ByteSource } from './source.js';

/** The SMTP envelope, kept exactly as the client gave it. `from` is '' for the null sender (<>). */
export interface Envelope {
  from: string;
  to: string[];
}

/** A message on its way out: the gateway's id, the envelope and the exact bytes to send (read by offsets). */
export interface OutboundMessage {
  id: string;
  envelope: Envelope;
  raw: ByteSource;
}
