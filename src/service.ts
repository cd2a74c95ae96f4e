import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { createNextHop } from './delivery/create.js';
import { Gateway } from './gateway.js';
import type { Logger } from './log.js';
import { type Judge, LocalJudge } from './policy/judge.js';
import type { ReloadOutcome } from './policy/reloader.js';
import { ThreadJudge } from './policy/thread-judge.js';
import { SmtpListener } from './smtp/server.js';
import { WebServer } from './web/server.js';
import { ruleMessages } from './policy/rule-messages.js';
import { BUILT_IN_RULES, builtInRule } from './policy/encryption-gate.js';
import { Outbox } from './delivery/outbox.js';
import { DeliveryEvents } from './delivery/events.js';
import { DeliveryPipeline } from './delivery/pipeline.js';
import { subscribeAfterDelivery } from './delivery/subscribers.js';
import { listOf } from './policy/lists.js';
import { deriveKey, loadSecretKey, messageDigestKey } from './store/secret-key.js';
import { SqliteHoldStore } from './store/sqlite-holds.js';
import { HoldService } from './hold/service.js';
import { bodyPurgedEvent, holdDecisionEvent } from './audit/hold-events.js';
import { SqliteAuditStore } from './audit/sqlite-audit.js';
import { sentJobEvent } from './audit/outbox-events.js';
import { formatHead } from './audit/anchor.js';
import { openOwned } from './store/sqlite.js';
import { AuditWriter } from './audit/writer.js';
import { AuditJournal, replayJournal } from './audit/journal.js';
import { ThreadAppender } from './audit/thread-appender.js';
import { SqliteOutboxStore } from './store/sqlite-outbox.js';
import { SqliteIncidentStore } from './store/sqlite-incidents.js';
import { IncidentService } from './audit/incidents.js';
import { messageLookup } from './audit/incident-message.js';
import { senderMistakes } from './audit/sender-mistakes.js';
import { Spool } from './store/spool.js';

/** How often the audit chain's head is written to the log. */
const HEAD_LOG_MS = 5 * 60_000;

export interface RunningService {
  smtp: AddressInfo;
  web: AddressInfo;
  judge: Judge;
  /** Loads the policy again (SIGHUP); false when the new version was refused. */
  reloadPolicy(reason: string): Promise<boolean>;
  /** Stops accepting, lets in-flight messages finish, closes the next hop. */
  stop(): Promise<void>;
}

/** Starts the whole gateway from a loaded config: SMTP in, policy, next hop, web. */
export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  // The data dir: the data-at-rest key, the durable outbox (notices, released holds), the holds and
  // the audit log, all in outguard.db and sealed where they hold mail or secrets.
  const key = loadSecretKey(config.dataDir).key;
  // the outbox and the audit chain share a connection: a sent job's event goes in with its sent mark
  const [store, outboxDb] = openOwned(config.dataDir, {}, (db) => [new SqliteOutboxStore(db, key, { ownsDb: true }), db] as const);
  const holdStore = SqliteHoldStore.open(config.dataDir, key);
  // large mail is received into sealed spool files; a crash leaves some behind (chunks of copies
  // and holds being written when it came are swept by the outbox and hold timers)
  const spool = new Spool(config.dataDir);
  const leftovers = spool.clean();
  if (leftovers > 0) logger.info({ files: leftovers }, 'spool: removed the files of messages an interrupted run never answered');
  const anchorTrouble = (message: string) => logger.error({ anchorFile: config.audit.anchorFile, err: message }, 'cannot append to the audit anchor file; the next commit tries again');
  let auditStore: SqliteAuditStore;
  try {
    auditStore = new SqliteAuditStore(outboxDb, { key, anchorFile: config.audit.anchorFile, onAnchorError: (err) => anchorTrouble(err.message) });
  } catch (err) {
    await Promise.all([store.close(), holdStore.close()]);
    throw err;
  }
  // 特記事項 第9: every decision is an event in the keyed, anchored audit chain, written on a
  // thread of its own so that hashing and inserting stay off the SMTP thread
  const auditThread = await new ThreadAppender({ dataDir: config.dataDir, key, anchorFile: config.audit.anchorFile }, anchorTrouble).start().catch(async (err: unknown) => {
    await Promise.all([store.close(), holdStore.close(), auditStore.close()]);
    throw err;
  });
  // events the last run made durable but did not put into the chain (a crash) go in now
  let journal: AuditJournal;
  try {
    replayJournal(config.dataDir, auditStore, { truncate: true });
    journal = await AuditJournal.open(config.dataDir, auditStore.journalHeld());
  } catch (err) {
    await Promise.all([store.close(), holdStore.close(), auditStore.close(), auditThread.close()]);
    throw err;
  }
  const audit = new AuditWriter(journal, auditThread, logger);
  // the head in the log as well (at start, every few minutes, at stop): one more copy outside the database
  const logHead = async (when: string) => {
    const head = await auditStore.head();
    logger.info({ head: formatHead(head), anchorFile: config.audit.anchorFile, when }, 'audit chain head (COUNT:MAC)');
  };
  await logHead('start');
  const headTimer = setInterval(() => void logHead('periodic').catch(() => undefined), HEAD_LOG_MS);
  headTimer.unref();
  const incidentStore = SqliteIncidentStore.open(config.dataDir);
  // 遵守事項 第2: incidents notify the client's contact through the outbox (made below; kicked only after start-up)
  const incidents = new IncidentService({
    store: incidentStore,
    outboxStore: store,
    outbox: { kick: () => outbox.kick() },
    audit,
    logger,
    lookup: messageLookup({ audit: auditStore, holds: holdStore }),
    compliance: config.compliance,
  });
  const onReload = (o: ReloadOutcome) =>
    audit.record({ type: 'policy-reloaded', action: o.ok ? 'reloaded' : 'refused', actor: 'policy', detail: o.ok ? `${o.file} (${o.reason}): ${o.rules!.join(', ')}` : `${o.file} (${o.reason}): ${o.error}` });
  // Parsing and checking run on a policy thread, so they never hold up SMTP on the main thread.
  let judge: Judge;
  try {
    judge = config.policyThread ? await ThreadJudge.start(config, logger, onReload) : await LocalJudge.create(config, logger, { watch: true, onReload });
  } catch (err) {
    await Promise.all([store.close(), holdStore.close(), auditStore.close(), incidentStore.close(), auditThread.close()]);
    throw err;
  }
  const nextHop = createNextHop(config);
  // after delivery: known domains and sender history, the audit log, incidents — one event, several listeners
  const events = new DeliveryEvents((event, err) => logger.error({ event, err: (err as Error).message }, 'a reaction to a delivery failed'));
  // the pipeline is made below, before the outbox starts (which is when a copy can fail)
  subscribeAfterDelivery(events, { judge, incidents, senders: { notifySender: (n) => pipeline.notifySender(n) } });
  const outbox = new Outbox({
    store,
    hop: nextHop,
    logger,
    ledger: {
      // what the journal holds goes in first: the chain keeps the order (held, released, then the copy sent)
      appendInTransaction: (e) => {
        auditStore.holdJournaledInTransaction(audit.journaled());
        return auditStore.appendInTransaction(e);
      },
      anchorHead: () => auditStore.anchorHead(),
      eventOf: sentJobEvent,
    },
    onSent: (job, accepted) =>
      job.kind === 'message'
        ? events.emit('copy-delivered', { id: job.id, ref: job.ref, envelope: job.envelope, ...(job.meta?.encrypted ? { encrypted: job.meta.encrypted } : {}), via: 'outbox', accepted })
        : events.emit('notice-delivered', { job, accepted }),
    onFailed: (job, error) => events.emit('job-failed', { job, error }),
  });
  const internal = listOf('internal', config.organization.internalDomains);
  const isInternal = (domain: string) => internal.matchHost(domain) !== undefined;
  const pipeline = new DeliveryPipeline({ nextHop, store, outbox, events, logger, digestKey: messageDigestKey(key), hostname: config.smtp.hostname });
  await outbox.start();
  // 第6-1: held messages wait, sealed, for their sender (or an approver); deadlines survive restarts
  const mistakes = senderMistakes(config.compliance);
  const holds = new HoldService({
    store: holdStore,
    outboxStore: store,
    outbox,
    releaser: pipeline,
    logger,
    key,
    publicUrl: config.web.publicUrl,
    noticeFrom: config.notices.from,
    isInternal,
    onDecision: (hold, state, actor) => {
      const recorded = audit.commit(holdDecisionEvent(hold, state, actor));
      if (state === 'discarded' && hold.mistake && mistakes.incident) {
        incidents.openForMistake(hold, actor).catch((err: Error) => logger.error({ hold: hold.id, err: err.message }, 'cannot open the incident for a reported mistake; open it by hand'));
      }
      return recorded;
    },
    bodyDays: config.retention.bodyDays,
    onPurged: (erased, days) => audit.record(bodyPurgedEvent(erased, days)),
  });
  await holds.start();
  await incidents.start();
  const gateway = new Gateway({ judge, pipeline, holds, logger, noticeFrom: config.notices.from, isInternal, audit, incidents });
  const smtp = new SmtpListener(config, gateway, logger, spool);
  const rules = ruleMessages(config.policy);
  const web = new WebServer(config.web.listen, () => ({ nextHop: nextHop.description, rules: judge.rules().length }), holds, {
    csrfSecret: deriveKey(key, 'web-csrf'),
    secureCookies: config.web.publicUrl.startsWith('https:'),
    logger,
    senderMistakes: mistakes,
    // 特記事項 第9・第10: reviewers search the audit log; admins also decide holds; logins are audit events
    review: {
      users: config.web.users,
      sessionKey: deriveKey(key, 'web-session'),
      sessionMinutes: config.web.sessionMinutes,
      maxLoginFailures: config.web.maxLoginFailures,
      lockoutMinutes: config.web.lockoutMinutes,
      auditStore,
      audit,
      holds,
      ruleText: (id) => rules().get(id) ?? builtInRule(id),
      ruleIds: () => [...judge.rules(), ...Object.keys(BUILT_IN_RULES)],
      // 遵守事項 第2: reviewers and admins open incidents and record reports; 特記事項 第9: the monthly report
      incidents,
      incidentMinutes: config.compliance.incidentMinutes,
    },
  });
  const closeAll = async () => {
    clearInterval(headTimer);
    await holds.stop();
    await incidents.stop();
    await outbox.stop();
    await audit.stop();
    await auditThread.close();
    await logHead('stop');
    await judge.close();
    await auditStore.close();
    await holdStore.close();
    await incidentStore.close();
    await store.close();
    await nextHop.close();
  };
  let smtpAddress: AddressInfo;
  let webAddress: AddressInfo;
  try {
    smtpAddress = await smtp.listen();
    try {
      webAddress = await web.listen();
    } catch (err) {
      await smtp.close();
      throw err;
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  logger.info({ policy: config.policy, rules: judge.rules(), thread: config.policyThread }, 'policy loaded');
  return {
    smtp: smtpAddress,
    web: webAddress,
    judge,
    reloadPolicy: (reason) => judge.reload(reason),
    async stop() {
      await smtp.close();
      await web.close();
      await closeAll();
    },
  };
}
