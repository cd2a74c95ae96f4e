import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { DATABASE_FILE_NAME } from '../store/sqlite.js';
import { SqliteIncidentStore } from '../store/sqlite-incidents.js';
import { type AuditCliHelpers, openAuditLog, writeOutput } from './cli.js';
import { deadlinesFrom, monthBounds, monthlyReport, previousMonth } from './report.js';
import { renderReportCsv } from './report-csv.js';
import { renderReportHtml } from './report-html.js';

const FORMATS = ['html', 'csv', 'json'] as const;
type ReportFormat = (typeof FORMATS)[number];

/** `outguard report`: the monthly report (特記事項 第9) from the audit log, as HTML, CSV or JSON. */
export function registerReportCommand(program: Command, helpers: AuditCliHelpers): void {
  // annotated, so that TypeScript sees die() never returns
  const die: AuditCliHelpers['die'] = helpers.die;
  program
    .command('report')
    .description('the monthly report (特記事項 第9) from the audit log: counts by action, rule, clause and sender domain, holds, incidents and their reporting times')
    .option('--month <YYYY-MM>', 'the month, in Japan time (JST, UTC+9); default: the previous month')
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'html')
    .option('--output <file>', 'write to this file (created 0600) instead of stdout')
    .option('-c, --config <file>', 'YAML config file (default: $OUTGUARD_CONFIG, else built-in defaults)')
    .action(async (opts: { month?: string; format: string; output?: string; config?: string }) => {
      if (!FORMATS.includes(opts.format as ReportFormat)) die(`--format must be ${FORMATS.join(', ')}, got "${opts.format}"`);
      const month = opts.month ?? previousMonth();
      try {
        monthBounds(month);
      } catch (err) {
        die(`--month: ${(err as Error).message}`);
      }
      const config = helpers.load(opts.config);
      const store = openAuditLog(config, die);
      // each incident is measured against its own deadline, as on its page
      const incidents = fs.existsSync(path.join(config.dataDir, DATABASE_FILE_NAME)) ? SqliteIncidentStore.open(config.dataDir) : undefined;
      let text: string;
      try {
        const report = await monthlyReport(store, month, {
          incidentMinutes: config.compliance.incidentMinutes,
          ...(incidents ? { deadlineOf: deadlinesFrom(incidents) } : {}),
        });
        const format = opts.format as ReportFormat;
        text = format === 'html' ? renderReportHtml(report) : format === 'csv' ? renderReportCsv(report) : `${JSON.stringify(report, null, 2)}\n`;
      } catch (err) {
        die(`cannot make the report from the audit log in ${config.dataDir}: ${(err as Error).message}`);
      } finally {
        await Promise.all([store.close(), incidents?.close()]);
      }
      writeOutput(text, opts.output, die);
    });
}
