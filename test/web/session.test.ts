import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WebUser } from '../../src/config/schema.js';
import { SessionCookies } from '../../src/web/session.js';

const HOUR = 3_600_000;
const key = randomBytes(32);
const users: WebUser[] = [
  { username: 'kansa', password: 'scrypt$…', role: 'reviewer' },
  { username: 'admin', password: 'scrypt$…', role: 'admin' },
  { username: 'a.b|c', password: 'scrypt$…', role: 'reviewer' },
];

function sessions(now: { t: number }, list: WebUser[] = users, k = key) {
  return new SessionCookies(k, list, 8 * HOUR, () => now.t);
}

describe('reviewer session cookies', () => {
  it('reads back the user it issued, also for a username with the separators in it', () => {
    const now = { t: Date.UTC(2026, 10, 26) };
    const s = sessions(now);
    expect(s.read(s.issue({ username: 'admin', role: 'admin' }))).toEqual({ username: 'admin', role: 'admin' });
    expect(s.read(s.issue({ username: 'a.b|c', role: 'reviewer' }))).toEqual({ username: 'a.b|c', role: 'reviewer' });
  });

  it('refuses a forged cookie: another role, another user, another expiry, or another key', () => {
    const now = { t: Date.UTC(2026, 10, 26) };
    const s = sessions(now);
    const value = s.issue({ username: 'kansa', role: 'reviewer' });
    const [user, , issued, expiry, mac] = value.split('.');
    expect(s.read([user, 'admin', issued, expiry, mac].join('.'))).toBeUndefined();
    expect(s.read([Buffer.from('admin').toString('base64url'), 'reviewer', issued, expiry, mac].join('.'))).toBeUndefined();
    expect(s.read([user, 'reviewer', issued, String(Number(expiry) + 100 * HOUR), mac].join('.'))).toBeUndefined();
    expect(sessions(now, users, randomBytes(32)).read(value)).toBeUndefined();
    for (const junk of [undefined, '', 'x', 'a.b.c.d', `${value}.x`]) expect(s.read(junk)).toBeUndefined();
  });

  it('refuses an expired cookie', () => {
    const now = { t: Date.UTC(2026, 10, 26) };
    const s = sessions(now);
    const value = s.issue({ username: 'kansa', role: 'reviewer' });
    now.t += 8 * HOUR - 1;
    expect(s.read(value)).toBeDefined();
    now.t += 1;
    expect(s.read(value)).toBeUndefined();
  });

  it('refuses the cookie of a user removed from the config or whose role changed (after a restart with the same key)', () => {
    const now = { t: Date.UTC(2026, 10, 26) };
    const value = sessions(now).issue({ username: 'admin', role: 'admin' });
    expect(sessions(now, users.filter((u) => u.username !== 'admin')).read(value)).toBeUndefined();
    expect(sessions(now, users.map((u) => (u.username === 'admin' ? { ...u, role: 'reviewer' as const } : u))).read(value)).toBeUndefined();
    expect(sessions(now).read(value)).toEqual({ username: 'admin', role: 'admin' });
  });

  it('after a logout refuses the cookies issued before it, not the next login', () => {
    const now = { t: Date.UTC(2026, 10, 26) };
    const s = sessions(now);
    const before = s.issue({ username: 'kansa', role: 'reviewer' });
    const other = s.issue({ username: 'admin', role: 'admin' });
    now.t += 1000;
    s.revoke('kansa');
    expect(s.read(before)).toBeUndefined();
    expect(s.read(other)).toBeDefined();
    now.t += 1;
    expect(s.read(s.issue({ username: 'kansa', role: 'reviewer' }))).toBeDefined();
  });

  it('sets the cookie HttpOnly, SameSite=Lax, site-wide, for the session lifetime; Secure over https', () => {
    const s = sessions({ t: 0 });
    expect(s.setCookie('v', false)).toBe('og_session=v; Path=/; Max-Age=28800; HttpOnly; SameSite=Lax');
    expect(s.setCookie('v', true)).toMatch(/; Secure$/);
    expect(s.clearCookie(false)).toMatch(/^og_session=; Path=\/; Max-Age=0;/);
  });
});
