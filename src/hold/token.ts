import { createHmac, timingSafeEqual } from 'node:crypto';
import { deriveKey } from '../store/secret-key.js';

/**
 * Release-link tokens: `<hold id>.<audience>.<expiry>.<mac>`
 *
 * - audience: `s` for the sender, `a0`, `a1`, … for the hold's approvers (by position), so the
 *   page and the audit know who acted;
 * - expiry: ms since the epoch, base 36 — the hold's deadline when the link was made;
 * - mac: HMAC-SHA256 over `<hold id>.<audience>.<expiry>` with a key derived from the
 *   data-at-rest key (deriveKey(key, 'hold-token')), base64url, compared in constant time.
 *
 * The token says nothing secret and needs no storage: a forged or altered token fails the MAC,
 * an old one its expiry. "Works once" is the hold's business: a decision records which link made
 * it (HoldStore Decision.link), and a decided hold opens for no link.
 */

export interface TokenClaims {
  holdId: string;
  audience: string;
  expiry: number;
}

const ID = /^[0-9A-Za-z_-]{1,100}$/;
const AUDIENCE = /^(s|a(0|[1-9][0-9]{0,2}))$/;
const EXPIRY = /^[0-9a-z]{1,11}$/;
const MAC = /^[A-Za-z0-9_-]{43}$/;

export class HoldTokens {
  private readonly key: Buffer;

  /** `key`: the data-at-rest key (32 bytes); the token key is derived from it. */
  constructor(key: Buffer) {
    this.key = deriveKey(key, 'hold-token');
  }

  issue(claims: TokenClaims): string {
    if (!ID.test(claims.holdId)) throw new TypeError(`hold id ${JSON.stringify(claims.holdId)} cannot be put in a token`);
    if (!AUDIENCE.test(claims.audience)) throw new TypeError(`unknown token audience ${JSON.stringify(claims.audience)}`);
    if (!Number.isSafeInteger(claims.expiry) || claims.expiry <= 0) throw new TypeError('token expiry must be a time in ms');
    const body = `${claims.holdId}.${claims.audience}.${claims.expiry.toString(36)}`;
    return `${body}.${this.mac(body).toString('base64url')}`;
  }

  /**
   * Checks the format and the MAC only (expiry and use are checked against the hold by the
   * service). Anything malformed or altered is 'forged'.
   */
  verify(token: string): TokenClaims | { problem: 'forged' } {
    const forged = { problem: 'forged' as const };
    if (typeof token !== 'string' || token.length > 300) return forged;
    const parts = token.split('.');
    if (parts.length !== 4) return forged;
    const [holdId, audience, expiry, mac] = parts as [string, string, string, string];
    if (!ID.test(holdId) || !AUDIENCE.test(audience) || !EXPIRY.test(expiry) || !MAC.test(mac)) return forged;
    const expected = this.mac(`${holdId}.${audience}.${expiry}`);
    const given = Buffer.from(mac, 'base64url');
    // both 32 bytes (the pattern above fixes the length); timingSafeEqual compares in constant time
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return forged;
    return { holdId, audience, expiry: parseInt(expiry, 36) };
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.key).update(body, 'utf8').digest();
  }
}

/** The audience of approver number `index`. */
export const approverAudience = (index: number) => `a${index}`;

/** The approver index of an audience, or undefined for the sender. */
export function approverIndex(audience: string): number | undefined {
  return audience.startsWith('a') ? Number(audience.slice(1)) : undefined;
}
