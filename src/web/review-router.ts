import type http from 'node:http';
import type { Logger } from '../log.js';
import type { ReviewAuth } from './auth.js';
import { BodyTooLarge, mediaType, newNonce, readBody, refuseRest, sendHtml } from './http.js';
import { reviewPage } from './review-layout.js';
import type { Role, SessionUser } from './session.js';
import type { SafeHtml } from '../render/html.js';
import type { Bilingual } from '../render/bilingual.js';

/** What a reviewer route gets: the request, who is logged in, the posted form, and page helpers. */
export interface ReviewContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  /** The path's capture groups, percent-decoded. */
  params: string[];
  /** The logged-in user; undefined only on public routes (the login page). */
  user: SessionUser | undefined;
  /** A POST's form, its CSRF field already checked; empty for a GET. */
  form: URLSearchParams;
  /** The CSRF field for this page's forms. */
  csrfField(): string;
  /** Answers with a page in the reviewer layout (navigation when logged in). */
  send(status: number, title: Bilingual, content: SafeHtml, options?: { current?: string; style?: string; script?: string }): void;
}

export interface ReviewRoute {
  method: 'GET' | 'POST';
  /** Matched against the whole pathname; capture groups become params. */
  path: RegExp;
  /** 'public': no login needed (the login page); a role: only that role; absent: any logged-in user. */
  access?: 'public' | Role;
  /** What a logged-in user without the role is told (403). */
  forbidden?: Bilingual;
  handle(ctx: ReviewContext): Promise<void>;
}

/** Thrown by a route to answer with a page that says what went wrong. */
export class ReviewError extends Error {
  constructor(
    readonly status: number,
    readonly title: Bilingual,
    readonly text: Bilingual,
  ) {
    super(text.en);
  }
}

const BAD_FORM: Bilingual = {
  ja: 'フォームを確認できませんでした。何も変更されていません。ページを開き直して、もう一度操作してください。',
  en: 'The form could not be verified. Nothing was changed. Open the page again and retry.',
};

/**
 * The reviewer pages' routes: a table of {method, path, access, handle}. Before a route runs the
 * router checks the login and role and, for every POST, that it comes from our own page
 * (Sec-Fetch-Site, form encoding, CSRF field bound to the user — or to 'login' on the login
 * form), so a route only does its own work. Parts that add pages (incidents, reports) call add().
 */
export class ReviewRouter {
  private readonly routes: ReviewRoute[] = [];

  constructor(
    private readonly auth: ReviewAuth,
    private readonly options: { maxBodyBytes: number; logger?: Logger },
  ) {}

  add(...routes: ReviewRoute[]): void {
    this.routes.push(...routes);
  }

  /** True for the paths the reviewer pages own. */
  handles(pathname: string): boolean {
    return pathname === '/login' || pathname === '/logout' || pathname === '/review' || pathname.startsWith('/review/');
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    try {
      await this.dispatch(req, res, url);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (!req.complete) refuseRest(req, res);
      if (err instanceof ReviewError) return this.auth.sendProblem(req, res, err.status, err.title, err.text);
      if (err instanceof BodyTooLarge) return this.auth.sendProblem(req, res, 413, { ja: 'リクエストが大きすぎます', en: 'Request too large' }, { ja: '送信された内容が大きすぎます。', en: 'The request body is too large.' });
      // never the URL (it may carry search terms) and never a stack trace to the browser
      this.options.logger?.error({ err: { name: (err as Error)?.name, message: (err as Error)?.message } }, 'web: reviewer page failed');
      this.auth.sendProblem(req, res, 500, { ja: 'エラーが発生しました', en: 'Something went wrong' }, { ja: '処理中にエラーが発生しました。しばらくしてからもう一度お試しください。', en: 'An error occurred. Try again in a moment.' });
    }
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const matches = this.routes.map((route) => ({ route, m: route.path.exec(url.pathname) })).filter((x) => x.m !== null);
    if (matches.length === 0) throw new ReviewError(404, { ja: 'ページが見つかりません', en: 'Not found' }, { ja: 'このアドレスにはページがありません。', en: 'There is no page at this address.' });
    const found = matches.find((x) => x.route.method === method);
    if (!found) {
      res.setHeader('allow', [...new Set(matches.map((x) => x.route.method))].join(', '));
      throw new ReviewError(405, { ja: 'この操作はできません', en: 'Method not allowed' }, { ja: 'このアドレスではこの HTTP メソッドを使えません。', en: 'This address does not accept this HTTP method.' });
    }
    const { route, m } = found;
    let user: SessionUser | undefined;
    if (route.access === 'public') user = this.auth.user(req);
    else if (!(user = this.auth.requireUser(req, res, route.access, route.forbidden))) return;

    // the login form's field is bound to 'login'; every other form's to the user
    const purpose = user && route.access !== 'public' ? user.username : 'login';
    let form = new URLSearchParams();
    if (method === 'POST') {
      const site = req.headers['sec-fetch-site'];
      if (site === 'cross-site' || site === 'same-site') throw new ReviewError(403, { ja: 'フォームを確認できませんでした', en: 'The form could not be verified' }, BAD_FORM);
      if (mediaType(req) !== 'application/x-www-form-urlencoded') throw new ReviewError(415, { ja: 'フォームの形式が正しくありません', en: 'Unsupported form encoding' }, BAD_FORM);
      form = new URLSearchParams((await readBody(req, this.options.maxBodyBytes)).toString('utf8'));
      if (!this.auth.checkCsrf(req, form.get('csrf'), purpose)) {
        throw new ReviewError(403, { ja: 'フォームを確認できませんでした', en: 'The form could not be verified' }, BAD_FORM);
      }
    }
    const params = m!.slice(1).map((p) => safeDecode(p ?? ''));
    const csrfField = () => this.auth.csrfField(req, res, purpose);
    await route.handle({
      req,
      res,
      url,
      params,
      user,
      form,
      csrfField,
      send: (status, title, content, o = {}) => {
        const nonce = newNonce();
        const shell = reviewPage({ title, nonce, content, ...(user ? { user, csrfField: this.auth.csrfField(req, res, user.username) } : {}), ...(o.current ? { current: o.current } : {}), ...(o.style ? { style: o.style } : {}), ...(o.script ? { script: o.script } : {}) });
        sendHtml(res, status, shell, nonce);
      },
    });
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ReviewError(400, { ja: 'アドレスが正しくありません', en: 'Bad address' }, { ja: 'アドレスに正しくない文字の符号化が含まれています。', en: 'The address contains a malformed percent-encoding.' });
  }
}
