import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../config/schema.js';
import type { InboundMessage, Outcome } from '../gateway.js';
import type { Logger } from '../log.js';
import { asciiDomain } from '../message/address.js';
import { relayNetworkCheck } from './relay-access.js';
import { REPLIES, SmtpReply } from './replies.js';
import { senderCheck, userCheck } from './users.js';
import { LoginLockout } from '../util/lockout.js';
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
  private readonly mayRelay: (address: string) => boolean;
  /** The stage deadlines of clients outside relayNetworks, by session id (a session without one has none). */
  private readonly deadlines = new Map<string, NodeJS.Timeout>();

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
    this.mayRelay = mayRelay;
    const checkUser = userCheck(smtp.users);
    const maySendAs = senderCheck(smtp.users, config.organization.internalDomains);
    // AUTH failures in a row lock a username and a client address out, as the web login does
    const lockout = new LoginLockout(smtp.maxAuthFailures, smtp.authLockoutMinutes * 60_000);
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
        // Postfix (or a balancer) in relayNetworks connects from one address, often many times:
        // the limits below are for everyone else, so slow or hostile clients cannot take its slots
        if (mayRelay(session.remoteAddress)) return callback();
        const refusal = this.admit(session.remoteAddress);
        if (refusal) {
          this.logger.warn({ client: session.remoteAddress, reason: refusal.message }, 'connection refused');
          return callback(refusal);
        }
        this.nextStage(session.id);
        callback();
      },
      onClose: (session) => this.endStages(session.id),
      onSecure: (_socket, session, callback) => {
        session.disabledCommands = [];
        callback();
      },

      onAuth: (auth, session, callback) => {
        if (auth.method !== 'PLAIN' && auth.method !== 'LOGIN') return callback(REPLIES.authMethod());
        const username = auth.username ?? '';
        // a name that is no user may be a password typed into the wrong field: it is not logged
        const shown = knownUsers.has(username) ? username : '(unknown user)';
        if (lockout.lockedUntil(username, session.remoteAddress, Date.now()) !== undefined) {
          this.logger.warn({ client: session.remoteAddress, username: shown }, 'smtp auth refused: locked out after repeated failures');
          return callback(REPLIES.authLocked());
        }
        checkUser(username, auth.password ?? '').then(
          (ok) => {
            this.logger.info({ client: session.remoteAddress, username: shown, ok }, 'smtp auth');
            if (ok) lockout.success(username, session.remoteAddress);
            else {
              for (const started of lockout.failure(username, session.remoteAddress, Date.now())) {
                this.logger.warn({ client: session.remoteAddress, username: shown, scope: started.scope, until: new Date(started.until).toISOString() }, 'smtp auth locked out');
              }
            }
            callback(ok ? null : REPLIES.authFailed(), ok ? { user: username } : undefined);
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
        // a login sends as its own addresses: the confirmation and the release link go to the sender
        if (typeof session.user === 'string' && !maySendAs(session.user, address.address)) {
          this.logger.warn({ client: session.remoteAddress, user: session.user, from: address.address, action: 'refused' }, 'sender address not allowed for this login');
          return callback(REPLIES.senderNotYours(address.address));
        }
        // a stage ends only with a MAIL FROM that was taken: a refused one does not restart the clock
        if (this.deadlines.has(session.id)) this.nextStage(session.id);
        callback();
      },

      onRcptTo: (_address, session, callback) => {
        if (session.envelope.rcptTo.length >= smtp.maxRecipients) return callback(REPLIES.tooManyRecipients(smtp.maxRecipients));
        callback();
      },

      onData: (stream, session, callback) => {
        // DATA itself is bounded by the idle timeout, the size limit and the in-flight budget
        const limited = this.pauseStages(session.id);
        const received = this.receive(stream, session).finally(() => {
          if (limited) this.nextStage(session.id);
        });
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

  /** Whether one more client from `address` (outside relayNetworks) may connect: undefined, or the 421 that refuses it. */
  private admit(address: string): SmtpReply | undefined {
    const { smtp } = this.config;
    const others = [...this.server.connections].filter((c) => !this.mayRelay(c.remoteAddress));
    // smtp-server counts this connection already
    if (others.filter((c) => c.remoteAddress === address).length > smtp.maxClientsPerAddress) return REPLIES.tooManyFromAddress();
    if (others.length > smtp.maxClients - smtp.reservedForRelay) return REPLIES.noRoom();
    return undefined;
  }

  /**
   * A client outside relayNetworks must get from one stage to the next (connection to MAIL FROM,
   * MAIL FROM to DATA, end of DATA to the next MAIL FROM) within smtp.stageTimeoutMs, however
   * slowly it trickles bytes: the idle timeout alone restarts with every byte.
   */
  private nextStage(sessionId: string): void {
    clearTimeout(this.deadlines.get(sessionId));
    const timer = setTimeout(() => {
      this.deadlines.delete(sessionId);
      const connection = [...this.server.connections].find((c) => c.id === sessionId);
      if (!connection) return;
      this.logger.warn({ client: connection.remoteAddress }, 'connection closed: a stage took longer than smtp.stageTimeoutMs');
      const reply = REPLIES.tooSlow();
      connection.send(reply.responseCode, reply.message);
      connection.close();
    }, this.config.smtp.stageTimeoutMs);
    timer.unref();
    this.deadlines.set(sessionId, timer);
  }

  /** Stops the clock while DATA comes in; whether the session had one (to start it again after). */
  private pauseStages(sessionId: string): boolean {
    const had = this.deadlines.has(sessionId);
    this.endStages(sessionId);
    return had;
  }

  private endStages(sessionId: string): void {
    clearTimeout(this.deadlines.get(sessionId));
    this.deadlines.delete(sessionId);
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
