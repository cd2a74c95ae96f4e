import type http from 'node:http';
import type { WebUser } from '../config/schema.js';
import type { CsrfGuard } from './csrf.js';
import { newNonce, parseCookies, redirect, sendHtml } from './http.js';
import { problemContent, reviewPage } from './review-layout.js';
import { type Role, SESSION_COOKIE, SessionCookies, type SessionUser } from './session.js';
import type { Bilingual } from '../render/bilingual.js';

export interface ReviewAuthOptions {
  /** web.users. */
  users: readonly WebUser[];
  /** The key the session cookies are signed with: deriveKey(dataDirKey, 'web-session'). */
  sessionKey: Buffer;
  /** web.sessionMinutes. */
  sessionMinutes: number;
  csrf: CsrfGuard;
  /** Mark cookies Secure (web.publicUrl is https). */
  secureCookies: boolean;
  now: () => number;
}

/** The CSRF cookie shared by the login form and the reviewer pages (each form's field is bound to its purpose). */
const CSRF_SCOPE = 'reviewer-pages';
const CSRF_COOKIE_SECONDS = 12 * 3600;

/**
 * A path on this site to go to after the login, percent-encoded for the Location header; anything
 * else (another host, `//host`, a backslash, a path that normalises to `//host`) becomes /review.
 */
export function localPath(next: string | null | undefined): string {
  const unsafe = (p: string) => !p.startsWith('/') || p.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(p) || p.length > 2048;
  if (!next || unsafe(next)) return '/review';
  const url = new URL(next, 'http://localhost');
  const path = `${url.pathname}${url.search}`;
  return unsafe(path) ? '/review' : path;
}

/**
 * Who is asking, for the reviewer pages: the signed session cookie (session.ts) and the CSRF
 * fields of their forms. Other review pages (incidents, reports) call requireUser() first.
 */
export class ReviewAuth {
  readonly sessions: SessionCookies;
  /** The CSRF cookie value an answer sets, when the request came without one. */
  private readonly newCsrfValues = new WeakMap<http.ServerResponse, string>();

  constructor(private readonly options: ReviewAuthOptions) {
    this.sessions = new SessionCookies(options.sessionKey, options.users, options.sessionMinutes * 60_000, options.now);
  }

  get secureCookies(): boolean {
    return this.options.secureCookies;
  }

  /** The logged-in user, or undefined. */
  user(req: http.IncomingMessage): SessionUser | undefined {
    return this.sessions.read(parseCookies(req).get(SESSION_COOKIE));
  }

  /**
   * The logged-in user, when there is one with `role` (any role when absent). Otherwise answers
   * the request itself — a GET goes to /login?next=…, anything else gets a 401 page; a user
   * without the role gets a 403 page saying `forbidden` — and returns undefined.
   */
  requireUser(req: http.IncomingMessage, res: http.ServerResponse, role?: Role, forbidden = ONLY_ADMINS): SessionUser | undefined {
    const user = this.user(req);
    if (!user) {
      if (req.method === 'GET' || req.method === 'HEAD') {
        redirect(res, `/login?next=${encodeURIComponent(localPath(req.url))}`);
      } else {
        this.sendProblem(req, res, 401, { ja: 'ログインが必要です', en: 'Login required' }, { ja: 'ログインしてから、もう一度操作してください。何も変更されていません。', en: 'Log in, then try again. Nothing was changed.' });
      }
      return undefined;
    }
    if (role !== undefined && user.role !== role) {
      this.sendProblem(req, res, 403, { ja: '権限がありません', en: 'Not allowed' }, forbidden, user);
      return undefined;
    }
    return user;
  }

  /** The CSRF field for a form on the page being answered, bound to `purpose` ('login', or the username); sets the cookie when needed. */
  csrfField(req: http.IncomingMessage, res: http.ServerResponse, purpose: string): string {
    const csrf = this.options.csrf;
    let value = parseCookies(req).get(csrf.cookieName(CSRF_SCOPE));
    if (!csrf.wellFormed(value)) value = this.newCsrfValues.get(res);
    if (!csrf.wellFormed(value)) {
      // one new value per answer: every form on the page must match the one cookie it sets
      value = csrf.newValue();
      this.newCsrfValues.set(res, value);
      res.setHeader('set-cookie', csrf.setCookie(CSRF_SCOPE, value, CSRF_COOKIE_SECONDS, this.options.secureCookies, '/'));
    }
    return csrf.field(value, `${CSRF_SCOPE}\0${purpose}`);
  }

  /** Whether a posted form's CSRF field belongs to this browser's cookie and `purpose`. */
  checkCsrf(req: http.IncomingMessage, field: string | null, purpose: string): boolean {
    const csrf = this.options.csrf;
    return csrf.verify(parseCookies(req).get(csrf.cookieName(CSRF_SCOPE)), field ?? undefined, `${CSRF_SCOPE}\0${purpose}`);
  }

  /** A reviewer page that says what went wrong (with the navigation when someone is logged in). */
  sendProblem(req: http.IncomingMessage, res: http.ServerResponse, status: number, title: Bilingual, text: Bilingual, user = this.user(req)): void {
    const nonce = newNonce();
    const csrfField = user ? this.csrfField(req, res, user.username) : undefined;
    sendHtml(res, status, reviewPage({ title, nonce, content: problemContent(status, title, text), ...(user ? { user, csrfField } : {}) }), nonce);
  }
}

const ONLY_ADMINS: Bilingual = {
  ja: 'この操作は管理者（admin）だけが行えます。監査担当者（reviewer）は閲覧のみできます。',
  en: 'Only admins may do this. Reviewers can read, not change.',
};
