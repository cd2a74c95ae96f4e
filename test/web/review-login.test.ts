import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import type { AuditWriter } from '../../src/audit/writer.js';
import { auditWriter } from '../audit/fixtures.js';
import type { WebUser } from '../../src/config/schema.js';
import { hashPassword } from '../../src/crypto/password-hash.js';
import { WebServer } from '../../src/web/server.js';
import { tempDir } from '../support/gateway.js';
import { WebClient } from '../support/web-client.js';

/** The reviewer login over real HTTP: a WebServer with the real audit log in a temp dir. */
const FAST = { N: 1024, r: 8, p: 1 };

interface Site {
  web: WebServer;
  base: string;
  store: SqliteAuditStore;
  audit: AuditWriter;
}

async function site(users: WebUser[], options: { secure?: boolean } = {}): Promise<Site> {
  const dir = tempDir('outguard-login-');
  const store = SqliteAuditStore.open(dir);
  const audit = await auditWriter(store, dir);
  const web = new WebServer({ host: '127.0.0.1', port: 0 }, () => ({}), undefined, {
    secureCookies: options.secure ?? false,
    review: { users, sessionKey: randomBytes(32), sessionMinutes: 480, maxLoginFailures: 3, lockoutMinutes: 15, auditStore: store, audit },
  });
  const address = await web.listen();
  return { web, base: `http://127.0.0.1:${address.port}`, store, audit };
}

async function close(s: Site | undefined): Promise<void> {
  await s?.web.close();
  await s?.audit.stop();
  await s?.store.close();
}

describe('reviewer login', () => {
  let s: Site;
  beforeAll(async () => {
    s = await site([
      { username: 'kansa', password: await hashPassword('kansa-pass-1', FAST), role: 'reviewer' },
      { username: 'admin', password: await hashPassword('admin-pass-1', FAST), role: 'admin' },
    ]);
  });
  afterAll(() => close(s));

  const loginEvents = async () => {
    await s.audit.flush();
    return (await s.store.list({ type: 'login' })).map((e) => ({ actor: e.actor, action: e.action, detail: e.detail }));
  };

  it('sends a visitor without a session to the login page, keeping where they were going', async () => {
    const res = await new WebClient(s.base).get('/review/search?sender=taro&type=rejected');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent('/review/search?sender=taro&type=rejected')}`);
    const page = await (await new WebClient(s.base).get('/login?next=%2Freview%2Fsearch%3Fsender%3Dtaro')).text();
    expect(page).toContain('ユーザー名');
    expect(page).toContain('name="next" value="/review/search?sender=taro"');
  });

  it('logs in with a session cookie (HttpOnly, SameSite=Lax) and goes to the page asked for; only local paths', async () => {
    const c = new WebClient(s.base);
    const res = await c.login('kansa', 'kansa-pass-1', '/review/search?type=held');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/review/search?type=held');
    const cookie = c.lastSetCookies.find((x) => x.startsWith('og_session='))!;
    expect(cookie).toMatch(/; Path=\/; Max-Age=28800; HttpOnly; SameSite=Lax$/);
    const page = await c.get('/review');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('kansa（監査担当者）');
    for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', '/.//evil.example', 'review']) {
      const again = await new WebClient(s.base).login('kansa', 'kansa-pass-1', next);
      expect(again.headers.get('location'), next).toBe('/review');
    }
    // a local path with Japanese in it goes percent-encoded into the Location header
    const ja = await new WebClient(s.base).login('kansa', 'kansa-pass-1', '/review/search?sender=山田');
    expect(ja.headers.get('location')).toBe(`/review/search?sender=${encodeURIComponent('山田')}`);
    expect((await loginEvents()).filter((e) => e.action === 'success')[0]).toEqual({ actor: 'kansa', action: 'success', detail: 'client 127.0.0.1' });
  });

  it('answers a wrong password and an unknown username the same way, and records both without the password or the unknown name', async () => {
    const wrong = await new WebClient(s.base).login('admin', 'guess-1');
    // a password typed into the username field must not end up in the audit log
    const unknown = await new WebClient(s.base).login('guess-3-in-the-wrong-field', 'guess-2');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const [a, b] = [await wrong.text(), await unknown.text()];
    for (const page of [a, b]) expect(page).toContain('ユーザー名またはパスワードが正しくありません');
    const blank = (p: string) => p.replace(/(value|nonce)="[^"]*"/g, '');
    expect(blank(a)).toBe(blank(b));
    const events = await loginEvents();
    expect(events).toEqual(expect.arrayContaining([{ actor: 'admin', action: 'failure', detail: 'client 127.0.0.1' }, { actor: '(unknown user)', action: 'failure', detail: 'client 127.0.0.1' }]));
    const csv = JSON.stringify(await s.store.list());
    expect(csv).not.toContain('guess-');
  });

  it('refuses a login form without its CSRF field', async () => {
    const c = new WebClient(s.base);
    await c.get('/login');
    const res = await c.post('/login', { username: 'kansa', password: 'kansa-pass-1' });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('フォームを確認できませんでした');
    expect(c.cookies.has('og_session')).toBe(false);
  });

  it('logs out: the cookie is cleared and the old one no longer works', async () => {
    const c = new WebClient(s.base);
    await c.login('admin', 'admin-pass-1');
    const old = c.cookies.get('og_session')!;
    const page = await (await c.get('/review')).text();
    const res = await c.post('/logout', { csrf: WebClient.csrf(page) });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?out=1');
    expect(c.cookies.has('og_session')).toBe(false);
    const replay = new WebClient(s.base);
    replay.cookies.set('og_session', old);
    expect((await replay.get('/review')).status).toBe(303);
    expect(await loginEvents()).toContainEqual({ actor: 'admin', action: 'logout', detail: 'client 127.0.0.1' });
  });
});

describe('reviewer lock-out', () => {
  let s: Site;
  beforeAll(async () => {
    s = await site([{ username: 'kansa', password: await hashPassword('kansa-pass-1', FAST), role: 'reviewer' }]);
  });
  afterAll(() => close(s));

  it('after 3 failures in a row refuses even the right password until the lock ends, saying until when, and records the lock', async () => {
    for (let i = 1; i <= 2; i++) expect((await new WebClient(s.base).login('kansa', `wrong-${i}`)).status).toBe(401);
    const third = await new WebClient(s.base).login('kansa', 'wrong-3');
    expect(third.status).toBe(429);
    const text = await third.text();
    expect(text).toContain('ロックされています');
    expect(text).toMatch(/locked until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST/);
    const right = await new WebClient(s.base).login('kansa', 'kansa-pass-1');
    expect(right.status).toBe(429);
    expect(right.headers.getSetCookie().some((c) => c.startsWith('og_session='))).toBe(false);
    // the same answer for a username that does not exist (the address is locked too)
    expect(await (await new WebClient(s.base).login('nobody', 'x')).text()).toContain('ロックされています');
    await s.audit.flush();
    const events = (await s.store.list({ type: 'login' })).map((e) => `${e.actor} ${e.action} ${e.detail}`);
    expect(events.filter((e) => / locked /.test(e))).toEqual([
      expect.stringMatching(/^kansa locked client 127\.0\.0\.1; 3 failures in a row for this username; locked until \d{4}-.*Z$/),
      expect.stringMatching(/^kansa locked client 127\.0\.0\.1; 3 failures in a row for this client address; locked until /),
      expect.stringMatching(/^kansa locked client 127\.0\.0\.1; refused while locked until /),
      expect.stringMatching(/^\(unknown user\) locked client 127\.0\.0\.1; refused while locked until /),
    ]);
  });
});

describe('reviewer login without users', () => {
  let s: Site;
  beforeAll(async () => {
    s = await site([], { secure: true });
  });
  afterAll(() => close(s));

  it('says that no reviewer login is configured and how to add one', async () => {
    const res = await new WebClient(s.base).get('/login');
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('監査担当者のログインが設定されていません');
    expect(page).toContain('No reviewer login is configured');
    expect(page).toContain('web.users');
    expect(page).toContain('outguard hash-password');
    expect(page).not.toContain('name="password"');
    expect((await new WebClient(s.base).get('/review')).headers.get('location')).toBe('/login?next=%2Freview');
  });
});

describe('reviewer lock-out under parallel attempts', () => {
  let s: Site;
  beforeAll(async () => {
    s = await site([{ username: 'kansa', password: await hashPassword('kansa-pass-1', FAST), role: 'reviewer' }]);
  });
  afterAll(() => close(s));

  it('tries no more than the allowed number of passwords when guesses arrive at once', async () => {
    // the right password is the last of 12 guesses sent together: with 3 failures allowed it must not get in
    const guesses = [...Array.from({ length: 11 }, (_, i) => `wrong-${i}`), 'kansa-pass-1'];
    const clients = guesses.map(() => new WebClient(s.base));
    const forms = await Promise.all(clients.map(async (c) => WebClient.csrf(await (await c.get('/login')).text())));
    const answers = await Promise.all(clients.map((c, i) => c.post('/login', { csrf: forms[i]!, username: 'kansa', password: guesses[i]! })));
    expect(answers.map((a) => a.status).filter((st) => st === 401)).toHaveLength(2);
    expect(answers.at(-1)!.status).toBe(429);
    expect(clients.at(-1)!.cookies.has('og_session')).toBe(false);
    await s.audit.flush();
    expect((await s.store.list({ type: 'login' })).filter((e) => e.action === 'failure')).toHaveLength(3);
  });
});
