import type http from 'node:http';
import type { Actor, DamagedMessage, Hold, HoldActions, TokenProblem } from '../hold/types.js';
import type { Logger } from '../log.js';
import { NO_MISTAKE_REPORTS, type SenderMistakes } from '../audit/sender-mistakes.js';
import type { CsrfGuard } from './csrf.js';
import { BodyTooLarge, mediaType, newNonce, parseCookies, readBody, refuseRest, sendHtml, sendJson } from './http.js';
import { type Outcome, mistakePage, problemPage, releasePage, resultPage } from './pages.js';
import { PROBLEMS, type WebProblem } from './text.js';

export interface HoldRoutesOptions {
  csrf: CsrfGuard;
  /** Largest request body read, in bytes (forms and JSON). */
  maxBodyBytes: number;
  /** Mark the CSRF cookie Secure (when the pages are served over https). */
  secureCookies: boolean;
  logger?: Logger;
  now: () => number;
  /** What 間違いだった leads to, as the confirmation and result pages say it. */
  senderMistakes: SenderMistakes;
}

type Problem = TokenProblem | 'not-held' | DamagedMessage;

/** Thrown inside a handler to answer with a problem (page or JSON, by route). */
class Refusal extends Error {
  constructor(
    readonly problem: WebProblem,
    readonly hold?: Hold,
  ) {
    super(problem);
  }
}

const PAGE = /^\/hold\/([^/]+)(?:\/(release|discard))?$/;
const API = /^\/api\/holds\/([^/]+)(?:\/(release|discard))?$/;

/**
 * The release page (/hold/:token, server-rendered, forms with a CSRF token) and the JSON API
 * (/api/holds/:token) over HoldActions. Nothing here knows how holds are stored or tokens signed.
 */
export class HoldRoutes {
  constructor(
    private readonly actions: () => HoldActions | undefined,
    private readonly options: HoldRoutesOptions,
  ) {}

  /** True when the path belongs to the release page or the hold API (and was answered). */
  handles(pathname: string): boolean {
    return pathname === '/hold' || pathname.startsWith('/hold/') || pathname === '/api/holds' || pathname.startsWith('/api/holds/');
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
    const api = pathname.startsWith('/api/');
    try {
      const match = (api ? API : PAGE).exec(pathname);
      if (!match) throw new Refusal('not-found');
      const token = decodeToken(match[1]!);
      const action = match[2] as 'release' | 'discard' | undefined;
      const method = req.method ?? 'GET';
      const allowed = action ? 'POST' : 'GET, HEAD';
      if (!allowed.split(', ').includes(method)) {
        res.setHeader('allow', allowed);
        throw new Refusal('method-not-allowed');
      }
      const holds = this.actions();
      if (!holds) throw new Refusal('unavailable');
      if (token === undefined) throw new Refusal('unknown');
      if (api) await this.api(req, res, holds, token, action);
      else await this.page(req, res, holds, token, action);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      let refusal: Refusal;
      if (err instanceof Refusal) refusal = err;
      else if (err instanceof BodyTooLarge) refusal = new Refusal('payload-too-large');
      else {
        // Never the URL (it holds the token) and never a stack trace to the client.
        this.options.logger?.error({ err: { name: (err as Error)?.name, message: (err as Error)?.message }, api }, 'web: hold request failed');
        refusal = new Refusal('internal');
      }
      if (!req.complete) refuseRest(req, res);
      if (api) sendApiProblem(res, refusal.problem, refusal.hold);
      else sendProblemPage(res, refusal.problem, refusal.hold);
    }
  }

  // ---- the release page ----

  private async page(req: http.IncomingMessage, res: http.ServerResponse, holds: HoldActions, token: string, action?: 'release' | 'discard'): Promise<void> {
    const csrf = this.options.csrf;
    const cookieName = csrf.cookieName(token);
    const cookie = parseCookies(req).get(cookieName);

    if (!action) {
      const opened = await holds.open(token);
      if ('problem' in opened) throw new Refusal(opened.problem);
      if (opened.hold.state !== 'held') throw new Refusal('not-held', opened.hold);
      const value = csrf.wellFormed(cookie) ? cookie : csrf.newValue();
      const maxAge = (opened.hold.deadline - this.options.now()) / 1000 + 3600;
      const nonce = newNonce();
      const page = releasePage({ token, ...opened, csrfField: csrf.field(value, token), now: this.options.now() }, nonce);
      sendHtml(res, 200, page, nonce, { 'set-cookie': csrf.setCookie(token, value, maxAge, this.options.secureCookies) });
      return;
    }

    // A POST: refused (and nothing done) unless it comes from our own page with the CSRF token.
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') throw new Refusal('csrf');
    if (mediaType(req) !== 'application/x-www-form-urlencoded') throw new Refusal('unsupported-media-type');
    const form = new URLSearchParams((await readBody(req, this.options.maxBodyBytes)).toString('utf8'));
    if (!csrf.verify(cookie, form.get('csrf') ?? undefined, token)) throw new Refusal('csrf');

    if (action === 'release') {
      const ticked = {
        recipients: form.get('confirm_recipients') === '1',
        body: form.get('confirm_body') === '1',
        attachments: form.get('confirm_attachments') === '1',
      };
      if (!ticked.recipients || !ticked.body || !ticked.attachments) {
        // Show the page again with what is missing; nothing is released.
        const opened = await holds.open(token);
        if ('problem' in opened) throw new Refusal(opened.problem);
        if (opened.hold.state !== 'held') throw new Refusal('not-held', opened.hold);
        const nonce = newNonce();
        const page = releasePage(
          { token, ...opened, csrfField: csrf.field(cookie!, token), now: this.options.now(), problem: 'confirmation-required', ticked },
          nonce,
        );
        sendHtml(res, PROBLEMS['confirmation-required'].status, page, nonce);
        return;
      }
      const done = await holds.release(token);
      if ('problem' in done) throw await this.refusalFor(done.problem, holds, token);
      this.sendResult(res, 'released', done.hold);
      return;
    }
    const mistake = form.get('mistake') === '1';
    if (mistake && form.get('confirm') !== '1') {
      // 間違いだった first asks: the page says what will happen; only its own button acts
      const opened = await holds.open(token);
      if ('problem' in opened) throw new Refusal(opened.problem);
      if (opened.hold.state !== 'held') throw new Refusal('not-held', opened.hold);
      const nonce = newNonce();
      sendHtml(res, 200, mistakePage({ token, hold: opened.hold, csrfField: csrf.field(cookie!, token), reports: this.options.senderMistakes }, nonce), nonce);
      return;
    }
    const done = await holds.discard(token, { mistake });
    if ('problem' in done) throw await this.refusalFor(done.problem, holds, token);
    this.sendResult(res, mistake ? 'mistake' : 'discarded', done.hold);
  }

  private sendResult(res: http.ServerResponse, outcome: Outcome, hold: Hold): void {
    const nonce = newNonce();
    sendHtml(res, 200, resultPage(outcome, hold, nonce, this.options.senderMistakes), nonce);
  }

  /** The refusal for a failed decision; for 'not-held', with the hold's state when the link still opens it. */
  private async refusalFor(problem: Problem, holds: HoldActions, token: string): Promise<Refusal> {
    if (problem !== 'not-held') return new Refusal(problem);
    try {
      const opened = await holds.open(token);
      return new Refusal('not-held', 'hold' in opened ? opened.hold : undefined);
    } catch {
      return new Refusal('not-held');
    }
  }

  // ---- the JSON API ----

  private async api(req: http.IncomingMessage, res: http.ServerResponse, holds: HoldActions, token: string, action?: 'release' | 'discard'): Promise<void> {
    if (!action) {
      const opened = await holds.open(token);
      if ('problem' in opened) throw new Refusal(opened.problem);
      if (opened.hold.state !== 'held') throw new Refusal('not-held', opened.hold);
      sendJson(res, 200, { hold: holdJson(opened.hold, { actor: opened.actor, body: opened.bodyText }) });
      return;
    }
    // A cross-site browser form can send neither a custom header nor application/json.
    if (req.headers['x-outguard-request'] !== '1') throw new Refusal('missing-request-header');
    if (mediaType(req) !== 'application/json') throw new Refusal('unsupported-media-type');
    const body = await readBody(req, this.options.maxBodyBytes);
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch {
      throw new Refusal('invalid-json');
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Refusal('invalid-json');
    const fields = input as Record<string, unknown>;

    if (action === 'release') {
      const confirm = fields.confirm as Record<string, unknown> | undefined;
      const all = typeof confirm === 'object' && confirm !== null && confirm.recipients === true && confirm.body === true && confirm.attachments === true;
      if (!all) throw new Refusal('confirmation-required');
      const done = await holds.release(token);
      if ('problem' in done) throw await this.refusalFor(done.problem, holds, token);
      sendJson(res, 200, { result: 'released', hold: holdJson(done.hold) });
      return;
    }
    if (fields.mistake !== undefined && typeof fields.mistake !== 'boolean') throw new Refusal('invalid-request');
    const mistake = fields.mistake === true;
    const done = await holds.discard(token, { mistake });
    if ('problem' in done) throw await this.refusalFor(done.problem, holds, token);
    const reports = mistake ? this.options.senderMistakes : NO_MISTAKE_REPORTS;
    sendJson(res, 200, { result: 'discarded', mistake, incident: reports.incident, clientNotice: reports.clientNotice, hold: holdJson(done.hold) });
  }
}

/** The path segment as the token, or undefined when it cannot be one. */
function decodeToken(segment: string): string | undefined {
  let token: string;
  try {
    token = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  if (token.length === 0 || token.length > 4096 || /[\u0000-\u001f\u007f/]/.test(token)) return undefined;
  return token;
}

function sendProblemPage(res: http.ServerResponse, problem: WebProblem, hold?: Hold): void {
  const nonce = newNonce();
  sendHtml(res, PROBLEMS[problem].status, problemPage(problem, nonce, hold), nonce);
}

function sendApiProblem(res: http.ServerResponse, problem: WebProblem, hold?: Hold): void {
  const p = PROBLEMS[problem];
  const body: Record<string, unknown> = { error: problem, message_ja: `${p.title.ja}：${p.text.ja}`, message_en: `${p.title.en}: ${p.text.en}` };
  if (hold) body.state = hold.state;
  sendJson(res, p.status, body);
}

/** A hold for other tools: everything the page shows, never the raw message. */
export function holdJson(hold: Hold, extra: { actor?: Actor; body?: string } = {}): Record<string, unknown> {
  return {
    id: hold.id,
    state: hold.state,
    sender: hold.envelope.from,
    recipients: hold.recipients.map((r) => ({
      address: r.address,
      external: r.external,
      firstTimeDomain: r.firstTimeDomain,
      ...(r.lookalikeOf ? { lookalikeOf: r.lookalikeOf } : {}),
    })),
    subject: hold.subject,
    ...(extra.body !== undefined ? { body: extra.body } : { bodyStart: hold.bodyStart }),
    attachments: hold.attachments.map((a) => ({ name: a.name, size: a.size, sha256: a.sha256 })),
    findings: hold.findings.map((f) => ({
      rule: f.rule,
      clause: f.clause,
      severity: f.severity,
      message: f.message,
      value: f.value,
      ...(f.detail !== undefined ? { detail: f.detail } : {}),
      ...(f.detailJa !== undefined ? { detailJa: f.detailJa } : {}),
    })),
    createdAt: new Date(hold.createdAt).toISOString(),
    deadline: new Date(hold.deadline).toISOString(),
    onDeadline: hold.onDeadline,
    approvers: hold.approvers,
    ...(extra.actor ? { actor: { address: extra.actor.address, role: extra.actor.role } } : {}),
    ...(hold.decidedAt !== undefined ? { decidedAt: new Date(hold.decidedAt).toISOString() } : {}),
    ...(hold.decidedBy !== undefined ? { decidedBy: hold.decidedBy } : {}),
    ...(hold.mistake !== undefined ? { mistake: hold.mistake } : {}),
  };
}
