import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { DATABASE_FILE_NAME } from '../store/sqlite.js';
import { loadSecretKey } from '../store/secret-key.js';
import { type Anchor, AnchorFile, formatHead, parseHead } from './anchor.js';
import type { AuditFilter, AuditStore, AuditVerification } from './audit-store.js';
import { GENESIS_HASH } from './events.js';
import { openAuditChain } from './open.js';
import { EXPORT_FORMATS, type ExportFormat, exportAudit } from './export.js';
import { SqliteAuditStore } from './sqlite-audit.js';
import { jstStamp } from '../util/japan-time.js';

/**
 * `outguard audit verify | export`: the reviewer's view of the hash-chained audit log in
 * DATA_DIR/outguard.db. Both only read, and work beside a running gateway (SQLite WAL).
 */

export interface AuditCliHelpers {
  load(configFile: string | undefined): Config;
  die(message: string, code?: number): never;
}

const configOption = ['-c, --config <file>', 'YAML config file (default: $OUTGUARD_CONFIG, else built-in defaults)'] as const;

/** A time option: ISO 8601 date (2026-11-01, midnight UTC) or date-time (2026-11-01T09:00:00+09:00). */
function parseTime(value: string | undefined, option: string, die: AuditCliHelpers['die']): string | undefined {
  if (value === undefined) return undefined;
  const ok = /^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/.test(value) && !Number.isNaN(new Date(value).getTime());
  if (!ok) die(`${option} must be an ISO 8601 date or date-time such as 2026-11-01 or 2026-11-01T09:00:00+09:00, got "${value}"`);
  return new Date(value).toISOString();
}

export function registerAuditCommands(program: Command, helpers: AuditCliHelpers): void {
  const load: AuditCliHelpers['load'] = helpers.load;
  const die: AuditCliHelpers['die'] = helpers.die;
  const audit = program.command('audit').description('the tamper-evident audit log (特記事項 第9・第10): verify the hash chain, export events');

  audit
    .command('verify')
    .description('check the keyed chain against its anchor file; exit 0 when intact (prints COUNT:MAC), 1 naming the first altered, removed or reordered event, a cut or emptied chain, or a missing anchor')
    .option('--expect <head>', 'also check that the chain still holds this head, as printed by an earlier verify or the monthly report (COUNT:MAC)')
    .option('--json', 'print the result as JSON ({ok, count, lastHash, head, anchor} or {ok, seq, problem, detail})')
    .option(...configOption)
    .action(async (opts: { expect?: string; json?: boolean; config?: string }) => {
      const expect = opts.expect === undefined ? undefined : parseHead(opts.expect);
      if (opts.expect !== undefined && !expect) die(`--expect must be COUNT:MAC as audit verify prints it (a number, a colon, 64 hex digits), got "${opts.expect}"`);
      const config = load(opts.config);
      const store = openAuditLog(config, die);
      let result: AuditVerification;
      try {
        result = await store.verify(expect ? { expect } : {});
      } catch (err) {
        die(`cannot verify the audit log in ${config.dataDir}: ${(err as Error).message}`);
      } finally {
        await store.close();
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(result.ok ? { ...result, head: formatHead({ count: result.count, mac: result.lastHash }) } : result, null, 2)}\n`);
      } else if (result.ok) {
        const anchor = result.anchor ? `anchor: ${result.anchor.count} events at ${jstStamp(result.anchor.time)} in ${config.audit.anchorFile}\n` : '';
        process.stdout.write(`audit log OK: ${result.count} events\nhead: ${formatHead({ count: result.count, mac: result.lastHash })}\n${anchor}`);
      } else {
        process.stdout.write(`audit log NOT OK: event ${result.seq} ${result.problem}: ${result.detail}\n`);
      }
      if (!result.ok) process.exitCode = 1;
    });

  audit
    .command('re-anchor')
    .description('start a new anchor file after the old one was lost for good (recorded in the chain as anchor-restarted)')
    .option(...configOption)
    .action(async (opts: { config?: string }) => {
      const config = load(opts.config);
      const file = config.audit.anchorFile;
      if (fs.existsSync(file)) die(`the anchor file ${file} exists: nothing to do (audit verify checks the chain against it)`);
      if (!fs.existsSync(path.join(config.dataDir, DATABASE_FILE_NAME))) die(`there is no audit log in ${config.dataDir}`);
      try {
        const event = await SqliteAuditStore.reanchor(config.dataDir, { key: loadSecretKey(config.dataDir).key, anchorFile: file, actor: 'cli' });
        process.stdout.write(`new anchor file ${file} started at event ${event.seq}\n`);
      } catch (err) {
        die(`cannot start a new anchor file: ${(err as Error).message}`);
      }
    });

  audit
    .command('export')
    .description('write audit events, oldest first, as CSV (UTF-8 with BOM, for Excel) or JSON')
    .requiredOption('--format <format>', `output format: ${EXPORT_FORMATS.join(' or ')}`)
    .option('--since <time>', 'only events at or after this ISO 8601 date or date-time')
    .option('--until <time>', 'only events before this ISO 8601 date or date-time')
    .option('--action <actions>', 'only events of these types or actions, comma-separated (rejected,held or reject)')
    .option('--rule <rule>', 'only events that name this rule id')
    .option('--out <file>', 'write to this file (created 0600) instead of stdout')
    .option(...configOption)
    .action(async (opts: { format: string; since?: string; until?: string; action?: string; rule?: string; out?: string; config?: string }) => {
      if (!EXPORT_FORMATS.includes(opts.format as ExportFormat)) die(`--format must be ${EXPORT_FORMATS.join(' or ')}, got "${opts.format}"`);
      const since = parseTime(opts.since, '--since', die);
      const until = parseTime(opts.until, '--until', die);
      const actions = opts.action?.split(',').map((a) => a.trim()).filter(Boolean);
      if (actions !== undefined && actions.length === 0) die('--action needs at least one type or action');
      if (opts.rule !== undefined && opts.rule.trim() === '') die('--rule needs a rule id');
      const filter: AuditFilter = {
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        ...(actions ? { action: actions } : {}),
        ...(opts.rule ? { rule: opts.rule.trim() } : {}),
      };
      const config = load(opts.config);
      const store = openAuditLog(config, die);
      let text: string;
      try {
        text = await exportAudit(store, opts.format as ExportFormat, filter);
      } catch (err) {
        die(`cannot export the audit log in ${config.dataDir}: ${(err as Error).message}`);
      } finally {
        await store.close();
      }
      writeOutput(text, opts.out, die);
    });
}

/**
 * The audit log of the configured data dir, to read and verify (keyed and anchored as configured);
 * an empty one when outguard never stored anything there — which fails verify if the anchor file
 * says otherwise (the database was removed).
 */
export function openAuditLog(config: Config, die: AuditCliHelpers['die']): AuditStore {
  if (!fs.existsSync(path.join(config.dataDir, DATABASE_FILE_NAME))) return emptyStore(new AnchorFile(config.audit.anchorFile).newest() ?? undefined);
  try {
    return openAuditChain(config, { readOnly: true });
  } catch (err) {
    die(`cannot open the audit log in ${config.dataDir}: ${(err as Error).message}`);
  }
}

/** Writes a command's result to stdout, or to `file` (created 0600: reports name senders and subjects). */
export function writeOutput(text: string, file: string | undefined, die: AuditCliHelpers['die']): void {
  if (file === undefined) {
    process.stdout.write(text);
    return;
  }
  try {
    fs.writeFileSync(file, text, { mode: 0o600 });
  } catch (err) {
    die(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Stands in for a data dir without a database: no events (and a failed verify when something was anchored). */
function emptyStore(anchored: Anchor | undefined): AuditStore {
  return {
    append: () => Promise.reject(new Error('read only')),
    appendMany: () => Promise.reject(new Error('read only')),
    list: () => Promise.resolve([]),
    count: () => Promise.resolve(0),
    head: () => Promise.resolve({ count: 0, mac: GENESIS_HASH }),
    verify: () =>
      Promise.resolve(
        anchored && anchored.count > 0
          ? { ok: false as const, seq: 1, problem: 'removed' as const, detail: `the database is missing, but ${anchored.count} events were anchored at ${jstStamp(anchored.time)}` }
          : { ok: true as const, count: 0, lastHash: GENESIS_HASH },
      ),
    close: () => Promise.resolve(),
  };
}
