import { Readable } from 'node:stream';
import nodemailer, { type Mail } from 'nodemailer';
import type { Config } from '../config/schema.js';
import { type ByteSource, READ_BYTES } from '../message/source.js';
import type { OutboundMessage } from '../message/envelope.js';
import { type Accepted, type NextHop, NextHopError } from './next-hop.js';

type SmtpNextHop = Extract<Config['nextHop'], { kind: 'smtp' }>;

interface SmtpError extends Error {
  code?: string;
  /** The SMTP command nodemailer was at: CONN, EHLO, MAIL FROM, RCPT TO, DATA, … */
  command?: string;
  response?: string;
  responseCode?: number;
  rejectedErrors?: SmtpError[];
}

interface SendInfo {
  accepted: (string | { address: string })[];
  rejected: (string | { address: string })[];
  rejectedErrors?: (SmtpError & { recipient?: string })[];
  response: string;
}

const address = (a: string | { address: string }) => (typeof a === 'string' ? a : a.address);

/** What nodemailer's pool transport reads of a message (smtp-pool/index.js and pool-resource.js). */
interface PoolMail {
  data: Record<string, never>;
  message: {
    getEnvelope(): { from: string; to: string[]; size: number };
    messageId(): string;
    getHeader(name: string): string;
    createReadStream(): Readable;
  };
}

interface PoolTransport {
  send(mail: PoolMail, callback: (err: SmtpError | null, info: SendInfo) => void): void;
}

/**
 * Sends to the next SMTP server over pooled connections (nodemailer). The raw bytes go out
 * as they are; nodemailer only dot-stuffs and turns bare CR or LF into CRLF, as SMTP requires.
 *
 * Messages go straight to the pool transport rather than through sendMail: for raw mail, sendMail
 * only builds a MIME tree, a random Message-ID and a stream pipeline around bytes that are sent
 * unchanged, and on the relay's hot path that costs as much as the policy checks. A test in
 * test/delivery/smtp-hop.test.ts keeps this adapter honest against the installed nodemailer.
 */
export class SmtpHop implements NextHop {
  readonly description: string;
  private readonly transport: Mail;
  private readonly pool: PoolTransport;

  constructor(hop: SmtpNextHop, delivery: Config['delivery'], heloName: string) {
    this.description = hop.url;
    this.transport = nodemailer.createTransport({
      pool: true,
      host: hop.host,
      port: hop.port,
      secure: hop.secure,
      name: heloName,
      maxConnections: delivery.maxConnections,
      maxMessages: 1000,
      requireTLS: delivery.tls === 'required' || delivery.tls === 'verify',
      ignoreTLS: delivery.tls === 'off',
      // Opportunistic TLS encrypts without authenticating the peer, as Postfix's "may" level does;
      // refusing an unverifiable certificate there would only push mail back to plain text.
      tls: { rejectUnauthorized: delivery.tls === 'verify' },
      auth: delivery.auth ?? undefined,
      connectionTimeout: delivery.timeoutMs,
      greetingTimeout: delivery.timeoutMs,
      socketTimeout: delivery.timeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
    });
    this.pool = (this.transport as unknown as { transporter: PoolTransport }).transporter;
  }

  async deliver(message: OutboundMessage): Promise<Accepted> {
    let info: SendInfo;
    try {
      info = await new Promise<SendInfo>((resolve, reject) => this.pool.send(poolMail(message), (err, sent) => (err ? reject(err) : resolve(sent))));
    } catch (err) {
      throw toNextHopError(err as SmtpError);
    }
    const rejectedErrors = info.rejectedErrors ?? [];
    return {
      reply: info.response,
      accepted: info.accepted.map(address),
      rejected: info.rejected.map(address).map((a) => ({
        address: a,
        reply: rejectedErrors.find((e) => e.recipient === a)?.response ?? 'rejected',
      })),
    };
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

function poolMail(message: OutboundMessage): PoolMail {
  const { raw, envelope } = message;
  return {
    data: {},
    message: {
      getEnvelope: () => ({ from: envelope.from, to: [...envelope.to], size: raw.length }),
      messageId: () => '',
      getHeader: () => '',
      // a real stream, so the pool can tell that no byte was read when it retries on another connection
      createReadStream: () => sourceStream(raw, message.beforeEnd),
    },
  };
}

/**
 * The message a piece at a time from wherever it is kept (a small one in one push); a piece that
 * cannot be read (a damaged chunk) fails the stream, so DATA is never ended. The last piece waits
 * for `beforeEnd`, and a rejection fails the stream the same way.
 */
function sourceStream(source: ByteSource, beforeEnd?: () => Promise<void>): Readable {
  let at = 0;
  return new Readable({
    read() {
      if (at >= source.length) return void this.push(null);
      let piece: Buffer;
      try {
        piece = source.read(at, at + READ_BYTES);
      } catch (err) {
        return void this.destroy(err as Error);
      }
      at += piece.length;
      if (at < source.length || !beforeEnd) return void this.push(piece);
      beforeEnd().then(
        () => this.push(piece),
        (err: Error) => this.destroy(err),
      );
    },
  });
}

function toNextHopError(err: SmtpError): NextHopError {
  if (err.response) return new NextHopError(err.response, err.responseCode);
  // nodemailer refused the envelope before asking the server (an address with <, > or a line
  // break cannot be written in SMTP): that is final, as the server's 553 would be
  if (err.code === 'EENVELOPE') return new NextHopError(`553 5.1.3 ${err.message}`, 553);
  const firstRejected = err.rejectedErrors?.[0];
  if (firstRejected?.response) return new NextHopError(firstRejected.response, firstRejected.responseCode);
  // a connection that failed before DATA took nothing; one that broke later may have delivered
  const beforeData = err.command !== undefined && !/^(DATA|message|BDAT)/i.test(err.command);
  return new NextHopError(`${err.code ?? 'ERROR'} ${err.message}`, undefined, beforeData);
}
