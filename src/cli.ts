import fs from 'node:fs';
import { Command } from 'commander';
import { ConfigError } from './config/errors.js';
import { loadConfig } from './config/load.js';
import { ListenError, checkFiles, checkPorts } from './config/preflight.js';
import type { Config } from './config/schema.js';
import { shownConfig } from './config/show.js';
import { hashPassword } from './crypto/password-hash.js';
import { registerAuditCommands } from './audit/cli.js';
import { registerIncidentCommands } from './audit/incident-cli.js';
import { registerNoticeFormCommand } from './audit/notice-form-cli.js';
import { registerReportCommand } from './audit/report-cli.js';
import { registerHeldCommands } from './hold/cli.js';
import { createLogger } from './log.js';
import { type Policy, PolicyError } from './policy/policy-file.js';
import { LocalJudge } from './policy/judge.js';
import { startService } from './service.js';

const EXIT_CONFIG = 78; // EX_CONFIG from sysexits.h

/** One clear line on stderr, never a stack trace. */
function die(message: string, code = 1): never {
  process.stderr.write(`outguard: ${message}\n`);
  process.exit(code);
}

/** Config and policy problems end the command with one line and EX_CONFIG. */
function configFailure(err: unknown): never {
  if (err instanceof ConfigError) die(`config error: ${err.message}`, EXIT_CONFIG);
  if (err instanceof PolicyError) die(`policy error: ${err.message}`, EXIT_CONFIG);
  throw err;
}

function load(configFile: string | undefined): Config {
  try {
    return loadConfig({ file: configFile });
  } catch (err) {
    return configFailure(err);
  }
}

/** Every file the config names (TLS key and certificate, policy and its lists), checked without creating anything. */
function checkNamedFiles(config: Config): Promise<Policy> {
  return checkFiles(config).catch(configFailure);
}

/** A listen address that cannot be bound: not a config error, so the usual start failure code. */
function listenFailure(err: ListenError): never {
  return die(err.message);
}

const program = new Command()
  .name('outguard')
  .description('Outbound e-mail gateway for the Japanese public-sector security clauses (遵守事項 第6・第7)')
  .showHelpAfterError();

const configOption = ['-c, --config <file>', 'YAML config file (default: $OUTGUARD_CONFIG, else built-in defaults)'] as const;

program
  .command('start')
  .description('run the gateway: SMTP listener, policy, next hop and web server')
  .option(...configOption)
  .action(async (opts: { config?: string }) => {
    const config = load(opts.config);
    // before the data dir, the secret key, the database or any listener or timer is created
    await checkNamedFiles(config);
    await checkPorts(config).catch((err: unknown) => (err instanceof ListenError ? listenFailure(err) : Promise.reject(err)));
    const logger = createLogger(config.log.level);
    let service;
    try {
      service = await startService(config, logger);
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
      logger.flush();
      if (err instanceof PolicyError) configFailure(err);
      if (e.name === 'SecretKeyError') die(e.message, EXIT_CONFIG);
      if (e.name === 'AnchorMissingError') die(`config error: audit.anchorFile: ${e.message}`, EXIT_CONFIG);
      if (e.code === 'EADDRINUSE' && e.address !== undefined && e.port !== undefined) {
        // taken between the check above and the real listen
        listenFailure(new ListenError(e.port === config.smtp.listen.port ? 'smtp.listen' : 'web.listen', { host: e.address, port: e.port }, e.code));
      }
      die(`cannot start: ${e.message}`);
    }
    logger.info(
      {
        smtp: `${service.smtp.address}:${service.smtp.port}`,
        web: `${service.web.address}:${service.web.port}`,
        nextHop: config.nextHop.kind === 'file' ? `file:${config.nextHop.dir}` : config.nextHop.url,
        releaseLinks: config.web.publicUrl,
        config: config.source,
      },
      'outguard started',
    );
    if (config.organization.internalDomains.length === 0) {
      // otherwise the first mail a new admin sends to a colleague is held with no word why
      logger.warn(
        { key: 'organization.internalDomains', env: 'OUTGUARD_INTERNAL_DOMAINS' },
        'no internal domains set: every recipient counts as outside, so mail to a domain outguard has not delivered to yet is held (first-time-domain); set organization.internalDomains (or OUTGUARD_INTERNAL_DOMAINS=example.co.jp) to your own domains',
      );
    }
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return die(`${signal} again: exiting without waiting`, 1);
      stopping = true;
      logger.info({ signal }, 'stopping: no new connections, finishing messages in flight');
      service.stop().then(
        () => {
          logger.info('stopped');
          logger.flush();
          process.exit(0);
        },
        (err: Error) => die(`error while stopping: ${err.message}`),
      );
    };
    process.on('SIGHUP', () => void service.reloadPolicy('SIGHUP'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program
  .command('check-config')
  .description('validate the config file and the policy it names, and print the effective settings')
  .option(...configOption)
  .action(async (opts: { config?: string }) => {
    const config = load(opts.config);
    const policy = await checkNamedFiles(config);
    const rules = policy.rules.map((r) => r.id).join(', ');
    process.stdout.write(`config OK: ${config.source}\npolicy OK: ${config.policy}: ${rules || 'no rules'}\n${JSON.stringify(shownConfig(config), null, 2)}\n`);
  });

program
  .command('explain')
  .description('print the verdict for a message as JSON, without sending anything')
  .argument('<file>', 'the message as an .eml file')
  .requiredOption('--from <addr>', 'envelope sender (MAIL FROM)')
  .requiredOption('--to <addrs>', 'envelope recipients (RCPT TO), comma-separated')
  .option(...configOption)
  .action(async (file: string, opts: { from: string; to: string; config?: string }) => {
    const config = load(opts.config);
    let raw: Buffer;
    try {
      raw = fs.readFileSync(file);
    } catch (err) {
      die(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const to = opts.to.split(',').map((a) => a.trim()).filter(Boolean);
    if (to.length === 0) die('--to needs at least one address');
    const judge = await LocalJudge.create(config, undefined, { watch: false }).catch(configFailure);
    const { verdict } = await judge.evaluate(raw, { from: opts.from, to });
    await judge.close();
    process.stdout.write(`${JSON.stringify(verdict, null, 2)}\n`);
  });

program
  .command('hash-password')
  .description('read a password on stdin and print the scrypt hash to put in smtp.users[].password')
  .action(async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (password === '') die('no password on stdin (try: printf %s "secret" | outguard hash-password)');
    process.stdout.write(`${await hashPassword(password)}\n`);
  });

registerHeldCommands(program, { load, die });
registerAuditCommands(program, { load, die });
registerIncidentCommands(program, { load, die });
registerReportCommand(program, { load, die });
registerNoticeFormCommand(program, { load, die });

program.parseAsync(process.argv).catch((err: Error) => die(err.message));
