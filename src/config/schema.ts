import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';
import { isPasswordHash } from '../crypto/password-hash.js';
import {
  type Field,
  type HostPort,
  boolean,
  cidrList,
  domainList,
  hostPort,
  httpUrl,
  mapping,
  oneOf,
  positiveInt,
  string,
} from './fields.js';

export type { HostPort } from './fields.js';

export type NextHopConfig =
  | { kind: 'file'; dir: string }
  | { kind: 'smtp'; host: string; port: number; secure: boolean; url: string };

export interface SmtpUser {
  username: string;
  /** scrypt hash made by `outguard hash-password` */
  password: string;
}

export interface Config {
  /** Where the values came from, for messages: the file path or "built-in defaults". */
  source: string;
  smtp: {
    listen: HostPort;
    hostname: string;
    relayNetworks: string[];
    maxSize: number;
    maxRecipients: number;
    maxClients: number;
    socketTimeoutMs: number;
    shutdownTimeoutMs: number;
    reverseLookup: boolean;
    tls: { key: string; cert: string } | null;
    users: SmtpUser[];
  };
  web: { listen: HostPort; publicUrl: string };
  dataDir: string;
  nextHop: NextHopConfig;
  delivery: {
    maxConnections: number;
    timeoutMs: number;
    /** STARTTLS to the next hop: like Postfix's may / encrypt / verify / none. */
    tls: 'opportunistic' | 'required' | 'verify' | 'off';
    auth: { user: string; pass: string } | null;
  };
  policy: string;
  /** Run parsing and checks on a worker thread (default) or on the main thread. */
  policyThread: boolean;
  organization: { internalDomains: string[]; partnerDomains: string[] };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
}

/** The embedded defaults: what `npm start` runs with on a fresh clone. */
export const DEFAULTS = {
  smtp: {
    listen: '127.0.0.1:2525',
    hostname: os.hostname(),
    relayNetworks: ['127.0.0.0/8', '::1/128'],
    maxSize: 52428800,
    maxRecipients: 100,
    maxClients: 100,
    socketTimeoutMs: 60000,
    shutdownTimeoutMs: 30000,
    reverseLookup: false,
    users: [],
  },
  web: { listen: '127.0.0.1:8025', publicUrl: 'http://127.0.0.1:8025' },
  dataDir: './data',
  delivery: { maxConnections: 10, timeoutMs: 60000, tls: 'opportunistic' },
  // the policy shipped with the package, wherever outguard is started from
  policy: fileURLToPath(new URL('../../policies/default.yaml', import.meta.url)),
  policyThread: true,
  organization: { internalDomains: [], partnerDomains: [] },
  log: { level: 'info' },
} as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Where each value came from, so an error names the file or the environment variable. */
export type Origin = (key: string) => string;

/**
 * Turns the merged raw tree into a typed, validated Config.
 * `resolvePath` makes relative paths absolute against the place the value came from.
 */
export function buildConfig(raw: Record<string, unknown>, origin: Origin, resolvePath: (key: string, p: string) => string, source: string): Config {
  const field = (key: string, value: unknown): Field => ({ source: origin(key), key, value });
  const section = (key: string, allowed: string[]): Record<string, unknown> => {
    const value = key === '' ? raw : raw[key];
    const m = mapping(field(key || '(top level)', value));
    for (const k of Object.keys(m)) {
      if (!allowed.includes(k)) {
        const full = key ? `${key}.${k}` : k;
        throw new ConfigError(origin(full), full, `a known key (${allowed.join(', ')})`, `unknown key "${k}"`);
      }
    }
    return m;
  };

  section('', ['smtp', 'web', 'dataDir', 'nextHop', 'delivery', 'policy', 'policyThread', 'organization', 'log']);
  const smtp = section('smtp', [
    'listen', 'hostname', 'relayNetworks', 'maxSize', 'maxRecipients', 'maxClients',
    'socketTimeoutMs', 'shutdownTimeoutMs', 'reverseLookup', 'tls', 'users',
  ]);
  const web = section('web', ['listen', 'publicUrl']);
  const delivery = section('delivery', ['maxConnections', 'timeoutMs', 'tls', 'auth']);
  const organization = section('organization', ['internalDomains', 'partnerDomains']);
  const log = section('log', ['level']);

  const dataDir = resolvePath('dataDir', string(field('dataDir', raw.dataDir)));
  return {
    source,
    smtp: {
      listen: hostPort(field('smtp.listen', smtp.listen)),
      hostname: string(field('smtp.hostname', smtp.hostname)),
      relayNetworks: cidrList(field('smtp.relayNetworks', smtp.relayNetworks)),
      maxSize: positiveInt(field('smtp.maxSize', smtp.maxSize), 'a size in bytes (a positive whole number)'),
      maxRecipients: positiveInt(field('smtp.maxRecipients', smtp.maxRecipients)),
      maxClients: positiveInt(field('smtp.maxClients', smtp.maxClients)),
      socketTimeoutMs: positiveInt(field('smtp.socketTimeoutMs', smtp.socketTimeoutMs), 'milliseconds (a positive whole number)'),
      shutdownTimeoutMs: positiveInt(field('smtp.shutdownTimeoutMs', smtp.shutdownTimeoutMs), 'milliseconds (a positive whole number)'),
      reverseLookup: boolean(field('smtp.reverseLookup', smtp.reverseLookup)),
      tls: tlsFiles(smtp.tls, field, resolvePath),
      users: smtpUsers(smtp.users, field),
    },
    web: {
      listen: hostPort(field('web.listen', web.listen)),
      publicUrl: httpUrl(field('web.publicUrl', web.publicUrl)),
    },
    dataDir,
    // Unless chosen, the next hop is the outbox folder inside the data directory.
    nextHop: raw.nextHop === undefined ? { kind: 'file', dir: path.join(dataDir, 'outbox') } : nextHop(field('nextHop', raw.nextHop), resolvePath),
    delivery: {
      maxConnections: positiveInt(field('delivery.maxConnections', delivery.maxConnections)),
      timeoutMs: positiveInt(field('delivery.timeoutMs', delivery.timeoutMs), 'milliseconds (a positive whole number)'),
      tls: oneOf(field('delivery.tls', delivery.tls), ['opportunistic', 'required', 'verify', 'off'] as const),
      auth: deliveryAuth(delivery.auth, field),
    },
    policy: resolvePath('policy', string(field('policy', raw.policy))),
    policyThread: boolean(field('policyThread', raw.policyThread)),
    organization: {
      internalDomains: domainList(field('organization.internalDomains', organization.internalDomains)),
      partnerDomains: domainList(field('organization.partnerDomains', organization.partnerDomains)),
    },
    log: { level: oneOf(field('log.level', log.level), LOG_LEVELS) },
  };
}

function tlsFiles(value: unknown, field: (k: string, v: unknown) => Field, resolvePath: (key: string, p: string) => string): Config['smtp']['tls'] {
  if (value === undefined || value === null) return null;
  const m = mapping(field('smtp.tls', value));
  return {
    key: resolvePath('smtp.tls.key', string(field('smtp.tls.key', m.key))),
    cert: resolvePath('smtp.tls.cert', string(field('smtp.tls.cert', m.cert))),
  };
}

function smtpUsers(value: unknown, field: (k: string, v: unknown) => Field): SmtpUser[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ConfigError(field('smtp.users', value).source, 'smtp.users', 'a list of {username, password}', value);
  return value.map((entry, i) => {
    const key = `smtp.users[${i}]`;
    const m = mapping(field(key, entry));
    const username = string(field(`${key}.username`, m.username));
    const password = string(field(`${key}.password`, m.password));
    if (!isPasswordHash(password)) {
      // never echo what was written: it may be a plain-text password
      throw new ConfigError(field(key, entry).source, `${key}.password`, 'an scrypt hash made by `outguard hash-password` (plain-text passwords are not accepted)');
    }
    return { username, password };
  });
}

function deliveryAuth(value: unknown, field: (k: string, v: unknown) => Field): Config['delivery']['auth'] {
  if (value === undefined || value === null) return null;
  const m = mapping(field('delivery.auth', value));
  return { user: string(field('delivery.auth.user', m.user)), pass: string(field('delivery.auth.pass', m.pass)) };
}

function nextHop(f: Field, resolvePath: (key: string, p: string) => string): NextHopConfig {
  const text = string(f);
  if (text.startsWith('file:')) {
    const dir = text.slice('file:'.length).replace(/^\/\/(?=\/)/, '');
    if (dir === '') throw new ConfigError(f.source, f.key, 'file:DIR with a directory', f.value);
    return { kind: 'file', dir: resolvePath(f.key, dir) };
  }
  const m = /^(smtps?):\/\/(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})\/?$/.exec(text);
  if (m && Number(m[4]) > 0 && Number(m[4]) <= 65535) {
    return { kind: 'smtp', host: m[2] ?? m[3]!, port: Number(m[4]), secure: m[1] === 'smtps', url: text };
  }
  throw new ConfigError(f.source, f.key, 'smtp://host:port, smtps://host:port or file:DIR', f.value);
}

/** Resolves p against base unless it is already absolute. */
export function resolveAgainst(base: string, p: string): string {
  return path.isAbsolute(p) ? p : path.resolve(base, p);
}
