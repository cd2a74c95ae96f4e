import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import type { Config } from '../config/schema.js';
import { oneLine } from '../hold/notices.js';
import { createLogger } from '../log.js';
import { loadSecretKey } from '../store/secret-key.js';
import { SqliteHoldStore } from '../store/sqlite-holds.js';
import { SqliteIncidentStore } from '../store/sqlite-incidents.js';
import { SqliteOutboxStore } from '../store/sqlite-outbox.js';
import { DATABASE_FILE_NAME } from '../store/sqlite.js';
import type { NewAuditEvent } from './events.js';
import { messageLookup } from './incident-message.js';
import { incidentReportText, incidentStatusText } from './incident-report.js';
import { type Incident, STATUS_LABELS, incidentStatus } from './incident-types.js';
import { IncidentService } from './incidents.js';
import type { SqliteAuditStore } from './sqlite-audit.js';
import { openAuditChain } from './open.js';
import { jstStamp } from '../util/japan-time.js';
import { textTable } from '../util/text-table.js';

/**
 * `outguard incident list | open | reported | show` (遵守事項 第2). The commands open
 * DATA_DIR/outguard.db beside a running gateway: `open` queues the report to the client's contact
 * in the outbox table, and the running gateway's outbox, which polls the table, sends it (and then
 * marks the incident reported).
 */

export interface IncidentCliHelpers {
  load(configFile: string | undefined): Config;
  die(message: string, code?: number): never;
}

const EXIT_CONFIG = 78;
const configOption = ['-c, --config <file>', 'YAML config file (default: $OUTGUARD_CONFIG, else built-in defaults)'] as const;
const FORMATS = ['text', 'json'] as const;

/** The JSON form of an incident (list --format json). */
export function incidentJson(i: Incident, now: number): Record<string, unknown> {
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return {
    id: i.id,
    status: incidentStatus(i, now),
    messageId: i.messageId,
    trigger: i.trigger,
    openedBy: i.openedBy,
    openedAt: iso(i.openedAt),
    deadline: iso(i.deadline),
    summary: i.summary,
    message: i.message,
    notifiedAt: iso(i.notifiedAt),
    notifiedTo: i.notifiedTo,
    noticeError: i.noticeError,
    reportedAt: iso(i.reportedAt),
    reportedBy: i.reportedBy,
    reportedHow: i.reportedHow,
    reportNote: i.reportNote,
  };
}

function listText(incidents: Incident[], now: number): string {
  if (incidents.length === 0) return 'no incidents\n';
  const columns = [{ head: 'ID' }, { head: 'STATUS' }, { head: 'OPENED' }, { head: 'DEADLINE' }, { head: 'MESSAGE' }, { head: 'OPENED BY', max: 24 }, { head: 'SUMMARY', max: 50 }];
  const rows = incidents.map((i) => [i.id, STATUS_LABELS[incidentStatus(i, now)].en, jstStamp(i.openedAt), jstStamp(i.deadline), i.messageId ?? '-', oneLine(i.openedBy), oneLine(i.summary)]);
  return textTable(columns, rows);
}

function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'cli';
  }
}

/**
 * The incident service on the configured data dir, as the gateway builds it but idle: it only
 * queues the report (the running gateway's outbox sends it); its audit events are appended here.
 */
export async function withIncidentService<T>(config: Config, die: IncidentCliHelpers['die'], run: (service: IncidentService) => Promise<T>): Promise<T> {
  let stores: { incidents: SqliteIncidentStore; outbox: SqliteOutboxStore; holds: SqliteHoldStore; audit: SqliteAuditStore };
  try {
    const key = loadSecretKey(config.dataDir).key;
    stores = {
      incidents: SqliteIncidentStore.open(config.dataDir),
      outbox: SqliteOutboxStore.open(config.dataDir, key),
      holds: SqliteHoldStore.open(config.dataDir, key),
      audit: openAuditChain(config),
    };
  } catch (err) {
    const e = err as Error;
    die(e.name === 'SecretKeyError' ? e.message : `cannot open the incidents in ${config.dataDir}: ${e.message}`, e.name === 'SecretKeyError' ? EXIT_CONFIG : 1);
  }
  const events: NewAuditEvent[] = [];
  const service = new IncidentService({
    store: stores.incidents,
    outboxStore: stores.outbox,
    outbox: { kick: () => undefined },
    audit: { record: (e) => void events.push(e) },
    // log lines go to stderr; stdout carries the result
    logger: createLogger(config.log.level, pino.destination({ dest: 2, sync: true })),
    lookup: messageLookup({ audit: stores.audit, holds: stores.holds }),
    compliance: config.compliance,
  });
  try {
    const result = await run(service);
    if (events.length > 0) await stores.audit.appendMany(events);
    return result;
  } finally {
    await Promise.all(Object.values(stores).map((s) => s.close()));
  }
}

export function registerIncidentCommands(program: Command, helpers: IncidentCliHelpers): void {
  const load: IncidentCliHelpers['load'] = helpers.load;
  const die: IncidentCliHelpers['die'] = helpers.die;
  const incident = program.command('incident').description('incidents (遵守事項 第2: report to the client within 60 minutes): list, open, record a report, show');

  const hasDatabase = (config: Config) => fs.existsSync(path.join(config.dataDir, DATABASE_FILE_NAME));


  incident
    .command('list')
    .description('list incidents, newest first, with their status (open, overdue, reported, reported late)')
    .option('--open', 'only incidents not reported yet')
    .option('--format <format>', `output format: ${FORMATS.join(' or ')}`, 'text')
    .option(...configOption)
    .action(async (opts: { open?: boolean; format: string; config?: string }) => {
      if (!FORMATS.includes(opts.format as (typeof FORMATS)[number])) die(`--format must be ${FORMATS.join(' or ')}, got "${opts.format}"`);
      const config = load(opts.config);
      let list: Incident[] = [];
      if (hasDatabase(config)) {
        const store = SqliteIncidentStore.open(config.dataDir);
        list = await store.list(opts.open ? { open: true } : {}).finally(() => store.close());
      }
      const now = Date.now();
      process.stdout.write(opts.format === 'json' ? `${JSON.stringify(list.map((i) => incidentJson(i, now)), null, 2)}\n` : listText(list, now));
    });

  incident
    .command('open')
    .description("open an incident about a message and queue the report to the client's contact (compliance.clientContact)")
    .requiredOption('--message <id>', 'the outguard id of the message (X-Outguard-Id)')
    .requiredOption('--reason <text>', 'what happened, for the report')
    .option('--by <name>', 'who recognised it (default: your user name)')
    .option(...configOption)
    .action(async (opts: { message: string; reason: string; by?: string; config?: string }) => {
      if (opts.reason.trim() === '') die('--reason needs a text saying what happened');
      if (opts.by !== undefined && opts.by.trim() === '') die('--by needs a name');
      const config = load(opts.config);
      if (!hasDatabase(config)) die(`no message with id ${opts.message}: outguard has stored nothing in ${config.dataDir}`);
      const result = await withIncidentService(config, die, (s) => s.open({ messageId: opts.message, reason: opts.reason, by: opts.by ?? osUser() }));
      if ('problem' in result) die(result.detail);
      const i = result.incident;
      process.stdout.write(`opened ${i.id}; report it to the client by ${jstStamp(i.deadline)}\n`);
      if (i.noticeId !== undefined) {
        process.stdout.write(`the report to ${config.compliance.clientContact.join(', ')} is queued in the outbox of ${config.dataDir}; the running gateway sends it and then marks the incident reported\n`);
      } else {
        process.stdout.write(`no report was queued (${i.noticeError ?? 'compliance.clientContact is not set'}): report it another way, then run: outguard incident reported ${i.id} --by NAME\n`);
      }
    });

  incident
    .command('reported')
    .description('record that the incident was reported to the client another way (phone, in person)')
    .argument('<id>', 'the incident id (outguard incident list)')
    .requiredOption('--by <name>', 'who reported it')
    .option('--note <text>', 'how and to whom it was reported')
    .option(...configOption)
    .action(async (id: string, opts: { by: string; note?: string; config?: string }) => {
      if (opts.by.trim() === '') die('--by needs a name');
      const config = load(opts.config);
      if (!hasDatabase(config)) die(`no incident with id ${id} in ${config.dataDir}`);
      const result = await withIncidentService(config, die, (s) => s.markReported(id, opts.by, opts.note));
      if ('problem' in result) die(result.detail);
      const i = result.incident;
      const late = incidentStatus(i, Date.now()) === 'reported-late' ? ' — after the deadline (reported late)' : '';
      process.stdout.write(`recorded: ${i.id} reported at ${jstStamp(i.reportedAt!)} by ${i.reportedBy}${late}\n`);
    });

  incident
    .command('show')
    .description('show an incident: its status, then the report in Japanese and English as sent to the client')
    .argument('<id>', 'the incident id (outguard incident list)')
    .option(...configOption)
    .action(async (id: string, opts: { config?: string }) => {
      const config = load(opts.config);
      if (!hasDatabase(config)) die(`no incident with id ${id} in ${config.dataDir}`);
      const store = SqliteIncidentStore.open(config.dataDir);
      const i = await store.get(id).finally(() => store.close());
      if (!i) die(`no incident with id ${id} in ${config.dataDir} (see: outguard incident list)`);
      process.stdout.write(`${incidentStatusText(i, Date.now(), config.web.publicUrl)}\n${incidentReportText(i, {})}`);
    });
}
