/**
 * The pieces the crash test (test/e2e/crash.test.ts) and the soak (bench/soak.ts) share: the real
 * gateway as a child process (`node bin/outguard.js start`), a config with two outside ZIP
 * profiles, a real SMTP client (Python's smtplib), and the check of what the recording sink got
 * for one message: every group reached, no attachment in the clear, every ZIP with its password
 * notice, never two different copies (so never two passwords) for one group, the files intact.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { MessageModel } from '../../src/message/model.js';
import { sevenZipExtract } from './archives.js';
import { withAttachments } from './mime.js';
import { headerOf, passwordOf } from './notices.js';
import { writePolicy } from './policy.js';
import type { Received } from './sink.js';
import { sleep } from './wait.js';
import net from 'node:net';

export const BIN = path.resolve('bin/outguard.js');
/** OUTGUARD_SECRET of every process of a run: a restarted gateway and the CLI open the same store. */
export const SECRET = 'crash-harness-secret-0123456789abcdefghijklmnop';

export const SENDER = 'taro@example.co.jp';
export const INTERNAL_DOMAIN = 'example.co.jp';

/** A recipient group: the internal one, or an outside one with its ZIP profile. */
export interface Group {
  name: string;
  /** The recipient domain of the group (one domain per group here). */
  domain: string;
  internal: boolean;
  /** Where an outside group's password notice goes. */
  password?: 'sender' | 'recipients';
}

/** internal, partner-a (AES-256, password to the sender), partner-b (ZipCrypto, password to the recipients at once). */
export const GROUPS: Group[] = [
  { name: 'internal', domain: INTERNAL_DOMAIN, internal: true },
  { name: 'partner-a', domain: 'partner-a.example', internal: false, password: 'sender' },
  { name: 'partner-b', domain: 'partner-b.example', internal: false, password: 'recipients' },
  // only the soak uses it: the policy's default profile (AES-256, password to the sender); its mail is held
  { name: 'partner-c', domain: 'partner-c.example', internal: false, password: 'sender' },
];

export const groupOf = (address: string): Group | undefined => GROUPS.find((g) => address.toLowerCase().endsWith(`@${g.domain}`));

/** The encryption section: two outside profiles beside the default. */
export const ENCRYPTION_YAML = [
  'encryption:',
  '  profiles:',
  '    - domains: [partner-a.example]',
  '      cipher: aes256',
  '      password: sender',
  '    - domains: [partner-b.example]',
  '      cipher: zipcrypto',
  '      names: utf8',
  '      password: { to: recipients, delayMinutes: 0 }',
  '',
].join('\n');

export interface GatewaySetup {
  dir: string;
  dataDir: string;
  config: string;
  smtpPort: number;
  webPort: number;
}

/** Writes the policy and the config (fixed loopback ports, so a restart listens where the client retries). */
export function writeSetup(opts: { dir: string; sinkPort: number; smtpPort: number; webPort: number; rules: string; lists?: Record<string, string> }): GatewaySetup {
  const { dir } = opts;
  fs.mkdirSync(dir, { recursive: true });
  const policy = writePolicy(`${opts.rules}\n${ENCRYPTION_YAML}`, opts.lists, dir);
  const dataDir = path.join(dir, 'data');
  const config = path.join(dir, 'outguard.yaml');
  fs.writeFileSync(
    config,
    YAML.stringify({
      dataDir,
      policy,
      policyThread: false,
      smtp: { listen: `127.0.0.1:${opts.smtpPort}` },
      web: { listen: `127.0.0.1:${opts.webPort}`, publicUrl: `http://127.0.0.1:${opts.webPort}` },
      nextHop: `smtp://127.0.0.1:${opts.sinkPort}`,
      delivery: { tls: 'off' },
      organization: { internalDomains: [INTERNAL_DOMAIN] },
      log: { level: 'info' },
    }),
  );
  return { dir, dataDir, config, smtpPort: opts.smtpPort, webPort: opts.webPort };
}

/** The environment of every outguard process of a run; OUTGUARD_CRASH_AT only when given. */
export function outguardEnv(crashAt?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OUTGUARD_SECRET: SECRET };
  delete env.OUTGUARD_CRASH_AT;
  delete env.OUTGUARD_CONFIG;
  if (crashAt !== undefined) env.OUTGUARD_CRASH_AT = crashAt;
  return env;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** `outguard start` as a real process. */
export class GatewayProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  /** True once it logged "outguard started"; false when it died first. */
  readonly ready: Promise<boolean>;
  private out = '';
  private err = '';
  exit: Exit | undefined;

  constructor(config: string, crashAt?: string) {
    this.child = spawn(process.execPath, [BIN, 'start', '--config', config], { env: outguardEnv(crashAt), stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
    this.child.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    this.ready = new Promise((resolve) => {
      this.child.stdout!.on('data', (d: Buffer) => {
        const before = this.out.length;
        this.out += d.toString();
        if (this.out.indexOf('outguard started', Math.max(0, before - 20)) >= 0) resolve(true);
      });
      void this.exited.then(() => resolve(this.out.includes('outguard started')));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The JSON log lines so far. */
  logs(): Record<string, unknown>[] {
    return this.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  }

  stdout(): string {
    return this.out;
  }

  stderr(): string {
    return this.err;
  }

  /** Resolves with the exit, or with undefined after timeoutMs. */
  async waitExit(timeoutMs: number): Promise<Exit | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM (finishes what is in flight), SIGKILL after timeoutMs. */
  async stop(timeoutMs = 5000): Promise<Exit> {
    if (this.exit) return this.exit;
    this.child.kill('SIGTERM');
    const e = await this.waitExit(timeoutMs);
    if (e) return e;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  /** kill -9 from outside, as a power cut would. */
  async kill9(): Promise<Exit> {
    if (this.exit) return this.exit;
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** Starts the gateway and waits (bounded) until it listens; throws when it died or hung first. */
export async function startGateway(config: string, crashAt?: string, timeoutMs = 15_000): Promise<GatewayProcess> {
  const g = new GatewayProcess(config, crashAt);
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([g.ready, new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
  clearTimeout(timer);
  if (!ok) {
    await g.kill9();
    throw new Error(`outguard did not start (${JSON.stringify(g.exit)}): ${g.stderr().slice(-2000)} ${g.stdout().slice(-2000)}`);
  }
  return g;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program and reports how it ended, signal included (test/support/client.ts's run folds signals into code 1). */
export function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

/** `outguard held …` with the run's secret (and a crash point, if given). */
export function heldCli(config: string, args: string[], crashAt?: string): Promise<RunResult> {
  return runProcess(process.execPath, [BIN, 'held', ...args, '--config', config], outguardEnv(crashAt));
}

export interface SmtpAnswer {
  /** The reply code of DATA (or of the command refused); 0 when the connection failed or dropped. */
  code: number;
  text: string;
}

const PY_CLIENT = `
import json, smtplib, sys
host, port, sender, rcpts, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(','), sys.argv[5]
msg = open(path, 'rb').read()
def answer(code, text):
    print(json.dumps({'code': code, 'text': text}))
    sys.exit(0)
try:
    s = smtplib.SMTP(host, port, timeout=60)
    s.ehlo('client.example.co.jp')
    code, resp = s.mail(sender)
    if code != 250: answer(code, resp.decode('utf-8', 'replace'))
    for r in rcpts:
        code, resp = s.rcpt(r)
        if code not in (250, 251): answer(code, resp.decode('utf-8', 'replace'))
    code, resp = s.data(msg)
    try:
        s.quit()
    except Exception:
        pass
    answer(code, resp.decode('utf-8', 'replace'))
except smtplib.SMTPResponseException as e:
    answer(e.smtp_code, e.smtp_error.decode('utf-8', 'replace') if isinstance(e.smtp_error, bytes) else str(e.smtp_error))
except Exception as e:
    answer(0, type(e).__name__ + ': ' + str(e))
`;

/** Sends the bytes in `file` with Python's smtplib (a client nobody here wrote) and returns the answer to DATA. */
export async function sendWithPython(port: number, from: string, to: string[], file: string): Promise<SmtpAnswer> {
  const r = await runProcess('python3', ['-c', PY_CLIENT, '127.0.0.1', String(port), from, to.join(','), file], process.env, 90_000);
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as SmtpAnswer;
  } catch {
    return { code: 0, text: `python3 failed: ${r.code} ${r.signal} ${r.stderr.slice(-500)}` };
  }
}

/**
 * Sends a message and drops the connection right after the final ".", before the answer: what a
 * client sees when the gateway dies before it answers, or the network fails.
 */
export async function sendAndLoseAnswer(port: number, from: string, to: string[], raw: Buffer, timeoutMs = 10_000): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  let buffer = '';
  socket.on('data', (d: Buffer) => (buffer += d.toString('latin1')));
  socket.on('error', () => undefined);
  const deadline = Date.now() + timeoutMs;
  const expect = async (code: string) => {
    // the last line of a (multi-line) reply: the code and a space
    while (!new RegExp(`(^|\r\n)${code} [^\r\n]*\r\n$`).test(buffer)) {
      if (Date.now() > deadline) throw new Error(`no ${code} reply: ${buffer}`);
      await sleep(5);
    }
    buffer = '';
  };
  try {
    await expect('220');
    socket.write('EHLO client.example.co.jp\r\n');
    await expect('250');
    socket.write(`MAIL FROM:<${from}>\r\n`);
    await expect('250');
    for (const r of to) {
      socket.write(`RCPT TO:<${r}>\r\n`);
      await expect('250');
    }
    socket.write('DATA\r\n');
    await expect('354');
    // dot-stuffed, as a client sends it; the same bytes as smtplib sends for a message ending in CRLF
    const body = raw.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
    socket.write(Buffer.from(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1'));
    await new Promise((r) => socket.write('', r));
  } finally {
    socket.destroy();
  }
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** One message a client sends (and resends, byte for byte, until it gets an answer). */
export interface Outgoing {
  tag: string;
  messageId: string;
  from: string;
  to: string[];
  raw: Buffer;
  /** Attachment name → SHA-256. */
  files: Record<string, string>;
}

/** A message with two attachments (random bytes and a text) to the given recipients. */
export function composeWithAttachments(tag: string, to: string[], opts: { size?: number } = {}): Outgoing {
  const messageId = `<${tag}.${randomBytes(6).toString('hex')}@example.co.jp>`;
  const data = randomBytes(opts.size ?? 24 * 1024);
  const memo = Buffer.from(`議事録 ${tag}\n`.repeat(40));
  const files = { 'figures.dat': data, 'memo.txt': memo };
  const raw = withAttachments({
    headers: [
      'From: 山田 太郎 <taro@example.co.jp>',
      `To: ${to.join(', ')}`,
      `Subject: crash ${tag}`,
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      `Message-ID: ${messageId}`,
    ],
    body: `お世話になっております。資料を添付します。(${tag})`,
    files: Object.entries(files).map(([name, content]) => ({ name, content })),
  });
  return { tag, messageId, from: SENDER, to, raw, files: Object.fromEntries(Object.entries(files).map(([n, c]) => [n, sha256(c)])) };
}

/** A plain text message (one copy for everyone). */
export function composePlain(tag: string, to: string[]): Outgoing {
  const messageId = `<${tag}.${randomBytes(6).toString('hex')}@example.co.jp>`;
  const raw = Buffer.from(
    [
      'From: 山田 太郎 <taro@example.co.jp>',
      `To: ${to.join(', ')}`,
      `Subject: plain ${tag}`,
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      `Message-ID: ${messageId}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      `お世話になっております。(${tag})`,
      '',
    ].join('\r\n'),
  );
  return { tag, messageId, from: SENDER, to, raw, files: {} };
}

/** What the sink got for one message, by group, and what is wrong with it. */
export interface Inspection {
  /** Copies received per group (resends included). */
  copies: Record<string, number>;
  /** Extra arrivals of a copy or notice with an id already received (byte-identical resends). */
  duplicatesSameId: number;
  /** Groups of a plain message that got it twice under different ids (a resend the gateway did not recognise). */
  plainResentWithNewId: string[];
  /** Groups that never got the message. */
  missing: string[];
  /** ZIP copies (by X-Outguard-Id) whose password notice never arrived. */
  zipWithoutNotice: string[];
  /** Groups that got two different encrypted copies, or notices with different passwords for one copy. */
  twoPasswords: string[];
  /** Everything else that is wrong (attachment in the clear, wrong envelope, notice before its copy, hash mismatch…). */
  other: string[];
  /** The distinct ZIP copies with their passwords, for opening them. */
  zips: { group: string; id: string; raw: Buffer; password?: string }[];
}

export function problemsOf(i: Inspection): string[] {
  return [
    ...i.missing.map((g) => `${g}: never received the message`),
    ...i.zipWithoutNotice.map((z) => `ZIP copy ${z}: no password notice`),
    ...i.twoPasswords.map((g) => `${g}: two different encrypted copies / passwords`),
    ...i.other,
  ];
}

/** What the sink received, indexed once by the headers the checks look at. */
export interface Arrival {
  m: Received;
  /** Position in arrival order. */
  index: number;
  messageId?: string;
  notice?: string;
  id?: string;
  ref?: string;
}

export interface Arrivals {
  /** Copies (no X-Outguard-Notice) by the Message-ID of the original. */
  copies: Map<string, Arrival[]>;
  /** Password notices by X-Outguard-Ref. */
  notices: Map<string, Arrival[]>;
}

export function indexArrivals(received: readonly Received[]): Arrivals {
  const a: Arrivals = { copies: new Map(), notices: new Map() };
  const push = (map: Map<string, Arrival[]>, key: string, v: Arrival) => map.set(key, [...(map.get(key) ?? []), v]);
  received.forEach((m, index) => {
    const v: Arrival = { m, index, messageId: headerOf(m.raw, 'Message-ID'), notice: headerOf(m.raw, 'X-Outguard-Notice'), id: headerOf(m.raw, 'X-Outguard-Id'), ref: headerOf(m.raw, 'X-Outguard-Ref') };
    if (v.notice === undefined && v.messageId !== undefined) push(a.copies, v.messageId, v);
    else if (v.notice === 'password' && v.ref !== undefined) push(a.notices, v.ref, v);
  });
  return a;
}

/**
 * Looks at what the sink received for one outgoing message. `expectZip`: whether its outside
 * copies must carry the attachments in a ZIP (false for a plain message).
 */
export function inspect(received: readonly Received[] | Arrivals, msg: Outgoing, expectZip: boolean): Inspection {
  const arrivals = Array.isArray(received) ? indexArrivals(received) : (received as Arrivals);
  const result: Inspection = { copies: {}, duplicatesSameId: 0, plainResentWithNewId: [], missing: [], zipWithoutNotice: [], twoPasswords: [], other: [], zips: [] };
  const copies = arrivals.copies.get(msg.messageId) ?? [];
  const wanted = [...new Set(msg.to.map((a) => groupOf(a)?.name ?? 'unknown'))];
  const seenIds = new Map<string, Buffer>();
  for (const { m, id = '(none)' } of copies) {
    const before = seenIds.get(id);
    if (before === undefined) seenIds.set(id, m.raw);
    else if (before.equals(m.raw)) result.duplicatesSameId++;
    else result.other.push(`copy ${id} arrived twice with different bytes`);
  }
  for (const name of wanted) {
    const group = GROUPS.find((g) => g.name === name);
    const mine = copies.filter(({ m }) => m.to.some((a) => groupOf(a)?.name === name));
    result.copies[name] = mine.length;
    if (mine.length === 0) {
      result.missing.push(name);
      continue;
    }
    if (!group) continue;
    const ids = [...new Set(mine.map((c) => c.id ?? '(none)'))];
    const zipped = expectZip && !group.internal;
    if (ids.length > 1) {
      if (zipped) result.twoPasswords.push(name);
      else result.plainResentWithNewId.push(name);
    }
    const expectedTo = msg.to.filter((a) => groupOf(a)?.name === name).sort();
    for (const id of ids) {
      // copies with one id are byte-identical (checked above): look at the first
      const { m } = mine.find((c) => c.id === id)!;
      if (expectZip && JSON.stringify([...m.to].sort()) !== JSON.stringify(expectedTo)) result.other.push(`${name}: copy ${id} went to ${m.to.join(',')}, expected ${expectedTo.join(',')}`);
      if (m.from !== msg.from) result.other.push(`${name}: copy ${id} has envelope sender ${m.from}`);
      let names: string[];
      try {
        names = MessageModel.parse(m.raw).files.map((f) => f.filename);
      } catch (err) {
        result.other.push(`${name}: copy ${id} cannot be parsed: ${(err as Error).message}`);
        continue;
      }
      if (zipped) {
        if (JSON.stringify(names) !== JSON.stringify(['attachments.zip'])) result.other.push(`${name}: copy ${id} carries ${JSON.stringify(names)} instead of attachments.zip alone`);
      } else if (!m.raw.equals(Buffer.concat([Buffer.from(`X-Outguard-Id: ${id}\r\n`), msg.raw]))) {
        result.other.push(`${name}: copy ${id} is not the original with its X-Outguard-Id`);
      }
    }
    if (!zipped) continue;
    for (const id of ids) {
      const firstCopy = mine.find((c) => c.id === id)!;
      const notices = arrivals.notices.get(id) ?? [];
      if (notices.length === 0) {
        result.zipWithoutNotice.push(`${id} (${name})`);
        result.zips.push({ group: name, id, raw: firstCopy.m.raw });
        continue;
      }
      const passwords = [...new Set(notices.map(({ m }) => passwordOf(m.raw) ?? '(no Password line)'))];
      if (passwords.length > 1) result.twoPasswords.push(`${name} (notices of ${id})`);
      const noticeIds = new Map<string, Buffer>();
      for (const { m, index, id: nid = '' } of notices) {
        const before = noticeIds.get(nid);
        if (before === undefined) noticeIds.set(nid, m.raw);
        else if (before.equals(m.raw)) result.duplicatesSameId++;
        else result.other.push(`${name}: password notice ${nid} arrived twice with different bytes`);
        if (index < firstCopy.index) result.other.push(`${name}: the password notice of ${id} arrived before its copy`);
        const to = group.password === 'sender' ? [msg.from] : expectedTo;
        if (JSON.stringify([...m.to].sort()) !== JSON.stringify(to)) result.other.push(`${name}: the password notice of ${id} went to ${m.to.join(',')}, expected ${to.join(',')}`);
      }
      if (noticeIds.size > 1) result.other.push(`${name}: ${noticeIds.size} different password notices for ${id}`);
      result.zips.push({ group: name, id, raw: firstCopy.m.raw, password: passwords[0] });
    }
  }
  return result;
}

/**
 * Opens a ZIP copy with 7-Zip and the password from its notice; returns what is wrong (empty
 * when every attachment is inside with its SHA-256).
 */
export async function openZip(zip: { group: string; id: string; raw: Buffer; password?: string }, files: Record<string, string>): Promise<string[]> {
  if (zip.password === undefined) return [`${zip.group}: ZIP ${zip.id} has no password to open it with`];
  const attachment = MessageModel.parse(zip.raw).attachments.find((a) => a.filename.endsWith('.zip'));
  if (!attachment) return [`${zip.group}: copy ${zip.id} has no ZIP`];
  let extracted: Map<string, Buffer>;
  try {
    extracted = sevenZipExtract(attachment.content(), zip.password);
  } catch (err) {
    const e = err as { status?: number | null; stdout?: Buffer };
    return [`${zip.group}: 7-Zip cannot open ZIP ${zip.id} with the password of its notice (exit ${e.status ?? null}): ${String(e.stdout ?? '').slice(-300)}`];
  }
  const got = Object.fromEntries([...extracted].map(([n, content]) => [n, sha256(content)]));
  return JSON.stringify(got, Object.keys(got).sort()) === JSON.stringify(files, Object.keys(files).sort()) && Object.keys(got).length === Object.keys(files).length
    ? []
    : [`${zip.group}: ZIP ${zip.id} holds ${JSON.stringify(got)}, expected ${JSON.stringify(files)}`];
}

/** Whether everything one message should produce has arrived (each group, each ZIP's notice). */
export function complete(received: readonly Received[], msg: Outgoing, expectZip: boolean): boolean {
  const i = inspect(received, msg, expectZip);
  return i.missing.length === 0 && i.zipWithoutNotice.length === 0;
}

/**
 * Waits until `done()` holds (bounded by maxMs), then until nothing new arrives for quietMs:
 * the outbox has settled. Returns whether `done()` held.
 */
export async function settle(received: { length: number }, done: () => boolean, opts: { maxMs: number; quietMs: number }): Promise<boolean> {
  const deadline = Date.now() + opts.maxMs;
  while (!done() && Date.now() < deadline) await sleep(100);
  let count = received.length;
  let quietSince = Date.now();
  while (Date.now() - quietSince < opts.quietMs && Date.now() < deadline + opts.quietMs * 2) {
    await sleep(100);
    if (received.length !== count) {
      count = received.length;
      quietSince = Date.now();
    }
  }
  return done();
}


