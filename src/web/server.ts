import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from '../config/schema.js';
import type { HoldActions } from '../hold/types.js';
import type { Logger } from '../log.js';
import { NO_MISTAKE_REPORTS, type SenderMistakes } from '../audit/sender-mistakes.js';
import { CsrfGuard } from './csrf.js';
import { HoldRoutes } from './holds.js';
import { sendJson } from './http.js';
import { type ReviewPages, type ReviewPagesOptions, createReviewPages } from './review.js';

export interface WebServerOptions {
  /**
   * Key for the release page's CSRF tokens (at least 16 bytes). Default: random per process, so
   * a page opened before a restart must be reloaded before its buttons work again.
   */
  csrfSecret?: Buffer;
  /** Mark the CSRF cookie Secure: set when web.publicUrl is https. Default false. */
  secureCookies?: boolean;
  /** Largest request body read (forms and JSON), bytes. Default 16 KiB. */
  maxBodyBytes?: number;
  /** Where unexpected errors are logged (never tokens, URLs or message content). */
  logger?: Logger;
  /** The clock (tests). */
  now?: () => number;
  /** What the sender's 間違いだった leads to (compliance.reportSenderMistakes), for the pages to say. Default: an audit event only. */
  senderMistakes?: SenderMistakes;
  /** The reviewer pages (/login, /logout, /review…); absent: those paths answer 404. */
  review?: ReviewPagesOptions;
}

/**
 * The web listener: GET /healthz (the Docker health check and load balancers use it), the
 * release page /hold/:token and its JSON API /api/holds/:token (遵守事項 第6-1), and the
 * reviewer pages /login and /review… (特記事項 第9・第10, review.ts). Without
 * HoldActions (constructor or setHoldActions) the hold pages answer 503.
 */
export class WebServer {
  private readonly server: http.Server;
  private holds: HoldActions | undefined;
  /** The reviewer pages, for adding routes and message sections (incidents, reports). */
  readonly review: ReviewPages | undefined;

  constructor(
    private readonly listenOn: HostPort,
    health: () => Record<string, unknown>,
    holds?: HoldActions,
    options: WebServerOptions = {},
  ) {
    this.holds = holds;
    const shared = {
      csrf: new CsrfGuard(options.csrfSecret),
      maxBodyBytes: options.maxBodyBytes ?? 16 * 1024,
      secureCookies: options.secureCookies ?? false,
      logger: options.logger,
      now: options.now ?? Date.now,
    };
    const routes = new HoldRoutes(() => this.holds, { ...shared, senderMistakes: options.senderMistakes ?? NO_MISTAKE_REPORTS });
    this.review = options.review ? createReviewPages(options.review, shared) : undefined;
    this.server = http.createServer((req, res) => {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        return sendJson(res, 400, { error: 'bad request / リクエストが正しくありません' });
      }
      const pathname = url.pathname;
      if (req.method === 'GET' && pathname === '/healthz') {
        return sendJson(res, 200, { status: 'ok', ...health() });
      }
      if (routes.handles(pathname)) {
        void routes.handle(req, res, pathname);
        return;
      }
      if (this.review?.router.handles(pathname)) {
        void this.review.router.handle(req, res, url);
        return;
      }
      sendJson(res, 404, { error: 'not found / ページが見つかりません' });
    });
    // Slow or stuck clients do not hold connections forever.
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 15_000;
  }

  /** Wires the hold backend after construction (when it is created after the web server). */
  setHoldActions(holds: HoldActions | undefined): void {
    this.holds = holds;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.listenOn.port, this.listenOn.host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
