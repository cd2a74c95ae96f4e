import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { client, run, sampleMessage, sendRaw } from './support/client.js';
import { tempDir, writeConfig } from './support/gateway.js';
import { startSink } from './support/sink.js';
import { until } from './support/wait.js';
import { hashPassword } from '../src/crypto/password-hash.js';
import { loadSecretKey } from '../src/store/secret-key.js';
import { SqliteOutboxStore } from '../src/store/sqlite-outbox.js';

const BIN = path.resolve('bin/outguard.js');
const outguard = (...args: string[]) => run('node', [BIN, ...args]);

describe('outguard CLI', () => {
  it.each(['start', 'check-config', 'explain', 'hash-password'])('%s --help describes the command', async (cmd) => {
    const out = await outguard(cmd, '--help');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`Usage: outguard ${cmd}`);
  });

  it('check-config accepts a good file and prints the effective settings without secrets', async () => {
    const file = writeConfig({ delivery: { auth: { user: 'relay', pass: 'hunter2' } } });
    const out = await outguard('check-config', '--config', file);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`config OK: ${file}`);
    expect(out.stdout).not.toContain('hunter2');
  });

  it('check-config refuses a bad value with one line naming file, key and expectation', async () => {
    const file = writeConfig({ smtp: { maxSize: -5 } });
    const out = await outguard('check-config', '--config', file);
    expect(out.code).toBe(78);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stderr).toContain(`${file}: smtp.maxSize: expected a size in bytes`);
    expect(out.stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
  });

  it('start refuses a bad override before listening, naming the variable', async () => {
    const out = await run('node', [BIN, 'start'], undefined, { OUTGUARD_SMTP_LISTEN: '127.0.0.1:99999' });
    expect(out.code).toBe(78);
    expect(out.stderr.trim()).toBe(
      'outguard: config error: environment variable OUTGUARD_SMTP_LISTEN: smtp.listen: expected host:port such as 127.0.0.1:2525 or [::1]:2525, got "127.0.0.1:99999"',
    );
  });

  it('start refuses a data-at-rest key other than the one the data dir is sealed with, saying so (exit 78)', async () => {
    const dataDir = path.join(tempDir(), 'data');
    await SqliteOutboxStore.open(dataDir, loadSecretKey(dataDir, {}).key).close();
    const env = { OUTGUARD_DATA_DIR: dataDir, OUTGUARD_SMTP_LISTEN: '127.0.0.1:0', OUTGUARD_WEB_LISTEN: '127.0.0.1:0' };
    const out = await run('node', [BIN, 'start'], undefined, { ...env, OUTGUARD_SECRET: 'another secret of forty characters long!!' });
    expect(out.code).toBe(78);
    expect(out.stderr).toMatch(/^outguard: the data-at-rest key given is not the key the data in .*outguard\.db is sealed with \(key check [0-9a-f]{16} recorded, [0-9a-f]{16} given\)/);
  });

  it.each([
    ['smtp.listen', 'OUTGUARD_SMTP_LISTEN'],
    ['web.listen', 'OUTGUARD_WEB_LISTEN'],
  ])('start names a port already in use (%s) and leaves nothing behind', async (key, variable) => {
    const blocker = await startSink();
    const dataDir = path.join(tempDir(), 'data');
    const out = await run('node', [BIN, 'start'], undefined, { [variable]: `127.0.0.1:${blocker.port}`, OUTGUARD_DATA_DIR: dataDir });
    await blocker.close();
    expect(out.code).toBe(1);
    expect(out.stderr.trim()).toBe(`outguard: cannot listen on 127.0.0.1:${blocker.port} (${key}): address already in use`);
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('explain answers deliver with no findings for a clean internal message under the default policy', async () => {
    const eml = path.join(tempDir(), 'm.eml');
    fs.writeFileSync(eml, sampleMessage({ to: 'colleague@example.co.jp' }));
    const out = await run('node', [BIN, 'explain', eml, '--from', 'taro@example.co.jp', '--to', 'colleague@example.co.jp'], undefined, {
      OUTGUARD_INTERNAL_DOMAINS: 'example.co.jp',
      OUTGUARD_DATA_DIR: tempDir(),
    });
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ action: 'deliver', findings: [] });
  });

  it('explain prints every finding with rule, clause, severity, message and the matched value', async () => {
    const eml = path.join(tempDir(), 'm.eml');
    fs.writeFileSync(eml, sampleMessage({ to: 'anon@mailinator.com', body: 'https://97.gigafile.nu/1126-abc\r\n' }));
    const out = await run('node', [BIN, 'explain', eml, '--from', 'taro@example.co.jp', '--to', 'anon@mailinator.com'], undefined, {
      OUTGUARD_INTERNAL_DOMAINS: 'example.co.jp',
      OUTGUARD_DATA_DIR: tempDir(),
    });
    const verdict = JSON.parse(out.stdout) as { action: string; findings: Record<string, string>[] };
    expect(verdict.action).toBe('reject');
    expect(verdict.findings).toContainEqual(
      expect.objectContaining({ rule: 'anonymous-recipient', clause: '遵守事項 第6-3', severity: 'reject', value: 'anon@mailinator.com' }),
    );
    expect(verdict.findings).toContainEqual(expect.objectContaining({ rule: 'file-transfer-link', value: 'https://97.gigafile.nu/1126-abc' }));
    for (const f of verdict.findings) expect(f.message).toMatch(/[ぁ-んァ-ヶ一-龠].* \/ [a-z]/);
  });

  it('check-config and start refuse a broken policy, naming file, rule and key', async () => {
    const dir = tempDir();
    const policy = path.join(dir, 'p.yaml');
    fs.writeFileSync(policy, 'rules:\n  - id: burst\n    clause: 遵守事項 第6-1\n    check: sender-burst\n    params: { max: lots }\n    action: hold\n    message: { ja: 多い, en: too many }\n');
    const file = writeConfig({ policy });
    for (const cmd of ['check-config', 'start']) {
      const out = await outguard(cmd, '--config', file);
      expect(out.code).toBe(78);
      expect(out.stderr.trim()).toBe(`outguard: policy error: ${policy}: rule burst: params.max: expected a number ≥ 1, got "lots"`);
    }
  });

  it('explain names a missing file', async () => {
    const out = await outguard('explain', '/nonexistent.eml', '--from', 'a@b.jp', '--to', 'c@d.jp');
    expect(out.code).toBe(1);
    expect(out.stderr.trim()).toBe('outguard: cannot read /nonexistent.eml: ENOENT');
  });

  it('check-config masks every secret: user password hashes and the next hop password', async () => {
    const hash = await hashPassword('correct horse');
    const file = writeConfig({
      smtp: { users: [{ username: 'alice', password: hash }] },
      web: { listen: '127.0.0.1:0', users: [{ username: 'rita', password: hash, role: 'reviewer' }] },
      delivery: { auth: { user: 'relay', pass: 'hunter2' } },
    });
    const out = await outguard('check-config', '--config', file);
    expect(out.code).toBe(0);
    expect(out.stdout).not.toMatch(/scrypt\$/);
    expect(out.stdout).not.toContain(hash.split('$').pop());
    expect(out.stdout).not.toContain('hunter2');
    const shown = JSON.parse(out.stdout.slice(out.stdout.indexOf('{'))) as {
      smtp: { users: unknown[] };
      web: { users: unknown[] };
      delivery: { auth: unknown };
    };
    expect(shown.smtp.users).toEqual([{ username: 'alice', password: '(set)' }]);
    expect(shown.web.users).toEqual([{ username: 'rita', password: '(set)', role: 'reviewer' }]);
    expect(shown.delivery.auth).toEqual({ user: 'relay', pass: '(set)' });
  });

  it('hash-password prints an scrypt hash the config accepts', async () => {
    const out = await run('node', [BIN, 'hash-password'], 'correct horse\n');
    expect(out.stdout.trim()).toMatch(/^scrypt\$16384\$8\$1\$/);
    const file = writeConfig({ smtp: { users: [{ username: 'alice', password: out.stdout.trim() }] } });
    expect((await outguard('check-config', '--config', file)).code).toBe(0);
  });
});

describe('every file the config names is checked before anything is created', () => {
  const certs = (name: string) => {
    const dir = tempDir(`outguard-${name}-`);
    execFileSync(path.resolve('certs/make-self-signed.sh'), [dir, 'localhost'], { stdio: 'ignore' });
    return { key: path.join(dir, 'outguard.key'), cert: path.join(dir, 'outguard.crt') };
  };
  const dataDirOf = (file: string) => path.join(path.dirname(file), 'data');

  /** Both commands refuse the config with exit 78 and this one line; start has created nothing. */
  async function refused(file: string, line: string, env?: Record<string, string>): Promise<void> {
    for (const cmd of ['check-config', 'start']) {
      const out = await run('node', [BIN, cmd, '--config', file], undefined, env);
      expect(out.code, `${cmd}: ${out.stderr}`).toBe(78);
      expect(out.stderr.trim()).toBe(line);
      expect(fs.existsSync(dataDirOf(file))).toBe(false);
    }
  }

  it('a missing TLS key names smtp.tls.key', async () => {
    const { cert } = certs('tls');
    const key = path.join(tempDir(), 'missing.pem');
    const file = writeConfig({ smtp: { tls: { key, cert } } });
    await refused(file, `outguard: config error: ${file}: smtp.tls.key: expected a readable PEM private key file, got "${key}" (no such file)`);
  });

  it('a TLS certificate that is no PEM certificate names smtp.tls.cert', async () => {
    const { key } = certs('tls');
    const dir = tempDir();
    const cert = path.join(dir, 'cert.pem');
    fs.writeFileSync(cert, 'not a certificate\n');
    const file = writeConfig({ smtp: { tls: { key, cert } } }, dir);
    await refused(file, `outguard: config error: ${file}: smtp.tls.cert: expected a readable PEM certificate file, got "${cert}" (not a PEM certificate)`);
  });

  it('a TLS key that is not the certificate\'s names smtp.tls.key', async () => {
    const a = certs('a');
    const b = certs('b');
    const file = writeConfig({ smtp: { tls: { key: a.key, cert: b.cert } } });
    await refused(file, `outguard: config error: ${file}: smtp.tls.key: expected the private key of the certificate in smtp.tls.cert, got "${a.key}" (the key does not match the certificate)`);
  });

  it('an anchor file in a directory that does not exist names audit.anchorFile', async () => {
    const anchorFile = path.join(tempDir(), 'gone', 'audit-anchor.log');
    const file = writeConfig({ audit: { anchorFile } });
    await refused(file, `outguard: config error: ${file}: audit.anchorFile: expected a file in an existing directory, got "${anchorFile}" (no such directory: ${path.dirname(anchorFile)})`);
  });

  it('a TLS key that is a directory names smtp.tls.key', async () => {
    const { cert } = certs('tls');
    const key = tempDir();
    const file = writeConfig({ smtp: { tls: { key, cert } } });
    await refused(file, `outguard: config error: ${file}: smtp.tls.key: expected a readable PEM private key file, got "${key}" (not a regular file)`);
  });

  it('a good key and certificate pass check-config', async () => {
    const file = writeConfig({ smtp: { tls: certs('tls') } });
    const out = await outguard('check-config', '--config', file);
    expect(out.code, out.stderr).toBe(0);
    expect(fs.existsSync(dataDirOf(file))).toBe(false);
  });

  it('a missing policy names policy (and the environment variable that set it)', async () => {
    const dir = tempDir();
    const policy = path.join(dir, 'nowhere.yaml');
    const file = writeConfig({ policy }, dir);
    await refused(file, `outguard: config error: ${file}: policy: expected a readable policy file, got "${policy}" (no such file)`);
    await refused(writeConfig({}), `outguard: config error: environment variable OUTGUARD_POLICY: policy: expected a readable policy file, got "${policy}" (no such file)`, { OUTGUARD_POLICY: policy });
  });

  it('a list file the policy names that is missing or unreadable names the list', async () => {
    const dir = tempDir();
    const policy = path.join(dir, 'p.yaml');
    fs.writeFileSync(policy, 'lists:\n  bad: bad.txt\nrules: []\n');
    const file = writeConfig({ policy }, dir);
    await refused(file, `outguard: policy error: ${policy}: lists.bad.files[0]: expected an existing list file, got "bad.txt"`);
    fs.mkdirSync(path.join(dir, 'bad.txt'));
    await refused(file, `outguard: policy error: ${policy}: lists.bad.files[0]: expected a readable regular list file, got "bad.txt"`);
  });
});

/** Starts `outguard start --config FILE` as a real process; resolves once it logged that it started. */
async function spawnOutguard(file: string): Promise<{ child: ChildProcess; port: number; stdout: () => string }> {
  const child = spawn('node', [BIN, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const started = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not started: ${stdout}`)), 10000);
    child.stdout!.on('data', () => {
      const line = stdout.split('\n').find((l) => l.includes('outguard started'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, string>);
      }
    });
  });
  return { child, port: Number(started.smtp!.split(':').pop()), stdout: () => stdout };
}

describe('outguard start', () => {
  const children: ChildProcess[] = [];
  afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

  it('finishes the message in flight on SIGTERM, then exits 0', async () => {
    const sink = await startSink({ delayMs: 1500 });
    const file = writeConfig({ nextHop: `smtp://127.0.0.1:${sink.port}` });
    const { child, port, stdout } = await spawnOutguard(file);
    children.push(child);
    const t = client(port);
    const sending = sendRaw(t, 'taro@example.co.jp', ['x@partner.example'], sampleMessage());
    await new Promise((r) => setTimeout(r, 700)); // the message is now waiting on the slow next hop
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const result = await sending;
    t.close();
    expect(result.ok).toBe(true);
    expect(await exited).toBe(0);
    expect(sink.messages).toHaveLength(1);
    expect(stdout()).toContain('"msg":"stopped"');
    await sink.close();
  });

  it('reloads the policy on SIGHUP and keeps the last good one when the edit is broken', async () => {
    const dir = tempDir();
    const policy = path.join(dir, 'p.yaml');
    const good = (action: string) =>
      `lists:\n  bad: bad.txt\nrules:\n  - id: bad-domain\n    clause: 遵守事項 第6-3\n    check: anonymous-recipient\n    params: { list: bad }\n    action: ${action}\n    message: { ja: 禁止, en: forbidden domain }\n`;
    fs.writeFileSync(path.join(dir, 'bad.txt'), 'bad.example\n');
    fs.writeFileSync(policy, good('monitor'));
    const sink = await startSink();
    const writeConfigPath = writeConfig({ nextHop: `smtp://127.0.0.1:${sink.port}`, policy });
    const { child, port, stdout } = await spawnOutguard(writeConfigPath);
    children.push(child);
    const t = client(port);
    try {
      expect((await sendRaw(t, 'a@example.co.jp', ['x@bad.example'], sampleMessage())).ok).toBe(true);
      fs.writeFileSync(policy, good('reject'));
      child.kill('SIGHUP');
      await until(() => stdout().includes('"reason":"SIGHUP"'));
      expect((await sendRaw(t, 'a@example.co.jp', ['x@bad.example'], sampleMessage())).response).toMatch(/^550 5\.7\.1 bad-domain: forbidden domain/);
      fs.writeFileSync(policy, good('obliterate'));
      child.kill('SIGHUP');
      await until(() => /"reason":"SIGHUP".*policy reload refused/.test(stdout()));
      expect((await sendRaw(t, 'a@example.co.jp', ['x@bad.example'], sampleMessage())).code).toBe(550);
      // both reloads are in the audit log
      await new Promise((r) => setTimeout(r, 400));
      const events = JSON.parse((await outguard('audit', 'export', '--format', 'json', '--action', 'policy-reloaded', '--config', writeConfigPath)).stdout) as { action: string; detail: string }[];
      expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['reloaded', 'refused']));
    } finally {
      t.close();
      child.kill('SIGTERM');
      await sink.close();
    }
  });
});
