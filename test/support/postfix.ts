import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { until } from './wait.js';

/**
 * A private Postfix instance for end-to-end tests, set up as outguard's front MTA
 * (see /work/shared/recipes/postfix-in-tests.md):
 *
 *   client → smtpd 127.0.0.1:smtpPort ─content_filter→ outguard 127.0.0.1:filterPort
 *          → smtpd 127.0.0.1:returnPort (no content filter) ─relayhost→ 127.0.0.1:relayPort (test sink)
 *
 * Everything lives in one temp dir (config, queue, data, log); nothing under /etc/postfix is used
 * or changed. Needs root (Postfix's master runs as root and drops to the postfix user).
 */
export interface PostfixOptions {
  /** Where the content filter (outguard) listens on 127.0.0.1. */
  filterPort: number;
  /** Where the relayhost (the test sink) listens on 127.0.0.1. */
  relayPort: number;
  /** Extra main.cf lines (`name = value`), appended after the defaults. */
  mainCf?: Record<string, string>;
}

export interface QueuedMessage {
  /** incoming, active, deferred, hold or maildrop */
  queueName: string;
  queueId: string;
  sender: string;
  recipients: { address: string; delayReason?: string }[];
}

export interface Submitted {
  /** Postfix's queue id from "250 2.0.0 Ok: queued as ID". */
  queueId: string;
  /** swaks' transcript, for failure messages. */
  transcript: string;
}

export interface Postfix {
  /** The temp dir holding etc/, spool/, log/ (and data/, created by Postfix). */
  dir: string;
  configDir: string;
  /** Clients submit here; mail is handed to the content filter. */
  smtpPort: number;
  /** The content filter re-injects here; mail goes on to the relayhost. */
  returnPort: number;
  logFile: string;
  /** The whole log so far ('' before Postfix wrote any). */
  readLog(): string;
  /** Resolves with the first log line matching re (polling), or rejects after timeoutMs with the log tail. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /** `postqueue -j`, parsed. */
  queue(): Promise<QueuedMessage[]>;
  /** `postqueue -p`, as Postfix prints it. */
  queueText(): Promise<string>;
  queueIsEmpty(): Promise<boolean>;
  /** Resolves once the queue is empty (rejects after timeoutMs with the queue listing). */
  waitForEmptyQueue(timeoutMs?: number): Promise<void>;
  /** `postqueue -f`: retry every deferred message now. */
  flushQueue(): Promise<void>;
  /** Sends the message file's bytes to smtpPort with swaks (envelope as given). */
  submit(options: { from: string; to: string[]; dataFile: string }): Promise<Submitted>;
  /** `postfix stop`, then removes the temp dir. Safe to call twice or after a failed start. */
  stop(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';

function run(command: string, args: string[], timeoutMs = 15000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && typeof err.code !== 'number' ? err.message : '') });
    });
  });
}

async function must(command: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await run(command, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}


/** Resolves true once something on host:port greets with 220 (then says QUIT), false on any failure. */
function greets220(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let buffer = '';
    let done = false;
    const socket = net.connect({ host: LOOPBACK, port });
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      if (ok) socket.end('QUIT\r\n');
      else socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      const lines = buffer.split('\r\n');
      for (const line of lines.slice(0, -1)) {
        if (/^220 /.test(line)) return finish(true);
        if (!/^220-/.test(line)) return finish(false);
      }
    });
  });
}

function mainCf(dir: string, ports: { filter: number; relay: number }, extra: Record<string, string>): string {
  const settings: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: path.join(dir, 'spool'),
    // Postfix creates it (owned by postfix); pre-creating it as root breaks master.lock.
    data_directory: path.join(dir, 'data'),
    maillog_file: path.join(dir, 'log', 'postfix.log'),
    maillog_file_prefixes: path.join(dir, 'log'),
    myhostname: 'mta.pfx-test.invalid',
    myorigin: 'pfx-test.invalid',
    mydestination: '',
    local_recipient_maps: '',
    alias_maps: '',
    alias_database: '',
    biff: 'no',
    inet_interfaces: LOOPBACK,
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    smtp_dns_support_level: 'disabled',
    smtpd_peername_lookup: 'no',
    content_filter: `smtp:[${LOOPBACK}]:${ports.filter}`,
    relayhost: `[${LOOPBACK}]:${ports.relay}`,
    // Test backoffs: the default minimal backoff is 300 s.
    queue_run_delay: '5s',
    minimal_backoff_time: '5s',
    maximal_backoff_time: '30s',
    ...extra,
  };
  return `${Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n')}\n`;
}

function masterCf(ports: { smtp: number; return: number }): string {
  // chroot column "n" everywhere: a private queue has no etc/ to resolve anything with.
  return `${[
    `${LOOPBACK}:${ports.smtp} inet n - n - - smtpd`,
    `${LOOPBACK}:${ports.return} inet n - n - - smtpd`,
    '  -o content_filter=',
    '  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters',
    '  -o mynetworks=127.0.0.0/8',
    '  -o smtpd_relay_restrictions=permit_mynetworks,reject',
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    // without proxymap, smtpd hangs on connect to private/proxymap
    'proxymap unix - - n - - proxymap',
    'proxywrite unix - - n - 1 proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ].join('\n')}\n`;
}

/** What Postfix would say on a tty (it is silent otherwise), plus the log tail. */
async function diagnose(configDir: string, logFile: string): Promise<string> {
  const check = await run('script', ['-qec', `postfix -c '${configDir}' check`, '/dev/null'], 10000);
  let log = '';
  try {
    log = fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    /* no log yet */
  }
  return `postfix check: ${(check.stdout + check.stderr).trim() || '(nothing)'}\nlog tail:\n${log || '(empty)'}`;
}

/** Stops the instance if running; synchronous so it also works from process.on('exit'). */
function stopSync(configDir: string): void {
  try {
    execFileSync('postfix', ['-c', configDir, 'stop'], { stdio: 'ignore', timeout: 10000 });
  } catch {
    /* not running */
  }
}

async function isRunning(configDir: string): Promise<boolean> {
  return (await run('postfix', ['-c', configDir, 'status'])).code === 0;
}

/**
 * Creates, starts and waits for a private Postfix on loopback. The two smtpd ports are picked
 * free at runtime; if one was taken in the meantime the start is retried with new ports.
 */
export async function startPostfix(options: PostfixOptions): Promise<Postfix> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      lastError = err;
      if (!(err instanceof PortTakenError)) throw err;
    }
  }
  throw lastError;
}

class PortTakenError extends Error {}

async function startOnce(options: PostfixOptions): Promise<Postfix> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-postfix-'));
  fs.chmodSync(dir, 0o755);
  const configDir = path.join(dir, 'etc');
  const logFile = path.join(dir, 'log', 'postfix.log');
  for (const sub of ['etc', 'spool', 'log']) fs.mkdirSync(path.join(dir, sub), { mode: 0o755 });

  const smtpPort = await freePort();
  let returnPort = await freePort();
  while (returnPort === smtpPort) returnPort = await freePort();

  fs.writeFileSync(path.join(configDir, 'main.cf'), mainCf(dir, { filter: options.filterPort, relay: options.relayPort }, options.mainCf ?? {}));
  fs.writeFileSync(path.join(configDir, 'master.cf'), masterCf({ smtp: smtpPort, return: returnPort }));
  // Postfix re-reads a *.cf younger than 2 s in 300 ms naps; backdating saves ~2 s per start.
  const past = new Date(Date.now() - 10_000);
  for (const f of ['main.cf', 'master.cf']) fs.utimesSync(path.join(configDir, f), past, past);

  let stopCalled = false;
  const onExit = () => stopSync(configDir);
  const stop = async () => {
    if (stopCalled) return;
    stopCalled = true;
    process.off('exit', onExit);
    // `postfix stop` waits (up to 5 s, then kill -9) until master has let go of its lock.
    const stopped = await run('postfix', ['-c', configDir, 'stop']);
    // It exits 1 when nothing was running; `status` (not kill -0: PID 1 reaps late) tells the cases apart.
    if (stopped.code !== 0 && (await isRunning(configDir))) {
      console.warn(`postfix -c ${configDir} stop failed, left running: ${stopped.stderr || stopped.stdout}`);
      return;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    // `check` creates the queue subdirectories and checks the install (~1.5 s here). `start` would
    // run the same checks again unless spool/quick-start exists (postfix-script's own shortcut,
    // which it removes on use), so checking once explicitly saves that second pass.
    const check = await run('postfix', ['-c', configDir, 'check'], 30000);
    if (check.code !== 0) throw new Error(`postfix check exited ${check.code}\n${await diagnose(configDir, logFile)}`);
    fs.writeFileSync(path.join(dir, 'spool', 'quick-start'), '');
    // If this process dies without afterAll, do not leave a master running.
    process.on('exit', onExit);
    // `start` runs master -w: it returns 0 only once every listener is bound.
    const start = await run('postfix', ['-c', configDir, 'start'], 30000);
    if (start.code !== 0) {
      const why = await diagnose(configDir, logFile);
      if (/address already in use/i.test(why)) throw new PortTakenError(`port taken: ${why}`);
      throw new Error(`postfix start exited ${start.code}\n${why}`);
    }
    for (const port of [smtpPort, returnPort]) {
      await until(async () => ((await greets220(port)) ? true : undefined), 10000, async () => `no 220 greeting on ${LOOPBACK}:${port}\n${await diagnose(configDir, logFile)}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const readLog = () => {
    try {
      return fs.readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const queue = async (): Promise<QueuedMessage[]> => {
    const out = await must('postqueue', ['-c', configDir, '-j']);
    return out
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const j = JSON.parse(l) as {
          queue_name: string;
          queue_id: string;
          sender: string;
          recipients: { address: string; delay_reason?: string }[];
        };
        return {
          queueName: j.queue_name,
          queueId: j.queue_id,
          sender: j.sender,
          recipients: j.recipients.map((r) => ({ address: r.address, delayReason: r.delay_reason })),
        };
      });
  };
  const queueText = () => must('postqueue', ['-c', configDir, '-p']);

  return {
    dir,
    configDir,
    smtpPort,
    returnPort,
    logFile,
    readLog,
    waitForLog: (re, timeoutMs = 10000) =>
      until(
        () => readLog().split('\n').find((line) => re.test(line)),
        timeoutMs,
        () => `no log line matching ${re} in ${logFile}; tail:\n${readLog().split('\n').slice(-15).join('\n')}`,
      ),
    queue,
    queueText,
    queueIsEmpty: async () => (await queue()).length === 0,
    waitForEmptyQueue: async (timeoutMs = 10000) => {
      await until(async () => ((await queue()).length === 0 ? true : undefined), timeoutMs, async () => `queue not empty:\n${await queueText()}`);
    },
    flushQueue: async () => {
      await must('postqueue', ['-c', configDir, '-f']);
    },
    submit: async ({ from, to, dataFile }) => {
      const r = await run('swaks', ['--server', LOOPBACK, '--port', String(smtpPort), '--from', from, '--to', to.join(','), '--data', `@${dataFile}`, '--timeout', '20']);
      const transcript = r.stdout + r.stderr;
      const m = /^<-\s+250 .*queued as ([0-9A-Za-z]+)/m.exec(transcript);
      if (r.code !== 0 || !m) throw new Error(`swaks exited ${r.code}, message not queued:\n${transcript}`);
      return { queueId: m[1]!, transcript };
    },
    stop,
  };
}
