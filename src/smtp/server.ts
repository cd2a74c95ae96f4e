import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../config/schema.js';
import type { InboundMessage, Outcome } from '../gateway.js';
import type { Logger } from '../log.js';
import { asciiDomain } from '../message/address.js';
import { relayNetworkCheck } from './relay-access.js';
import { REPLIES, SmtpReply } from './replies.js';
import { userCheck } from './users.js';
import { InFlight } from '../util/in-flight.js';
import type { Spool } from '../store/spool.js';
import { InFlightBudget, receiveData } from './receive.js';

/** What the listener hands each complete message to; it knows nothing of what happens next. */
export interface MessageHandler {
  process(message: InboundMessage): Promise<Outcome>;
}

/**
 * The inbound SMTP listener. Relays without AUTH only for `smtp.relayNetworks` (how Postfix hands
 * mail to a content filter); everyone else must AUTH, which is only offered after STARTTLS.
 */
export class SmtpListener {
  private readonly server: SMTPServer;
  private closing = false;
  /** Messages between the start of DATA and their answer; shutdown waits for them. */
  private readonly inFlight = new InFlight();
  /** Bytes of the messages being received and handled now (smtp.inFlightBytes). */
  readonly budget: InFlightBudget;

  constructor(
    private readonly config: Config,
    private readonly handler: MessageHandler,
    private readonly logger: Logger,
    /** Where messages past smtp.spoolThreshold are received. */
    private readonly spool: Spool,
  ) {
    this.budget = new InFlightBudget(config.smtp.inFlightBytes);
    const { smtp } = config;
    const mayRelay = relayNetworkCheck(smtp.relayNetworks);
    const checkUser = userCheck(smtp.users);
    const knownUsers = new Set(smtp.users.map((u) => u.username));
    const tls = smtp.tls ? { key: fs.readFileSync(smtp.tls.key), cert: fs.readFileSync(smtp.tls.cert) } : null;

    this.server = new SMTPServer({
      name: smtp.hostname,
      banner: 'outguard ESMTP',
      size: smtp.maxSize,
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: true,
      allowInsecureAuth: false,
      ...(tls ?? {}),
      disableReverseLookup: !smtp.reverseLookup,
      maxClients: smtp.maxClients,
      socketTimeout: smtp.socketTimeoutMs,
      closeTimeout: smtp.shutdownTimeoutMs,
      hideENHANCEDSTATUSCODES: true,
      logger: false,

      // AUTH is neither advertised nor accepted until the connection is encrypted.
      onConnect: (session, callback) => {
        session.disabledCommands = tls ? ['AUTH'] : ['STARTTLS', 'AUTH'];
        callback();
      },
      onSecure: (_socket, session, callback) => {
        session.disabledCommands = [];
        callback();
      },

      onAuth: (auth, session, callback) => {
        if (auth.method !== 'PLAIN' && auth.method !== 'LOGIN') return callback(REPLIES.authMethod());
        checkUser(auth.username ?? '', auth.password ?? '').then(
          (ok) => {
            // a name that is no user may be a password typed into the wrong field: it is not logged
            this.logger.info({ client: session.remoteAddress, username: knownUsers.has(auth.username ?? '') ? auth.username : '(unknown user)', ok }, 'smtp auth');
            callback(ok ? null : REPLIES.authFailed(), ok ? { user: auth.username } : undefined);
          },
          () => callback(REPLIES.authFailed()),
        );
      },

      onMailFrom: (address, session, callback) => {
        if (this.closing) return callback(REPLIES.shuttingDown());
        // a declared size that does not fit now is refused before the client sends it
        const args = address.args as Record<string, string> | false;
        const declared = (args && Number(args.SIZE)) || 0;
        if (this.budget.bytes + Math.min(declared, smtp.maxSize) > this.budget.limit) {
          this.logger.warn({ client: session.remoteAddress, inFlight: this.budget.bytes, declared }, 'in-flight budget full: new mail deferred');
          return callback(REPLIES.busy());
        }
        if (!session.user && !mayRelay(session.remoteAddress)) {
          this.logger.info({ client: session.remoteAddress, action: 'refused' }, 'relay denied: not authenticated');
          return callback(REPLIES.authRequired());
        }
        callback();
      },

      onRcptTo: (_address, session, callback) => {
        if (session.envelope.rcptTo.length >= smtp.maxRecipients) return callback(REPLIES.tooManyRecipients(smtp.maxRecipients));
        callback();
      },

      onData: (stream, session, callback) => {
        const received = this.receive(stream, session);
        this.inFlight.track(received);
        received.then(
          (outcome) => {
            if (outcome.code >= 400) return callback(new SmtpReply(outcome.code, outcome.text));
            callback(null, outcome.text);
          },
          // receive() maps every known failure; anything else must still not be taken as accepted
          () => callback(new SmtpReply(451, '4.3.0 Temporary local problem, try again later')),
        );
      },
    });
    this.server.on('error', (err) => this.logger.error({ err: err.message }, 'smtp listener error'));
  }

  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<Outcome> {
    const received = await receiveData(stream, { threshold: this.config.smtp.spoolThreshold, budget: this.budget, spool: this.spool });
    const keep = session.envelope.smtpUtf8 ? (a: string) => a : asciiDomain;
    const envelope = {
      from: session.envelope.mailFrom ? keep(session.envelope.mailFrom.address) : '',
      to: session.envelope.rcptTo.map((r) => keep(r.address)),
    };
    if (received.kind !== 'message') {
      const tooBig = received.kind === 'too-big';
      this.logger.info(
        { client: session.remoteAddress, from: envelope.from, rcptCount: envelope.to.length, size: received.size, action: tooBig ? 'reject' : 'tempfail', reason: tooBig ? 'size' : 'in-flight budget' },
        'message',
      );
      const reply = tooBig ? REPLIES.tooBig(this.config.smtp.maxSize) : REPLIES.busy();
      return { id: '', code: reply.responseCode, text: reply.message };
    }
    try {
      return await this.handler.process({
        source: received.source,
        envelope,
        client: { address: session.remoteAddress, user: typeof session.user === 'string' ? session.user : undefined },
      });
    } finally {
      received.done();
    }
  }

  listen(): Promise<AddressInfo> {
    const { host, port } = this.config.smtp.listen;
    return new Promise((resolve, reject) => {
      const server = this.server.server;
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      this.server.listen(port, host, () => {
        server.off('error', onError);
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting connections, lets every message already in DATA get its answer, then closes
   * the idle connections with 421 so clients (Postfix) retry elsewhere or later.
   */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, this.config.smtp.shutdownTimeoutMs).unref());
    await Promise.race([this.inFlight.drain(), deadline]);
    for (const connection of this.server.connections) {
      connection.send(421, `4.3.2 ${this.config.smtp.hostname} Service shutting down`);
      connection.close();
    }
    await closed;
  }
}
