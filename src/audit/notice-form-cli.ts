import type { Command } from 'commander';
import { type AuditCliHelpers, writeOutput } from './cli.js';
import { isIsoDate, noticeForm, todayInJapan } from './notice-form.js';
import { renderNoticeFormHtml, renderNoticeFormText } from './notice-form-render.js';

const FORMATS = ['text', 'html'] as const;

/** `outguard notice-form`: the 届出書 (別記様式) for outguard's own storage, from the config. */
export function registerNoticeFormCommand(program: Command, helpers: AuditCliHelpers): void {
  // annotated, so that TypeScript sees die() never returns
  const die: AuditCliHelpers['die'] = helpers.die;
  program
    .command('notice-form')
    .description('fill the 届出書 (別記様式「電子データの保存等に関する届出書」) for outguard’s own storage from compliance.* in the config')
    .option('--format <format>', `output format: ${FORMATS.join(' or ')}`, 'text')
    .option('--date <YYYY-MM-DD>', 'the date on the form (default: today in Japan time)')
    .option('--output <file>', 'write to this file instead of stdout')
    .option('-c, --config <file>', 'YAML config file (default: $OUTGUARD_CONFIG, else built-in defaults)')
    .action((opts: { format: string; date?: string; output?: string; config?: string }) => {
      if (!(FORMATS as readonly string[]).includes(opts.format)) die(`--format must be ${FORMATS.join(' or ')}, got "${opts.format}"`);
      if (opts.date !== undefined && !isIsoDate(opts.date)) die(`--date must be a date written YYYY-MM-DD, such as 2026-11-26, got "${opts.date}"`);
      const config = helpers.load(opts.config);
      const form = noticeForm(config, { date: opts.date ?? todayInJapan() });
      // missing facts do not stop the form: they are printed blank, to be completed by hand
      for (const w of form.warnings) process.stderr.write(`outguard: warning: ${w}\n`);
      writeOutput(opts.format === 'html' ? renderNoticeFormHtml(form) : renderNoticeFormText(form), opts.output, die);
    });
}
