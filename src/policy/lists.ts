import fs from 'node:fs';
import { createRequire } from 'node:module';
import { domainToASCII } from 'node:url';
import { getDomain, getPublicSuffix } from 'tldts';
import type { List } from './check.js';
import { memoize } from '../util/memoize.js';

/**
 * Lists in policies/lists/: one entry a line, `#` comments.
 *   example.com        the domain and its subdomains
 *   =host.example.com  exactly that host
 *   user@example.com   exactly that address
 *   *@m.example.com    a glob (* and ?) on the whole address
 */
export interface ListEntries {
  domains: Set<string>;
  hosts: Set<string>;
  addresses: Set<string>;
  patterns: { text: string; re: RegExp }[];
  /** Lines that could not be used, with why, for the load log. */
  skipped: string[];
}

/** Lower-case ASCII (punycode) form of a host, without a trailing dot. */
export function normalizeHost(host: string): string {
  const h = host.trim().toLowerCase().replace(/\.$/, '');
  return (/[^\x00-\x7f]/.test(h) ? domainToASCII(h) : h) || h;
}

function normalizeAddress(address: string): string {
  const a = address.trim().toLowerCase();
  const at = a.lastIndexOf('@');
  return at < 0 ? a : a.slice(0, at + 1) + normalizeHost(a.slice(at + 1));
}

/** The public suffix (ICANN section) of a host: co.jp for example.co.jp; the host itself when unknown. */
const publicSuffix = memoize((host) => getPublicSuffix(host, { allowPrivateDomains: false }) ?? host);

/** The registrable domain: partner.co.jp for mail.partner.co.jp; the host itself when there is none. */
export const registrableDomain = memoize((host) => getDomain(host, { allowPrivateDomains: false }) ?? host);

export function emptyEntries(): ListEntries {
  return { domains: new Set(), hosts: new Set(), addresses: new Set(), patterns: [], skipped: [] };
}

export function addEntries(into: ListEntries, lines: Iterable<string>, source: string): ListEntries {
  let n = 0;
  for (const rawLine of lines) {
    n++;
    const line = rawLine.replace(/#.*$/, '').trim();
    if (line === '') continue;
    if (/[*?]/.test(line)) {
      if (!line.includes('@')) {
        into.skipped.push(`${source}:${n}: pattern "${line}" has no @ (patterns match addresses)`);
        continue;
      }
      const text = normalizeAddress(line);
      const re = new RegExp(`^${text.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
      into.patterns.push({ text, re });
    } else if (line.includes('@')) {
      into.addresses.add(normalizeAddress(line));
    } else if (line.startsWith('=')) {
      into.hosts.add(normalizeHost(line.slice(1)));
    } else {
      const domain = normalizeHost(line);
      if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain) && !/^xn--/.test(domain)) {
        into.skipped.push(`${source}:${n}: "${line}" is not a domain`);
      } else if (publicSuffix(domain) === domain) {
        into.skipped.push(`${source}:${n}: "${line}" is a public suffix and would match unrelated domains`);
      } else {
        into.domains.add(domain);
      }
    }
  }
  return into;
}

export class DomainList implements List {
  constructor(
    readonly name: string,
    private readonly entries: ListEntries,
  ) {}

  get size(): number {
    const e = this.entries;
    return e.domains.size + e.hosts.size + e.addresses.size + e.patterns.length;
  }

  // a list never changes once loaded (a reload makes new lists): remember its answers
  readonly matchAddress = memoize((address: string): string | undefined => {
    const a = normalizeAddress(address);
    if (this.entries.addresses.has(a)) return a;
    for (const p of this.entries.patterns) if (p.re.test(a)) return p.text;
    const at = a.lastIndexOf('@');
    return at < 0 ? undefined : this.matchHost(a.slice(at + 1));
  });

  readonly matchHost = memoize((host: string): string | undefined => {
    const h = normalizeHost(host);
    if (this.entries.hosts.has(h)) return `=${h}`;
    const suffix = publicSuffix(h);
    // Walk up the parents, but stop before the public suffix: "co.jp" never matches anything.
    for (let candidate = h; candidate.length > suffix.length; ) {
      if (this.entries.domains.has(candidate)) return candidate;
      const dot = candidate.indexOf('.');
      if (dot < 0) break;
      candidate = candidate.slice(dot + 1);
    }
    return undefined;
  });
}

/** Data packages a list may draw on, by npm name. */
const PACKAGES: Record<string, () => string[]> = {
  'disposable-email-domains-js': () =>
    (createRequire(import.meta.url)('disposable-email-domains-js') as { disposableEmailBlocklist(): string[] }).disposableEmailBlocklist(),
};

export const KNOWN_PACKAGES = Object.keys(PACKAGES);

export function loadList(name: string, files: string[], packages: string[]): DomainList {
  const entries = emptyEntries();
  for (const pkg of packages) addEntries(entries, PACKAGES[pkg]!(), pkg);
  for (const file of files) addEntries(entries, fs.readFileSync(file, 'utf8').split(/\r?\n/), file);
  return new DomainList(name, entries);
}

/** A list built from entries in memory (tests, and lists written inline in a policy). */
export function listOf(name: string, lines: string[]): DomainList {
  return new DomainList(name, addEntries(emptyEntries(), lines, name));
}
