import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import type { Config } from '../config/schema.js';
import { Outbox } from '../delivery/outbox.js';
import { type NextHop, NextHopError } from '../delivery/next-hop.js';
import { DeliveryEvents } from '../delivery/events.js';
import { DeliveryPipeline } from '../delivery/pipeline.js';
import { createLogger } from '../log.js';
import { listOf } from '../policy/lists.js';
import { HOLD_STATES, type StoredHold } from '../store/hold-store.js';
import { loadSecretKey, messageDigestKey } from '../store/secret-key.js';
import { DATABASE_FILE_NAME, openDatabase } from '../store/sqlite.js';
import { SqliteHoldStore } from '../store/sqlite-holds.js';
import { SqliteOutboxStore } from '../store/sqlite-outbox.js';
import { oneLine } from './notices.js';
import { HoldService } from './service.js';
import { holdDecisionEvent } from '../audit/hold-events.js';
import type { NewAuditEvent } from '../audit/events.js';
import { openAuditChain } from '../audit/open.js';
import { withIncidentService } from '../audit/incident-cli.js';
import { senderMistakes } from '../audit/sender-mistakes.js';
import type { HoldState } from './types.js';
import { jstStamp } from '../util/japan-time.js';
import { textTable } from '../util/text-table.js';

/**
 * `outguard held list | show ID | release ID | discard ID`: the admin's view of the confirmation
 * holds. The commands open DATA_DIR/outguard.db beside a running gateway (SQLite WAL, another
 * process): a release queues the message in the outbox table, and the running gateway's outbox,
 * which polls the table, sends it. (This is the CLI layer; it lives here to keep src/cli.ts short.)
 */

export interface CliHelpers {
  load(configFile: string | undefined): Config;
  die(message: string, code?: number): never;
}

const EXIT_CONFIG = 78;
const configOption = ['-c, --config <file>', 'YAML config file (default: $OUTGUARD_CONFIG, else built-in defaults)'] as const;

/** The JSON form of a hold (list --json: an array of these; show --json: one, with details). */
export function holdJson(h: StoredHold, details = false): Record<string, unknown> {
  return {
    id: h.id,
    state: h.state,
    sender: h.envelope.from,
    recipients: h.envelope.to,
    subject: h.subject,
    deadline: new Date(h.deadline).toISOString(),
    createdAt: new Date(h.createdAt).toISOString(),
    onDeadline: h.onDeadline,
    approvers: h.approvers,
    attachments: h.attachments,
    findings: details ? h.findings : h.findings.map((f) => ({ rule: f.rule, clause: f.clause, severity: f.severity, value: f.value })),
    ...(h.decidedAt !== undefined ? { decidedAt: new Date(h.decidedAt).toISOString() } : {}),
    ...(h.decidedBy !== undefined ? { decidedBy: h.decidedBy } : {}),
    ...(h.mistake !== undefined ? { mistake: h.mistake } : {}),
    ...(details
      ? {
          recipientDetails: h.recipients,
          bodyStart: h.bodyStart,
          escalations: h.escalations,
          ...(h.dispatchedAt !== undefined ? { dispatchedAt: new Date(h.dispatchedAt).toISOString() } : {}),
          ...(h.dispatchError !== undefined ? { dispatchError: h.dispatchError } : {}),
        }
      : {}),
  };
}

function deadlineText(h: StoredHold): string {
  const a = h.onDeadline;
  return a.action === 'escalate' ? `escalate to ${a.to}` : a.action;
}

function showText(h: StoredHold): string {
  const lines = [
    `ID:          ${h.id}`,
    `State:       ${h.state}`,
    `Sender:      ${h.envelope.from || '<>'}`,
    'Recipients:',
    ...h.recipients.map((r) => {
      const flags = [r.external ? 'external' : 'internal', ...(r.firstTimeDomain ? ['first-time domain'] : []), ...(r.lookalikeOf ? [`looks like ${r.lookalikeOf}`] : [])];
      return `  ${r.address}  [${flags.join(', ')}]`;
    }),
    `Subject:     ${oneLine(h.subject)}`,
    `Created:     ${jstStamp(h.createdAt)}`,
    `Deadline:    ${jstStamp(h.deadline)}, then ${deadlineText(h)}`,
    `Approvers:   ${h.approvers.length > 0 ? h.approvers.join(', ') : '(none: the sender decides)'}`,
    `Attachments: ${h.attachments.length === 0 ? 'none' : ''}`,
    ...h.attachments.map((a) => `  ${oneLine(a.name)}  ${a.size} bytes  sha256:${a.sha256}`),
    'Findings:',
    ...h.findings.map((f) => `  ${f.rule} (${f.clause}, ${f.severity}): ${f.reason}${f.value ? ` — ${oneLine(f.value)}` : ''}`),
  ];
  if (h.decidedAt !== undefined) lines.push(`Decided:     ${jstStamp(h.decidedAt)} by ${h.decidedBy ?? '?'}${h.mistake ? ' (reported as a mistake)' : ''}`);
  if (h.state === 'released') lines.push(`Queued:      ${h.dispatchedAt !== undefined ? jstStamp(h.dispatchedAt) : 'not yet (the gateway retries)'}${h.dispatchError ? ` — ${h.dispatchError}` : ''}`);
  if (h.state === 'held' && h.bodyStart !== '') lines.push('Start of the body:', ...h.bodyStart.split('\n').map((l) => `  > ${l}`));
  return `${lines.join('\n')}\n`;
}

/** The recipients in one cell: the first address, and how many more ("+2"). */
function recipientsCell(to: readonly string[]): string {
  return to.length <= 1 ? (to[0] ?? '') : `${to[0]} +${to.length - 1}`;
}

function listText(holds: StoredHold[]): string {
  if (holds.length === 0) return 'no holds\n';
  const columns = [{ head: 'ID' }, { head: 'STATE' }, { head: 'DEADLINE' }, { head: 'SENDER', max: 32 }, { head: 'RECIPIENTS', max: 40 }, { head: 'SUBJECT', max: 50 }];
  return textTable(columns, holds.map((h) => [h.id, h.state, jstStamp(h.deadline), h.envelope.from || '<>', recipientsCell(h.envelope.to), oneLine(h.subject)]));
}

export function registerHeldCommands(program: Command, helpers: CliHelpers): void {
  const load: CliHelpers['load'] = helpers.load;
  const die: (message: string, code?: number) => never = helpers.die;
  const held = program.command('held').description('confirmation holds (遵守事項 第6-1): list, show, release or discard held messages');

  /** The hold store of the configured data dir; null when outguard never stored anything there. */
  const openStore = (config: Config): SqliteHoldStore | null => {
    if (!fs.existsSync(path.join(config.dataDir, DATABASE_FILE_NAME))) return null;
    try {
      return SqliteHoldStore.open(config.dataDir, loadSecretKey(config.dataDir).key);
    } catch (err) {
      const e = err as Error;
      die(e.name === 'SecretKeyError' ? e.message : `cannot open the holds in ${config.dataDir}: ${e.message}`, e.name === 'SecretKeyError' ? EXIT_CONFIG : 1);
    }
  };

  const find = async (config: Config, id: string): Promise<{ store: SqliteHoldStore; hold: StoredHold }> => {
    const store = openStore(config);
    const hold = store ? await store.get(id) : null;
    if (!store || !hold) {
      await store?.close();
      die(`no hold with id ${id} in ${config.dataDir} (see: outguard held list)`);
    }
    return { store, hold };
  };

  const decided = (h: StoredHold) =>
    `hold ${h.id} is not held: it was ${h.state}${h.decidedBy ? ` by ${h.decidedBy}` : ''}${h.decidedAt !== undefined ? ` at ${jstStamp(h.decidedAt)}` : ''}`;

  held
    .command('list')
    .description('list holds, oldest first (all states unless --state)')
    .option('--json', 'print a JSON array of holds (id, state, sender, recipients, subject, deadline, …)')
    .option('--state <state>', `only holds in this state: ${HOLD_STATES.join(', ')}`)
    .option('--limit <n>', 'at most this many holds', '1000')
    .option(...configOption)
    .action(async (opts: { json?: boolean; state?: string; limit: string; config?: string }) => {
      if (opts.state !== undefined && !HOLD_STATES.includes(opts.state as HoldState)) die(`--state must be one of ${HOLD_STATES.join(', ')}, got "${opts.state}"`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) die(`--limit must be a whole number ≥ 1, got "${opts.limit}"`);
      const config = load(opts.config);
      const store = openStore(config);
      const holds = store ? await store.list({ ...(opts.state ? { state: opts.state as HoldState } : {}), limit }) : [];
      await store?.close();
      process.stdout.write(opts.json ? `${JSON.stringify(holds.map((h) => holdJson(h)), null, 2)}\n` : listText(holds));
    });

  held
    .command('show')
    .description('show one hold: recipients with their flags, subject, attachments, findings, deadline, decision')
    .argument('<id>', 'the hold id (outguard held list)')
    .option('--json', 'print the hold as JSON')
    .option(...configOption)
    .action(async (id: string, opts: { json?: boolean; config?: string }) => {
      const config = load(opts.config);
      const { store, hold } = await find(config, id);
      await store.close();
      process.stdout.write(opts.json ? `${JSON.stringify(holdJson(hold, true), null, 2)}\n` : showText(hold));
    });

  const decide = (what: 'release' | 'discard') => async (id: string, opts: { config?: string; mistake?: boolean }) => {
    const config = load(opts.config);
    const { store, hold } = await find(config, id);
    if (hold.state !== 'held') {
      await store.close();
      die(decided(hold));
    }
    // log lines (decisions, notices queued) go to stderr; stdout carries the result
    const logger = createLogger(config.log.level, pino.destination({ dest: 2, sync: true }));
    const key = loadSecretKey(config.dataDir).key;
    const outboxStore = new SqliteOutboxStore(openDatabase(config.dataDir), key, { ownsDb: true });
    // this process only queues: the running gateway's outbox sends (it polls the table)
    const idleHop: NextHop = {
      description: 'none (outguard held queues only)',
      deliver: () => Promise.reject(new NextHopError('outguard held does not send; the gateway does')),
      close: async () => {},
    };
    const outbox = new Outbox({ store: outboxStore, hop: idleHop, logger });
    const internal = listOf('internal', config.organization.internalDomains);
    const isInternal = (domain: string) => internal.matchHost(domain) !== undefined;
    const releaser = new DeliveryPipeline({ nextHop: idleHop, store: outboxStore, outbox, events: new DeliveryEvents(), logger, digestKey: messageDigestKey(key), hostname: config.smtp.hostname });
    const service = new HoldService({
      store,
      outboxStore,
      outbox,
      releaser,
      logger,
      key,
      publicUrl: config.web.publicUrl,
      noticeFrom: config.notices.from,
      isInternal,
      // the admin's decision goes into the audit log like any other (its event is written below)
      onDecision: (h, state, actor) => void decisions.push(holdDecisionEvent(h, state, actor)),
    });
    const decisions: NewAuditEvent[] = [];
    const user = (() => {
      try {
        return os.userInfo().username;
      } catch {
        return undefined;
      }
    })();
    let result;
    try {
      logger.info({ hold: id, user, command: `held ${what}` }, 'admin decision');
      result = what === 'release' ? await service.releaseById(id, 'cli') : await service.discardById(id, 'cli', { mistake: opts.mistake === true });
    } catch (err) {
      await outboxStore.close();
      await store.close();
      die(`cannot ${what} hold ${id}: ${(err as Error).message}`);
    }
    const after = await store.get(id);
    if (decisions.length > 0) {
      const audit = openAuditChain(config);
      try {
        await audit.appendMany(decisions);
      } finally {
        await audit.close();
      }
    }
    await outboxStore.close();
    await store.close();
    if ('problem' in result) {
      die(
        result.problem === 'unknown' ? `no hold with id ${id}`
        : result.problem === 'damaged' ? `hold ${id}: its stored message cannot be opened (damaged, or sealed with another key); nothing was sent, it stays held`
        : decided(after ?? hold),
      );
    }
    if (what === 'discard' && opts.mistake && senderMistakes(config.compliance).incident) {
      // compliance.reportSenderMistakes: the sender's mistake is an incident, whoever records it
      const incident = await withIncidentService(config, die, (s) => s.openForMistake(result.hold, `cli:${user ?? 'admin'}`));
      const report = incident.noticeId !== undefined ? 'its report to the client is queued' : `no report was sent (compliance.clientContact is not set): report it by hand, then run: outguard incident reported ${incident.id} --by NAME`;
      process.stdout.write(`discarded ${id} (recorded as a mistake); the sender is told; incident ${incident.id} opened; ${report}\n`);
    } else if (what === 'discard' && opts.mistake) {
      process.stdout.write(`discarded ${id} (recorded as a mistake in the audit log; no incident: compliance.reportSenderMistakes is off); the sender is told\n`);
    } else if (what === 'discard') {
      process.stdout.write(`discarded ${id}; the sender is told\n`);
    } else if (after?.dispatchedAt !== undefined && after.dispatchError === undefined) {
      process.stdout.write(`released ${id}: queued in the outbox of ${config.dataDir}; the running gateway sends it, and the sender is told\n`);
    } else if (after?.dispatchError !== undefined) {
      die(`released ${id}, but it cannot be sent: ${after.dispatchError}`);
    } else {
      process.stderr.write(`outguard: released ${id}, but it could not be queued yet; the running gateway retries\n`);
    }
  };

  held
    .command('release')
    .description('send a held message now (the same way as direct mail: encrypted ZIP, password notice); decided by "cli"')
    .argument('<id>', 'the hold id (outguard held list)')
    .option(...configOption)
    .action(decide('release'));

  held
    .command('discard')
    .description('discard a held message (nothing is sent; the sender is told); decided by "cli"')
    .argument('<id>', 'the hold id (outguard held list)')
    .option('--mistake', 'record that the sender reported it as a mistake')
    .option(...configOption)
    .action(decide('discard'));
}
