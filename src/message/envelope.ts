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
  /**
   * Awaited before the last bytes are handed over (the end of DATA, the file's last write): the
   * point after which the message has left. When it rejects the hop cuts the message off there,
   * so nothing is delivered.
   */
  beforeEnd?: () => Promise<void>;
}
