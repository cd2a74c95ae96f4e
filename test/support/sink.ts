import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface Received {
  from: string;
  to: string[];
  raw: Buffer;
}

export interface Sink {
  port: number;
  messages: Received[];
  /** Resolves once at least n messages arrived (rejects after timeoutMs). */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  /** Closes every client connection (a next hop that drops idle pooled connections). */
  dropConnections(): Promise<void>;
  close(): Promise<void>;
}

export interface SinkOptions {
  port?: number;
  /** Answer every DATA with this error instead of 250. */
  reject?: { code: number; text: string };
  /** Wait this long before answering DATA (a slow next hop). */
  delayMs?: number;
  /** Refuse these recipients at RCPT TO with 550. */
  refuseRecipients?: string[];
  /** Refuse these recipients at RCPT TO with 450 (try later). */
  deferRecipients?: string[];
  /** A strict server: refuse (500 5.5.2) a message with a line longer than this (RFC 5322: 998). */
  maxLineLength?: number;
}

/** A real SMTP server on loopback that records what it receives: the next hop in tests. */
export async function startSink(options: SinkOptions = {}): Promise<Sink> {
  const messages: Received[] = [];
  const waiters: (() => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    size: 200 * 1024 * 1024,
    onRcptTo(address, _session, cb) {
      if (options.refuseRecipients?.includes(address.address)) {
        return cb(Object.assign(new Error('no such user'), { responseCode: 550 }));
      }
      if (options.deferRecipients?.includes(address.address)) {
        return cb(Object.assign(new Error('mailbox busy, try later'), { responseCode: 450 }));
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        if (options.reject) return cb(Object.assign(new Error(options.reject.text), { responseCode: options.reject.code }));
        const max = options.maxLineLength;
        if (max !== undefined && Buffer.concat(chunks).toString('latin1').split(/\r?\n/).some((l) => l.length > max)) {
          return cb(Object.assign(new Error('5.5.2 Line too long'), { responseCode: 500 }));
        }
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        waiters.splice(0).forEach((w) => w());
        cb(null, 'Ok: queued by sink');
      });
    },
  });
  // a client killed mid-transaction (the crash tests kill the gateway) resets its connection: not a failure of the sink
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    async waitFor(n, timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`sink got ${messages.length} messages, expected ${n}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return messages;
    },
    async dropConnections() {
      for (const c of server.connections) c.close();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of server.connections) c.close();
      }),
  };
}
