import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';
import { isPasswordHash } from '../crypto/password-hash.js';
import { type Mailbox, defaultNoticeFrom } from '../message/mailbox.js';
import {
  type Field,
  type HostPort,
  addressList,
  boolean,
  cidrList,
  domainList,
  hostPort,
  mailbox,
  httpUrl,
  mapping,
  oneOf,
  positiveInt,
  string,
  stringList,
} from './fields.js';

export type { HostPort } from './fields.js';

export type NextHopConfig =
  | { kind: 'file'; dir: string }
  | { kind: 'smtp'; host: string; port: number; secure: boolean; url: string };

export interface SmtpUser {
  username: string;
  /** scrypt hash made by `outguard hash-password` */
  password: string;
  /** The envelope senders this login may use: addresses, or domains (`example.co.jp`, subdomains included); absent: organization.internalDomains. */
  from?: string[];
}

/** A login to the reviewer pages (特記事項 第9・第10). Reviewers read; admins also release and discard. */
export interface WebUser {
  username: string;
  /** scrypt hash made by `outguard hash-password` */
  password: string;
  role: 'admin' | 'reviewer';
}

/** The data-storage declaration's facts (別記様式 届出書), for `outguard notice-form`. */
export interface StorageDeclaration {
  /** 1: the media that hold the data, e.g. "社内サーバ内ストレージ (SQLite, 暗号化)". */
  medium: string;
  /** 2: where those media physically are. */
  location: string;
  /** 2: true when everything is kept in Japan only. */
  onlyInJapan: boolean;
  /** 2: countries outside Japan (when not onlyInJapan). */
  countries: string[];
  /** 2: what is kept outside Japan (when not onlyInJapan). */
  overseasData: string;
  /** 3: online storage in use; empty: 無. */
  cloudServices: { service: string; provider: string; location: string }[];
  /** 4: subcontractors that handle the data; empty: 無. */
  subcontractors: { name: string; work: string }[];
}

export interface Config {
  /** Where the values came from, for messages: the file path or "built-in defaults". */
  source: string;
  smtp: {
    listen: HostPort;
    hostname: string;
    relayNetworks: string[];
    maxSize: number;
    /** A message larger than this is received into a sealed spool file instead of memory. */
    spoolThreshold: number;
    /** Bytes of all messages being received and handled at once; past it new mail is answered 452. */
    inFlightBytes: number;
    maxRecipients: number;
    maxClients: number;
    /** Connections at once from one address outside relayNetworks. */
    maxClientsPerAddress: number;
    /** Of maxClients, kept for relayNetworks: clients from elsewhere never take these. */
    reservedForRelay: number;
    /**
     * For a client outside relayNetworks, the longest it may take from one stage to the next:
     * connecting (greeting, EHLO, STARTTLS, AUTH) to MAIL FROM, MAIL FROM (RCPT) to DATA, the end
     * of DATA to the next MAIL FROM.
     */
    stageTimeoutMs: number;
    socketTimeoutMs: number;
    shutdownTimeoutMs: number;
    reverseLookup: boolean;
    tls: { key: string; cert: string } | null;
    users: SmtpUser[];
    /** Failed AUTH in a row, for one username or from one address, before AUTH is refused (454) for authLockoutMinutes. */
    maxAuthFailures: number;
    authLockoutMinutes: number;
  };
  web: {
    listen: HostPort;
    publicUrl: string;
    /** Logins for the reviewer pages; none: the pages answer that no user is configured. */
    users: WebUser[];
    /** How long a login lasts, minutes. */
    sessionMinutes: number;
    /** Failed logins in a row that lock a user (and the client address) out. */
    maxLoginFailures: number;
    /** How long a lock-out lasts, minutes. */
    lockoutMinutes: number;
  };
  /** 遵守事項 第2 and 別記様式. */
  /** The notices to senders (confirmation, password, result): who they come from. */
  notices: { from: Mailbox };
  compliance: {
    /** The client's contact (発注者の窓口) who gets incident reports; none: incidents are only recorded. */
    clientContact: string[];
    /** 第2: minutes from the moment an incident is recognised to the report (60). */
    incidentMinutes: number;
    /** The envelope and From address of incident reports; default postmaster@<smtp.hostname>. */
    from: string;
    /**
     * The sender's 間違いだった on the release page (a mistake caught before sending): false
     * (default), an audit event only; true, an incident too, reported to clientContact.
     */
    reportSenderMistakes: boolean;
    /** The contractor and contract named at the top of the 届出書, and the client it is addressed to (宛先). */
    contractor: { name: string; address: string };
    contract: { date: string; title: string; client: string };
    storage: StorageDeclaration;
  };
  /** What is kept and for how long. */
  retention: {
    /** Days after a hold is decided (released, discarded, expired) before its body is erased; the audit events stay. */
    bodyDays: number;
  };
  /** 特記事項 第9: the audit log's protection. */
  audit: {
    /** The append-only file the chain's head is anchored to after every commit; default DATA_DIR/audit-anchor.log. Keep it on another disk or host. */
    anchorFile: string;
  };
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
  /** Run parsing and checks on a worker thread, or on the main thread (config `auto`: a thread when there are more than two cores). */
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
    spoolThreshold: 1048576,
    inFlightBytes: 536870912,
    maxRecipients: 100,
    maxClients: 100,
    maxClientsPerAddress: 10,
    reservedForRelay: 20,
    stageTimeoutMs: 30000,
    socketTimeoutMs: 60000,
    shutdownTimeoutMs: 30000,
    reverseLookup: false,
    users: [],
    maxAuthFailures: 5,
    authLockoutMinutes: 15,
  },
  web: { listen: '127.0.0.1:8025', users: [], sessionMinutes: 480, maxLoginFailures: 5, lockoutMinutes: 15 },
  compliance: {
    clientContact: [],
    incidentMinutes: 60,
    reportSenderMistakes: false,
    contractor: {},
    contract: {},
    storage: {
      // printed on the 届出書, a Japanese form: Japanese only
      medium: 'outguard のデータディレクトリ（SQLite データベース、保存時暗号化）',
      location: '（記入してください：サーバの設置場所）/ (fill in: where the server stands)',
      onlyInJapan: true,
      countries: [],
      overseasData: '',
      cloudServices: [],
      subcontractors: [],
    },
  },
  retention: { bodyDays: 7 },
  dataDir: './data',
  delivery: { maxConnections: 10, timeoutMs: 60000, tls: 'opportunistic' },
  // the policy shipped with the package, wherever outguard is started from
  policy: fileURLToPath(new URL('../../policies/default.yaml', import.meta.url)),
  policyThread: 'auto',
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

  section('', ['smtp', 'web', 'notices', 'compliance', 'retention', 'audit', 'dataDir', 'nextHop', 'delivery', 'policy', 'policyThread', 'organization', 'log']);
  const smtp = section('smtp', [
    'listen', 'hostname', 'relayNetworks', 'maxSize', 'spoolThreshold', 'inFlightBytes', 'maxRecipients', 'maxClients', 'maxClientsPerAddress', 'reservedForRelay', 'stageTimeoutMs',
    'socketTimeoutMs', 'shutdownTimeoutMs', 'reverseLookup', 'tls', 'users', 'maxAuthFailures', 'authLockoutMinutes',
  ]);
  const web = section('web', ['listen', 'publicUrl', 'users', 'sessionMinutes', 'maxLoginFailures', 'lockoutMinutes']);
  const notices = section('notices', ['from']);
  const compliance = section('compliance', ['clientContact', 'incidentMinutes', 'from', 'reportSenderMistakes', 'contractor', 'contract', 'storage']);
  const retention = section('retention', ['bodyDays']);
  const audit = section('audit', ['anchorFile']);
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
      spoolThreshold: positiveInt(field('smtp.spoolThreshold', smtp.spoolThreshold), 'a size in bytes (a positive whole number)'),
      inFlightBytes: inFlightBytes(field, smtp),
      maxRecipients: positiveInt(field('smtp.maxRecipients', smtp.maxRecipients)),
      maxClients: positiveInt(field('smtp.maxClients', smtp.maxClients)),
      maxClientsPerAddress: positiveInt(field('smtp.maxClientsPerAddress', smtp.maxClientsPerAddress)),
      reservedForRelay: reservedForRelay(field, smtp),
      stageTimeoutMs: positiveInt(field('smtp.stageTimeoutMs', smtp.stageTimeoutMs), 'milliseconds (a positive whole number)'),
      socketTimeoutMs: positiveInt(field('smtp.socketTimeoutMs', smtp.socketTimeoutMs), 'milliseconds (a positive whole number)'),
      shutdownTimeoutMs: positiveInt(field('smtp.shutdownTimeoutMs', smtp.shutdownTimeoutMs), 'milliseconds (a positive whole number)'),
      reverseLookup: boolean(field('smtp.reverseLookup', smtp.reverseLookup)),
      tls: tlsFiles(smtp.tls, field, resolvePath),
      users: smtpUsers(smtp.users, field),
      maxAuthFailures: positiveInt(field('smtp.maxAuthFailures', smtp.maxAuthFailures)),
      authLockoutMinutes: positiveInt(field('smtp.authLockoutMinutes', smtp.authLockoutMinutes), 'minutes (a positive whole number)'),
    },
    web: {
      listen: hostPort(field('web.listen', web.listen)),
      publicUrl: web.publicUrl === undefined ? listenUrl(hostPort(field('web.listen', web.listen)), string(field('smtp.hostname', smtp.hostname))) : httpUrl(field('web.publicUrl', web.publicUrl)),
      users: webUsers(web.users, field),
      sessionMinutes: positiveInt(field('web.sessionMinutes', web.sessionMinutes), 'minutes (a positive whole number)'),
      maxLoginFailures: positiveInt(field('web.maxLoginFailures', web.maxLoginFailures)),
      lockoutMinutes: positiveInt(field('web.lockoutMinutes', web.lockoutMinutes), 'minutes (a positive whole number)'),
    },
    notices: { from: notices.from === undefined ? defaultNoticeFrom(string(field('smtp.hostname', smtp.hostname))) : mailbox(field('notices.from', notices.from)) },
    compliance: complianceSection(compliance, field, string(field('smtp.hostname', smtp.hostname))),
    retention: { bodyDays: positiveInt(field('retention.bodyDays', retention.bodyDays), 'days (a positive whole number)') },
    audit: { anchorFile: audit.anchorFile === undefined ? path.join(dataDir, 'audit-anchor.log') : resolvePath('audit.anchorFile', string(field('audit.anchorFile', audit.anchorFile))) },
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
    policyThread: policyThread(field('policyThread', raw.policyThread)),
    organization: {
      internalDomains: domainList(field('organization.internalDomains', organization.internalDomains)),
      partnerDomains: domainList(field('organization.partnerDomains', organization.partnerDomains)),
    },
    log: { level: oneOf(field('log.level', log.level), LOG_LEVELS) },
  };
}

/**
 * The release links' base when web.publicUrl is not set: the web listener itself, so a changed
 * web.listen moves the links with it; on a wildcard address, the machine's name (smtp.hostname).
 */
export function listenUrl(listen: HostPort, hostname: string): string {
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::';
  const host = wildcard ? hostname : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return `http://${host}:${listen.port}`;
}

/**
 * `auto`: a policy thread only where there are cores to spare. Handing each message to another
 * thread and back costs 10–35 % more CPU per message (measured with `npm run bench`), which
 * on two cores slows the whole gateway; with more cores it keeps a large message's parsing off
 * the thread that speaks SMTP.
 */
function policyThread(f: Field): boolean {
  if (f.value === 'auto') return os.availableParallelism() > 2;
  return boolean(f, 'true, false or auto');
}

function tlsFiles(value: unknown, field: (k: string, v: unknown) => Field, resolvePath: (key: string, p: string) => string): Config['smtp']['tls'] {
  if (value === undefined || value === null) return null;
  const m = mapping(field('smtp.tls', value));
  return {
    key: resolvePath('smtp.tls.key', string(field('smtp.tls.key', m.key))),
    cert: resolvePath('smtp.tls.cert', string(field('smtp.tls.cert', m.cert))),
  };
}

function webUsers(value: unknown, field: (k: string, v: unknown) => Field): WebUser[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ConfigError(field('web.users', value).source, 'web.users', 'a list of {username, password, role}', value);
  const seen = new Set<string>();
  return value.map((entry, i) => {
    const key = `web.users[${i}]`;
    const m = mapping(field(key, entry));
    for (const k of Object.keys(m)) {
      if (!['username', 'password', 'role'].includes(k)) throw new ConfigError(field(key, entry).source, `${key}.${k}`, 'a known key (username, password, role)', `unknown key "${k}"`);
    }
    const username = string(field(`${key}.username`, m.username));
    if (seen.has(username)) throw new ConfigError(field(key, entry).source, `${key}.username`, 'a username not used twice', username);
    seen.add(username);
    const password = string(field(`${key}.password`, m.password));
    if (!isPasswordHash(password)) {
      throw new ConfigError(field(key, entry).source, `${key}.password`, 'an scrypt hash made by `outguard hash-password` (plain-text passwords are not accepted)');
    }
    return { username, password, role: oneOf(field(`${key}.role`, m.role), ['admin', 'reviewer'] as const) };
  });
}

function optionalText(f: Field): string {
  return f.value === undefined || f.value === null || f.value === '' ? '' : string(f);
}

function complianceSection(c: Record<string, unknown>, field: (k: string, v: unknown) => Field, hostname: string): Config['compliance'] {
  const known = (key: string, m: Record<string, unknown>, allowed: string[]) => {
    for (const k of Object.keys(m)) {
      if (!allowed.includes(k)) throw new ConfigError(field(`${key}.${k}`, m[k]).source, `${key}.${k}`, `a known key (${allowed.join(', ')})`, `unknown key "${k}"`);
    }
    return m;
  };
  const contractor = known('compliance.contractor', mapping(field('compliance.contractor', c.contractor)), ['name', 'address']);
  const contract = known('compliance.contract', mapping(field('compliance.contract', c.contract)), ['date', 'title', 'client']);
  const s = known('compliance.storage', mapping(field('compliance.storage', c.storage)), [
    'medium', 'location', 'onlyInJapan', 'countries', 'overseasData', 'cloudServices', 'subcontractors',
  ]);
  const records = <K extends string>(key: string, value: unknown, keys: readonly K[]): Record<K, string>[] => {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw new ConfigError(field(key, value).source, key, `a list of {${keys.join(', ')}}`, value);
    return value.map((entry, i) => {
      const m = known(`${key}[${i}]`, mapping(field(`${key}[${i}]`, entry)), [...keys]);
      return Object.fromEntries(keys.map((k) => [k, optionalText(field(`${key}[${i}].${k}`, m[k]))])) as Record<K, string>;
    });
  };
  const onlyInJapan = boolean(field('compliance.storage.onlyInJapan', s.onlyInJapan));
  return {
    clientContact: addressList(field('compliance.clientContact', c.clientContact)),
    incidentMinutes: positiveInt(field('compliance.incidentMinutes', c.incidentMinutes), 'minutes (a positive whole number)'),
    from: c.from === undefined ? `postmaster@${hostname}` : addressList(field('compliance.from', c.from))[0]!,
    reportSenderMistakes: boolean(field('compliance.reportSenderMistakes', c.reportSenderMistakes)),
    contractor: { name: optionalText(field('compliance.contractor.name', contractor.name)), address: optionalText(field('compliance.contractor.address', contractor.address)) },
    contract: {
      date: optionalText(field('compliance.contract.date', contract.date)),
      title: optionalText(field('compliance.contract.title', contract.title)),
      client: optionalText(field('compliance.contract.client', contract.client)),
    },
    storage: {
      medium: string(field('compliance.storage.medium', s.medium)),
      location: string(field('compliance.storage.location', s.location)),
      onlyInJapan,
      countries: s.countries === undefined || s.countries === null ? [] : stringList(field('compliance.storage.countries', s.countries)),
      overseasData: optionalText(field('compliance.storage.overseasData', s.overseasData)),
      cloudServices: records('compliance.storage.cloudServices', s.cloudServices, ['service', 'provider', 'location'] as const),
      subcontractors: records('compliance.storage.subcontractors', s.subcontractors, ['name', 'work'] as const),
    },
  };
}

/** The relay's share must leave room for others: 0 up to maxClients − 1. */
function reservedForRelay(field: (k: string, v: unknown) => Field, smtp: Record<string, unknown>): number {
  const f = field('smtp.reservedForRelay', smtp.reservedForRelay);
  const maxClients = positiveInt(field('smtp.maxClients', smtp.maxClients));
  if (!Number.isInteger(f.value) || (f.value as number) < 0 || (f.value as number) >= maxClients) {
    throw new ConfigError(f.source, 'smtp.reservedForRelay', `a whole number from 0 to smtp.maxClients − 1 (${maxClients - 1})`, f.value);
  }
  return f.value as number;
}

/** The in-flight budget must let at least one message of the largest size in. */
function inFlightBytes(field: (k: string, v: unknown) => Field, smtp: Record<string, unknown>): number {
  const f = field('smtp.inFlightBytes', smtp.inFlightBytes);
  const budget = positiveInt(f, 'a size in bytes (a positive whole number)');
  const maxSize = positiveInt(field('smtp.maxSize', smtp.maxSize));
  if (budget < maxSize) throw new ConfigError(f.source, 'smtp.inFlightBytes', `a size in bytes of at least smtp.maxSize (${maxSize})`, budget);
  return budget;
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
    for (const k of Object.keys(m)) {
      if (!['username', 'password', 'from'].includes(k)) throw new ConfigError(field(key, entry).source, `${key}.${k}`, 'a known key (username, password, from)', `unknown key "${k}"`);
    }
    if (m.from === undefined || m.from === null) return { username, password };
    const from = field(`${key}.from`, m.from);
    if (!Array.isArray(from.value) || from.value.length === 0 || !from.value.every((a) => typeof a === 'string' && /^[^@\s]*@?[^@\s]+\.[^@\s]+$/.test(a))) {
      throw new ConfigError(from.source, from.key, 'a non-empty list of sender addresses or domains (e.g. [taro@example.co.jp, example.co.jp])', from.value);
    }
    return { username, password, from: (from.value as string[]).map((a) => a.toLowerCase()) };
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
