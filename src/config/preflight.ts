import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type Policy, loadPolicy } from '../policy/policy-file.js';
import { ConfigError } from './errors.js';
import type { Config, HostPort } from './schema.js';
import { originOf } from './load.js';

/**
 * Checks at start, before anything is created: every file the config names, and (for `start`)
 * that both listen addresses can be bound. Nothing here writes, creates or keeps open anything.
 */

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'a directory',
};

/** A readable regular file's bytes, or a ConfigError naming the key and why not. */
function readNamedFile(config: Config, key: string, file: string, expected: string): Buffer {
  const refuse = (reason: string): never => {
    throw new ConfigError(originOf(config, key), key, expected, file, reason);
  };
  try {
    if (!fs.statSync(file).isFile()) refuse('not a regular file');
    return fs.readFileSync(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return refuse(REASONS[code] ?? (code || (err as Error).message));
  }
}

/** A file that must parse as `parse` expects; `what` says what it should hold. */
function parsedFile<T>(config: Config, key: string, file: string, what: string, parse: (bytes: Buffer) => T): T {
  const expected = `a readable ${what} file`;
  const bytes = readNamedFile(config, key, file, expected);
  try {
    return parse(bytes);
  } catch {
    throw new ConfigError(originOf(config, key), key, expected, file, `not a ${what}`);
  }
}

/**
 * Every file the config names, checked without creating anything: the TLS key and certificate
 * (readable PEM, the key belonging to the certificate), the policy file and everything the policy
 * names (lists, plugins; loadPolicy throws a PolicyError for those). Returns the loaded policy.
 * A file added to the config later (e.g. an audit anchor file) is checked here too.
 */
export async function checkFiles(config: Config): Promise<Policy> {
  const tls = config.smtp.tls;
  if (tls) {
    const key = parsedFile(config, 'smtp.tls.key', tls.key, 'PEM private key', (b) => crypto.createPrivateKey(b));
    const cert = parsedFile(config, 'smtp.tls.cert', tls.cert, 'PEM certificate', (b) => new crypto.X509Certificate(b));
    if (!cert.checkPrivateKey(key)) {
      throw new ConfigError(originOf(config, 'smtp.tls.key'), 'smtp.tls.key', 'the private key of the certificate in smtp.tls.cert', tls.key, 'the key does not match the certificate');
    }
  }
  checkAnchorFile(config);
  readNamedFile(config, 'policy', config.policy, 'a readable policy file');
  return loadPolicy(config.policy);
}

/**
 * audit.anchorFile: a writable regular file if it exists; otherwise its directory must exist and
 * be writable — unless that is (inside) the data dir, which start creates.
 */
function checkAnchorFile(config: Config): void {
  const key = 'audit.anchorFile';
  const file = config.audit.anchorFile;
  const refuse = (target: string, expected: string, reason: string): never => {
    throw new ConfigError(originOf(config, key), key, expected, target, reason);
  };
  const writable = (target: string, expected: string, kind: 'file' | 'directory') => {
    const stat = fs.statSync(target);
    if (kind === 'file' ? !stat.isFile() : !stat.isDirectory()) refuse(target, expected, kind === 'file' ? 'not a regular file' : 'not a directory');
    try {
      fs.accessSync(target, fs.constants.W_OK);
    } catch {
      refuse(target, expected, 'not writable');
    }
  };
  if (fs.existsSync(file)) return writable(file, 'an append-only anchor file outguard can write', 'file');
  const dir = path.dirname(file);
  const inDataDir = !path.relative(config.dataDir, dir).startsWith('..') && !path.isAbsolute(path.relative(config.dataDir, dir));
  if (!fs.existsSync(dir)) {
    if (inDataDir) return;
    refuse(file, 'a file in an existing directory', `no such directory: ${dir}`);
  }
  writable(dir, 'a file in a directory outguard can write', 'directory');
}

/** A listen address that cannot be bound, naming the setting. Not a config error: the port may be busy for now. */
export class ListenError extends Error {
  constructor(
    readonly key: string,
    readonly address: HostPort,
    readonly code: string,
  ) {
    super(`cannot listen on ${formatAddress(address)} (${key}): ${code === 'EADDRINUSE' ? 'address already in use' : code}`);
    this.name = 'ListenError';
  }
}

const formatAddress = (a: HostPort) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

/**
 * Binds both listen addresses at once (so the two cannot be the same) and closes them again, so a
 * busy or forbidden port stops `start` before the data dir is touched. Port 0 (any free port) is not probed.
 */
export async function checkPorts(config: Config): Promise<void> {
  const open: net.Server[] = [];
  try {
    for (const [key, address] of [['smtp.listen', config.smtp.listen], ['web.listen', config.web.listen]] as const) {
      if (address.port === 0) continue;
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(key, address, err.code ?? err.message)));
        server.listen({ host: address.host, port: address.port, exclusive: true }, resolve);
      });
      open.push(server);
    }
  } finally {
    await Promise.all(open.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
