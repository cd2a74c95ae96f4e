import { DEFAULT_LIMITS, type MimeLimits } from '../message/mime.js';
import { listOf } from './lists.js';

/** How attachments to one group of recipients are packed and how their password travels. */
export interface ZipProfile {
  cipher: 'aes256' | 'zipcrypto';
  names: 'utf8' | 'cp932';
  /** Who gets the password notice: the envelope sender (default), or the recipients after a delay. */
  password: { to: 'sender' } | { to: 'recipients'; delayMinutes: number };
}

/**
 * The policy's `encryption:` section (遵守事項 第6-2). Its maxDepth and maxParts are the MIME
 * parser's limits: beyond them a message is ambiguous.
 */
export interface EncryptionSettings extends MimeLimits {
  enabled: boolean;
  zipName: string;
  passwordLength: number;
  /** A signed message with attachments cannot be re-packed without breaking the signature. */
  signed: 'hold' | 'reject';
  /** An attachment that is already password-protected: pass it as it is (with a finding), or hold. */
  alreadyEncrypted: 'pass' | 'hold';
  /**
   * A message clients could read differently (see message/mime.ts AmbiguityCode) never goes to
   * an outside recipient as it is: it is held (released: the whole message inside the ZIP) or
   * rejected. There is no monitor: this is built in, not a rule a policy can drop.
   */
  ambiguous: 'hold' | 'reject';
  default: ZipProfile;
  profiles: { domains: string[]; profile: ZipProfile }[];
}

export const DEFAULT_ENCRYPTION: EncryptionSettings = {
  enabled: true,
  zipName: 'attachments.zip',
  passwordLength: 12,
  signed: 'hold',
  alreadyEncrypted: 'pass',
  ambiguous: 'hold',
  ...DEFAULT_LIMITS,
  default: { cipher: 'aes256', names: 'utf8', password: { to: 'sender' } },
  profiles: [],
};

type Fail = (where: string, expected: string, got?: unknown) => never;

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function oneOf<T extends string>(value: unknown, choices: readonly T[], fallback: T, where: string, fail: Fail): T {
  if (value === undefined) return fallback;
  return choices.includes(value as T) ? (value as T) : fail(where, choices.join(' or '), value);
}

function wholeNumber(value: unknown, fallback: number, min: number, max: number, where: string, fail: Fail): number {
  if (value === undefined) return fallback;
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : fail(where, `a whole number from ${min} to ${max}`, value);
}

function profile(raw: unknown, base: ZipProfile, where: string, fail: Fail): ZipProfile {
  if (!isMap(raw)) return fail(where, 'a mapping with cipher, names, password');
  for (const k of Object.keys(raw)) if (!['cipher', 'names', 'password', 'domains'].includes(k)) fail(`${where}.${k}`, 'cipher, names, password or domains', k);
  let password = base.password;
  if (raw.password !== undefined) {
    const p = raw.password;
    if (p === 'sender' || (isMap(p) && p.to === 'sender')) password = { to: 'sender' };
    else if (isMap(p) && p.to === 'recipients') {
      const delay = p.delayMinutes ?? 10;
      if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) fail(`${where}.password.delayMinutes`, 'minutes (a number ≥ 0)', delay);
      password = { to: 'recipients', delayMinutes: delay as number };
    } else fail(`${where}.password`, '"sender" or {to: recipients, delayMinutes}', p);
  }
  return {
    cipher: oneOf(raw.cipher, ['aes256', 'zipcrypto'] as const, base.cipher, `${where}.cipher`, fail),
    names: oneOf(raw.names, ['utf8', 'cp932'] as const, base.names, `${where}.names`, fail),
    password,
  };
}

/** Validates the policy's `encryption:` section; absent keys keep the defaults. */
export function parseEncryption(raw: unknown, fail: Fail): EncryptionSettings {
  if (raw === undefined || raw === null) return DEFAULT_ENCRYPTION;
  if (!isMap(raw)) return fail('encryption', 'a mapping');
  const known = ['enabled', 'zipName', 'passwordLength', 'signed', 'alreadyEncrypted', 'ambiguous', 'maxDepth', 'maxParts', 'default', 'profiles'];
  for (const k of Object.keys(raw)) if (!known.includes(k)) fail(`encryption.${k}`, `a known key (${known.join(', ')})`, k);
  const d = DEFAULT_ENCRYPTION;
  const zipName = raw.zipName ?? d.zipName;
  if (typeof zipName !== 'string' || !/^[^/\\\x00-\x1f]+\.zip$/i.test(zipName)) fail('encryption.zipName', 'a file name ending in .zip', zipName);
  const length = raw.passwordLength ?? d.passwordLength;
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 8 || length > 64) fail('encryption.passwordLength', 'a whole number from 8 to 64', length);
  const base = raw.default === undefined ? d.default : profile(raw.default, d.default, 'encryption.default', fail);
  const profiles = raw.profiles ?? [];
  if (!Array.isArray(profiles)) fail('encryption.profiles', 'a list of {domains, cipher, names, password}');
  return {
    enabled: raw.enabled === undefined ? d.enabled : typeof raw.enabled === 'boolean' ? raw.enabled : fail('encryption.enabled', 'true or false', raw.enabled),
    zipName: zipName as string,
    passwordLength: length as number,
    signed: oneOf(raw.signed, ['hold', 'reject'] as const, d.signed, 'encryption.signed', fail),
    alreadyEncrypted: oneOf(raw.alreadyEncrypted, ['pass', 'hold'] as const, d.alreadyEncrypted, 'encryption.alreadyEncrypted', fail),
    ambiguous: oneOf(raw.ambiguous, ['hold', 'reject'] as const, d.ambiguous, 'encryption.ambiguous', fail),
    maxDepth: wholeNumber(raw.maxDepth, d.maxDepth, 1, 1000, 'encryption.maxDepth', fail),
    maxParts: wholeNumber(raw.maxParts, d.maxParts, 2, 1_000_000, 'encryption.maxParts', fail),
    default: base,
    profiles: (profiles as unknown[]).map((p, i) => {
      const where = `encryption.profiles[${i}]`;
      const domains = isMap(p) ? p.domains : undefined;
      if (!Array.isArray(domains) || domains.length === 0 || !domains.every((x) => typeof x === 'string')) {
        fail(`${where}.domains`, 'a list of recipient domains', domains);
      }
      return { domains: domains as string[], profile: profile(p, base, where, fail) };
    }),
  };
}

/** The profile for a recipient domain: the first profile listing it (or a parent domain), else the default. */
export function profileFor(settings: EncryptionSettings, domain: string): ZipProfile {
  for (const p of settings.profiles) if (listOf('profile', p.domains).matchHost(domain)) return p.profile;
  return settings.default;
}
