import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * CSRF protection for the release page's forms (double submit, bound to the token):
 *
 * - GET /hold/:token sets an HttpOnly, SameSite=Strict cookie with a random value (one cookie per
 *   hold, named after a hash of the token, so several holds open in tabs do not disturb each other);
 * - the form carries a hidden field = HMAC-SHA256(server secret, cookie value, token);
 * - a POST is accepted only when the cookie is there and the field matches it and this token.
 *
 * A cross-site page can neither read the cookie nor compute the HMAC without the secret, and a
 * SameSite=Strict cookie is not even sent with a cross-site POST.
 */
export class CsrfGuard {
  private readonly secret: Buffer;

  constructor(secret?: Buffer) {
    if (secret !== undefined && secret.length < 16) throw new Error('web CSRF secret: expected at least 16 bytes');
    this.secret = secret ?? randomBytes(32);
  }

  /** The cookie that carries this hold's random value. */
  cookieName(token: string): string {
    return `og_csrf_${createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 16)}`;
  }

  /** A new random cookie value. */
  newValue(): string {
    return randomBytes(32).toString('base64url');
  }

  /** Whether a cookie value is one this server could have made (shape only). */
  wellFormed(value: string | undefined): value is string {
    return value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value);
  }

  /** The hidden form field for this cookie value and token. */
  field(cookieValue: string, token: string): string {
    return createHmac('sha256', this.secret)
      .update('outguard release-page csrf v1\0', 'utf8')
      .update(cookieValue, 'utf8')
      .update('\0', 'utf8')
      .update(token, 'utf8')
      .digest('base64url');
  }

  /** True when the cookie is well formed and the field is its HMAC for this token. */
  verify(cookieValue: string | undefined, field: string | undefined, token: string): boolean {
    if (!this.wellFormed(cookieValue) || field === undefined) return false;
    const expected = Buffer.from(this.field(cookieValue, token), 'utf8');
    const given = Buffer.from(field, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Set-Cookie for this token's value: HttpOnly, SameSite=Strict, only under `path` (the release pages' /hold/), gone after maxAge seconds. */
  setCookie(token: string, value: string, maxAgeSeconds: number, secure: boolean, path = '/hold/'): string {
    const attrs = [`${this.cookieName(token)}=${value}`, `Path=${path}`, `Max-Age=${Math.max(60, Math.floor(maxAgeSeconds))}`, 'HttpOnly', 'SameSite=Strict'];
    if (secure) attrs.push('Secure');
    return attrs.join('; ');
  }
}
