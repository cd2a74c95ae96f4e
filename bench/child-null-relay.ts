/**
 * The "null relay": a plain smtp-server that pipes each message's DATA stream into a pooled
 * nodemailer transport and answers 250 once the next hop has taken it. No checks, no header,
 * no logging; the smtp-server and transport options mirror what outguard sets, so the only
 * difference left is outguard's own work.
 *
 *   node --import tsx bench/child-null-relay.ts <nextHopPort> <maxConnections> <maxMessages>
 */
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { serveParent } from './ipc.js';

const [hopPort, maxConnections, maxMessages] = process.argv.slice(2).map(Number);
if (!hopPort || !maxConnections || !maxMessages) throw new Error('usage: child-null-relay.ts <nextHopPort> <maxConnections> <maxMessages>');

const TIMEOUT_MS = 60000; // outguard's delivery.timeoutMs default

const transport = nodemailer.createTransport({
  pool: true,
  host: '127.0.0.1',
  port: hopPort,
  secure: false,
  name: 'null-relay.bench.invalid',
  maxConnections,
  maxMessages,
  ignoreTLS: true,
  connectionTimeout: TIMEOUT_MS,
  greetingTimeout: TIMEOUT_MS,
  socketTimeout: TIMEOUT_MS,
  disableFileAccess: true,
  disableUrlAccess: true,
  logger: false,
});

const server = new SMTPServer({
  name: 'null-relay.bench.invalid',
  banner: 'null relay ESMTP',
  size: 52428800,
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  disableReverseLookup: true,
  maxClients: 100,
  socketTimeout: 60000,
  hideENHANCEDSTATUSCODES: true,
  logger: false,
  onData(stream, session, callback) {
    transport
      .sendMail({
        envelope: {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
        },
        raw: stream,
      })
      .then(
        () => callback(null, 'Ok: relayed'),
        (err: Error) => {
          const fail = () => callback(Object.assign(new Error(`4.4.0 ${err.message}`), { responseCode: 451 }));
          // the stream must be read to its end before smtp-server can answer
          if (stream.readableEnded) return fail();
          stream.once('end', fail);
          stream.resume();
        },
      );
  },
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.server.address() as AddressInfo;
  serveParent(port, {
    stop: () => {
      transport.close();
      server.close(() => process.exit(0));
      for (const c of server.connections) c.close();
    },
  });
});
