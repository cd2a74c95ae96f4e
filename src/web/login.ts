import { randomBytes } from 'node:crypto';
import type { AuditWriter } from '../audit/writer.js';
import type { WebUser } from '../config/schema.js';
import { hashPassword, verifyPassword } from '../crypto/password-hash.js';
import { type ReviewAuth, localPath } from './auth.js';
import { redirect } from './http.js';
import { LoginLockout } from '../util/lockout.js';
import type { SessionUser } from './session.js';
import { jstAndUtc } from './review-text.js';
import type { ReviewContext, ReviewRoute } from './review-router.js';
import { html, type SafeHtml } from '../render/html.js';
import { bi, type Bilingual } from '../render/bilingual.js';

export interface LoginOptions {
  auth: ReviewAuth;
  /** web.users. */
  users: readonly WebUser[];
  /** web.maxLoginFailures and web.lockoutMinutes. */
  maxLoginFailures: number;
  lockoutMinutes: number;
  /** Where login events go (type 'login', actor = the username tried, action success | failure | locked | logout). */
  audit?: Pick<AuditWriter, 'record'>;
  now: () => number;
}

const TITLE: Bilingual = { ja: 'ログイン', en: 'Log in' };

/**
 * GET/POST /login and POST /logout for the reviewer pages. A wrong password and an unknown
 * username get the same answer after the same work (an scrypt check against a stand-in hash), and
 * both count towards the lock-out, so the page never tells which usernames exist.
 */
export function loginRoutes(o: LoginOptions): ReviewRoute[] {
  const lockout = new LoginLockout(o.maxLoginFailures, o.lockoutMinutes * 60_000);
  // attempts for one username or from one address take turns, so guesses sent at once cannot all
  // pass the lock-out check before the first of them is counted
  const turns = new Map<string, Promise<void>>();
  const inTurn = async <T>(keys: string[], work: () => Promise<T>): Promise<T> => {
    const before = keys.map((k) => turns.get(k));
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    for (const k of keys) turns.set(k, mine);
    try {
      await Promise.all(before);
      return await work();
    } finally {
      done();
      for (const k of keys) if (turns.get(k) === mine) turns.delete(k);
    }
  };
  let standIn: Promise<string> | undefined;
  // a name that is no user may be a password typed into the wrong field: it is not kept
  const known = new Set(o.users.map((u) => u.username));
  const record = (username: string, action: string, detail: string) =>
    o.audit?.record({ type: 'login', actor: known.has(username) ? username : '(unknown user)', action, detail });

  const show = (ctx: ReviewContext, status: number, notice?: SafeHtml, username = '') =>
    ctx.send(status, TITLE, loginContent(ctx, o.users.length > 0, notice, username));

  return [
    {
      method: 'GET',
      path: /^\/login$/,
      access: 'public',
      async handle(ctx) {
        if (ctx.user && o.users.length > 0) return redirect(ctx.res, localPath(ctx.url.searchParams.get('next')));
        const out = ctx.url.searchParams.get('out') === '1';
        show(ctx, 200, out ? html`<div class="alert ok" role="status" id="logged-out"><p>${bi({ ja: 'ログアウトしました。', en: 'You are logged out.' })}</p></div>` : undefined);
      },
    },
    {
      method: 'POST',
      path: /^\/login$/,
      access: 'public',
      async handle(ctx) {
        if (o.users.length === 0) return show(ctx, 403);
        const username = (ctx.form.get('username') ?? '').trim().slice(0, 256);
        const password = ctx.form.get('password') ?? '';
        const address = ctx.req.socket.remoteAddress ?? 'unknown';
        const client = `client ${address}`;
        const outcome: { user: SessionUser } | { status: number; notice: SafeHtml } = await inTurn([`user:${username}`, `address:${address}`], async () => {
          const now = o.now();

          const locked = lockout.lockedUntil(username, address, now);
          if (locked !== undefined) {
            record(username, 'locked', `${client}; refused while locked until ${new Date(locked).toISOString()}`);
            return { status: 429, notice: lockedNotice(locked) } as const;
          }
          const user = o.users.find((u) => u.username === username);
          standIn ??= hashPassword(randomBytes(16).toString('hex'));
          const matches = await verifyPassword(password, user?.password ?? (await standIn));
          if (!matches || !user) {
            record(username, 'failure', client);
            const started = lockout.failure(username, address, now);
            for (const lock of started) {
              record(username, 'locked', `${client}; ${o.maxLoginFailures} failures in a row for this ${lock.scope === 'user' ? 'username' : 'client address'}; locked until ${new Date(lock.until).toISOString()}`);
            }
            if (started.length > 0) return { status: 429, notice: lockedNotice(Math.max(...started.map((l) => l.until))) } as const;
            return { status: 401, notice: html`<div class="alert error" role="alert" id="problem"><p>${bi({ ja: 'ユーザー名またはパスワードが正しくありません。', en: 'The username or password is not correct.' })}</p></div>` } as const;
          }
          lockout.success(username, address);
          record(username, 'success', client);
          return { user: { username: user.username, role: user.role } };
        });
        if (!('user' in outcome)) return show(ctx, outcome.status, outcome.notice, username);
        const { user } = outcome;
        const cookie = o.auth.sessions.setCookie(o.auth.sessions.issue(user), o.auth.secureCookies);
        redirect(ctx.res, localPath(ctx.form.get('next')), { 'set-cookie': cookie });
      },
    },
    {
      method: 'POST',
      path: /^\/logout$/,
      async handle(ctx) {
        o.auth.sessions.revoke(ctx.user!.username);
        record(ctx.user!.username, 'logout', `client ${ctx.req.socket.remoteAddress ?? 'unknown'}`);
        redirect(ctx.res, '/login?out=1', { 'set-cookie': o.auth.sessions.clearCookie(o.auth.secureCookies) });
      },
    },
  ];
}

function lockedNotice(until: number): SafeHtml {
  const t = jstAndUtc(until);
  return html`<div class="alert error" role="alert" id="locked"><p>${bi({
    ja: `ログインに続けて失敗したため、このアカウント（またはこの接続元）からのログインは ${t.jst} までロックされています。時間をおいてから再度お試しください。`,
    en: `After repeated failed logins, logins for this account (or from this address) are locked until ${t.jst} (${t.utc}). Try again later.`,
  })}</p></div>`;
}

function loginContent(ctx: ReviewContext, configured: boolean, notice: SafeHtml | undefined, username: string): SafeHtml {
  if (!configured) {
    return html`<h1>${bi(TITLE)}</h1>
<div class="alert info" id="no-users"><p>${bi({
      ja: '監査担当者のログインが設定されていません。設定ファイルの web.users に利用者を追加し、outguard を再起動してください。パスワードは outguard hash-password で作ったハッシュを書きます。',
      en: 'No reviewer login is configured. Add users under web.users in the config file and restart outguard; the password is a hash made by outguard hash-password.',
    })}</p>
<pre class="body">printf %s 'the password' | npx outguard hash-password

web:
  users:
    - { username: kansa, password: "scrypt$16384$8$1$…", role: reviewer }
    - { username: admin, password: "scrypt$16384$8$1$…", role: admin }</pre></div>`;
  }
  const next = ctx.url.searchParams.get('next') ?? ctx.form.get('next');
  return html`<h1>${bi(TITLE)}</h1>
<p>${bi({ ja: '監査担当者・管理者の画面です。ユーザー名とパスワードを入力してください。', en: 'Reviewer and admin pages. Enter your username and password.' })}</p>
${notice ?? ''}
<section class="card">
<form class="login" method="post" action="/login">
<input type="hidden" name="csrf" value="${ctx.csrfField()}">
<input type="hidden" name="next" value="${localPath(next)}">
<label>ユーザー名 <span class="en" lang="en">Username</span><input name="username" autocomplete="username" required maxlength="256" value="${username}"></label>
<label>パスワード <span class="en" lang="en">Password</span><input name="password" type="password" autocomplete="current-password" required></label>
<div><button type="submit" class="send" id="login">ログイン <span lang="en">(Log in)</span></button></div>
</form>
</section>`;
}
