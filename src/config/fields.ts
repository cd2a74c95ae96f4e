import ipaddr from 'ipaddr.js';
import { ConfigError } from './errors.js';
import type { Mailbox } from '../message/mailbox.js';

/**
 * Small validators for config values. Each takes the raw value and the dotted key it came from,
 * and either returns the typed value or throws a ConfigError naming the key.
 */
export interface Field {
  source: string;
  key: string;
  value: unknown;
}

export interface HostPort {
  host: string;
  port: number;
}

const fail = (f: Field, expected: string): never => {
  throw new ConfigError(f.source, f.key, expected, f.value);
};

export function mapping(f: Field): Record<string, unknown> {
  if (f.value === undefined || f.value === null) return {};
  if (typeof f.value !== 'object' || Array.isArray(f.value)) fail(f, 'a mapping of keys to values');
  return f.value as Record<string, unknown>;
}

export function string(f: Field): string {
  if (typeof f.value !== 'string' || f.value.trim() === '') fail(f, 'a non-empty string');
  return (f.value as string).trim();
}

export function boolean(f: Field, expected = 'true or false'): boolean {
  if (typeof f.value === 'boolean') return f.value;
  if (f.value === 'true' || f.value === 'false') return f.value === 'true';
  return fail(f, expected);
}

export function positiveInt(f: Field, what = 'a positive whole number'): number {
  const n = typeof f.value === 'string' && /^\d+$/.test(f.value.trim()) ? Number(f.value) : f.value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) fail(f, what);
  return n as number;
}

export function stringList(f: Field): string[] {
  const raw = typeof f.value === 'string' ? f.value.split(',').map((s) => s.trim()).filter(Boolean) : f.value;
  if (!Array.isArray(raw)) fail(f, 'a list of strings');
  return (raw as unknown[]).map((v, i) => string({ ...f, key: `${f.key}[${i}]`, value: v }));
}

export function domainList(f: Field): string[] {
  return stringList(f).map((d, i) => {
    const domain = d.toLowerCase().replace(/^@/, '').replace(/\.$/, '');
    if (!/^[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)+$/u.test(domain)) {
      fail({ ...f, key: `${f.key}[${i}]`, value: d }, 'a domain name such as example.co.jp');
    }
    return domain;
  });
}

export function hostPort(f: Field): HostPort {
  const text = string(f);
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)|)?:(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 0 || port > 65535) return fail(f, 'host:port such as 127.0.0.1:2525 or [::1]:2525');
  return { host: m[1] ?? m[2] ?? '0.0.0.0', port };
}

export function cidrList(f: Field): string[] {
  return stringList(f).map((entry, i) => {
    try {
      if (entry.includes('/')) {
        ipaddr.parseCIDR(entry);
        return entry;
      }
      return `${entry}/${ipaddr.parse(entry).kind() === 'ipv6' ? 128 : 32}`;
    } catch {
      return fail({ ...f, key: `${f.key}[${i}]`, value: entry }, 'an IP address or network such as 127.0.0.0/8 or ::1/128');
    }
  });
}

export function httpUrl(f: Field): string {
  const text = string(f);
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return text.replace(/\/+$/, '');
  } catch {
    /* reported below */
  }
  return fail(f, 'an http:// or https:// URL');
}

export function oneOf<T extends string>(f: Field, choices: readonly T[]): T {
  if (typeof f.value !== 'string' || !choices.includes(f.value as T)) fail(f, `one of ${choices.join(', ')}`);
  return f.value as T;
}

/** One address or a list of them (a string may hold several, comma-separated): local@domain each. */
/** `Name <address>` or a bare address (config `notices.from`). */
export function mailbox(f: Field): Mailbox {
  const text = string(f).trim();
  const m = /^(?:"?([^"<>]*?)"?\s*<([^<>]+)>|([^<>]+))$/.exec(text);
  const address = (m?.[2] ?? m?.[3] ?? '').trim();
  if (!/^[^\s@<>",]+@[^\s@<>",]+\.[^\s@<>",]+$/.test(address)) return fail(f, 'an e-mail address, optionally with a name: "送信確認 <outguard@example.co.jp>"');
  return { name: (m?.[1] ?? '').trim(), address };
}

export function addressList(f: Field): string[] {
  if (f.value === undefined || f.value === null) return [];
  return stringList(f).map((a, i) => {
    if (!/^[^\s@<>",]+@[^\s@<>",]+\.[^\s@<>",]+$/.test(a)) fail({ ...f, key: `${f.key}[${i}]`, value: a }, 'an e-mail address such as contact@example.go.jp');
    return a;
  });
}
