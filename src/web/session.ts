import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WebUser } from '../config/schema.js';

export type Role = WebUser['role'];

/** Who is logged in to the reviewer pages. */
export interface SessionUser {
  username: string;
  role: Role;
}

export const SESSION_COOKIE = 'og_session';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/**
 * Reviewer sessions in a signed cookie, so no session table is needed:
 *
 *   value = base64url(username) "." role "." issued "." expiry "." base64url(MAC)
 *   MAC   = HMAC-SHA256(key, base64url(username) "|" role "|" issued "|" expiry)   (times in ms)
 *
 * The username is base64url-encoded so that no username can shift the fields. A cookie counts
 * only while its MAC matches, it has not expired, and its user is still configured with the same
 * role (removing a user or changing a role ends their sessions). A logout refuses every cookie of
 * that user issued before it; that list lives in memory, so a restart forgets it (the cookie's
 * own expiry still holds).
 */
export class SessionCookies {
  private readonly loggedOut = new Map<string, number>();

  constructor(
    private readonly key: Buffer,
    private readonly users: readonly WebUser[],
    private readonly lifetimeMs: number,
    private readonly now: () => number,
  ) {
    if (key.length < 16) throw new Error('web session key: expected at least 16 bytes');
  }

  /** A new cookie value for this user, valid for the session lifetime. */
  issue(user: SessionUser): string {
    const issued = this.now();
    const claims = `${b64(user.username)}.${user.role}.${issued}.${issued + this.lifetimeMs}`;
    return `${claims}.${this.mac(claims)}`;
  }

  /** The user of a cookie value, or undefined when it is forged, expired, logged out or no longer matches the config. */
  read(value: string | undefined): SessionUser | undefined {
    const parts = value?.split('.');
    if (parts?.length !== 5) return undefined;
    const [user, role, issuedText, expiryText, mac] = parts as [string, string, string, string, string];
    const expected = Buffer.from(this.mac(`${user}.${role}.${issuedText}.${expiryText}`), 'utf8');
    const given = Buffer.from(mac, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const issued = Number(issuedText);
    if (!(this.now() < Number(expiryText))) return undefined;
    const username = Buffer.from(user, 'base64url').toString('utf8');
    if (issued <= (this.loggedOut.get(username) ?? -Infinity)) return undefined;
    const configured = this.users.find((u) => u.username === username);
    if (!configured || configured.role !== role) return undefined;
    return { username, role: configured.role };
  }

  /** Logout: the user's cookies issued until now no longer count. */
  revoke(username: string): void {
    this.loggedOut.set(username, this.now());
  }

  /**
   * Set-Cookie for a session: HttpOnly, for the whole site, as long as the session lasts.
   * SameSite=Lax, so that the link in an incident notice opens the page for a reviewer who is
   * logged in; a cross-site POST still carries no session (and every form needs its CSRF token).
   */
  setCookie(value: string, secure: boolean): string {
    return cookie(`${SESSION_COOKIE}=${value}`, Math.floor(this.lifetimeMs / 1000), secure);
  }

  /** Set-Cookie that removes the session cookie. */
  clearCookie(secure: boolean): string {
    return cookie(`${SESSION_COOKIE}=`, 0, secure);
  }

  private mac(claims: string): string {
    // the MAC input uses "|" between the fields, as documented; the cookie carries them with "."
    return createHmac('sha256', this.key).update(claims.replaceAll('.', '|'), 'utf8').digest('base64url');
  }
}

function cookie(nameValue: string, maxAgeSeconds: number, secure: boolean): string {
  return [nameValue, 'Path=/', `Max-Age=${maxAgeSeconds}`, 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])].join('; ');
}
