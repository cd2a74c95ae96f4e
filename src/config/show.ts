import type { Config } from './schema.js';

/** Keys whose values are secrets wherever they stand (password hashes count: they can be attacked offline). */
const SECRET_KEYS = /^(password|pass|passphrase|secret|token|apiKey|privateKey)$/i;

/** Shown instead of a secret that is set. */
export const MASKED = '(set)';

/**
 * The effective settings as `check-config` prints them: every secret replaced by "(set)" —
 * smtp.users[].password, web.users[].password, delivery.auth.pass and any key named like a secret.
 */
export function shownConfig(config: Config): unknown {
  const mask = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(mask);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEYS.test(k) && v !== null && v !== undefined && v !== '' ? MASKED : mask(v)]),
    );
  };
  return mask(config);
}
