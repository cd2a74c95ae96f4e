import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Actor, DeadlineAction, Hold, HoldActions, HoldRecipient, HoldState, TokenProblem } from '../../src/hold/types.js';
import type { Finding } from '../../src/policy/verdict.js';
import { WebServer, type WebServerOptions } from '../../src/web/server.js';

/**
 * The hold backend the web tests run against, behind ONE factory: createHoldBackend().
 *
 * Today it is an in-memory test double of HoldActions (the real HoldService in src/hold/ is
 * being written at the same time). To run these tests against the real thing, change only
 * createHoldBackend(): build the real HoldService on a temp data dir and implement `create`
 * (store a held message), `expire`, `decideElsewhere`, `state` and `mistake` with it. The tests
 * assert through this interface (state of the hold, recorded calls), never through the double.
 */
export interface HoldBackend {
  /** What the web server is given: the backend wrapped so every call is recorded in `calls`. */
  actions: HoldActions;
  calls: { open: number; release: number; discard: { mistake: boolean }[] };
  /** Holds a message and returns a working release-link token for it. */
  create(spec?: HoldSpec): Promise<{ token: string; id: string }>;
  /** The same token with its signature altered. */
  forge(token: string): string;
  /** A well-signed token for a hold that does not exist. */
  unknownToken(): string;
  /** Moves the hold past its deadline (its link expires with it). */
  expire(id: string): Promise<void>;
  /** Decides the hold outside this link (CLI, deadline): it is no longer held, the link unused. */
  decideElsewhere(id: string, state: Exclude<HoldState, 'held'>): Promise<void>;
  state(id: string): Promise<HoldState>;
  mistake(id: string): Promise<boolean>;
  /** Makes every later call throw (a backend failure). */
  breakDown(): void;
  close(): Promise<void>;
}

export interface HoldSpec {
  from?: string;
  /** Recipients with the flags the checks would give them (the double takes them as given). */
  recipients?: HoldRecipient[];
  subject?: string;
  body?: string;
  attachments?: { name: string; content: Buffer }[];
  findings?: Finding[];
  deadlineInMs?: number;
  onDeadline?: DeadlineAction;
  approvers?: string[];
}

export const SAMPLE: Required<Omit<HoldSpec, 'approvers'>> = {
  from: 'taro.yamada@example.co.jp',
  recipients: [
    { address: 'suzuki@partner.example', external: true, firstTimeDomain: false },
    { address: 'sato@examp1e.co.jp', external: true, firstTimeDomain: true, lookalikeOf: 'example.co.jp' },
    { address: 'hanako@example.co.jp', external: false, firstTimeDomain: false },
  ],
  subject: '【要確認】第3四半期 作業報告書の送付',
  body: [
    '鈴木様',
    '',
    'いつもお世話になっております。山田です。',
    '第3四半期の作業報告書をお送りします。ご確認のほどよろしくお願いいたします。',
    '',
    'Dear Mr Suzuki,',
    'Please find attached the Q3 work report.',
    '',
    '-- ',
    '山田 太郎 / Taro Yamada',
  ].join('\n'),
  attachments: [
    { name: '作業報告書_2025Q3.xlsx', content: Buffer.alloc(48_213, 7) },
    { name: 'notes.txt', content: Buffer.from('meeting notes\n') },
  ],
  findings: [
    {
      rule: 'lookalike-domain',
      clause: '遵守事項 第6-1',
      severity: 'hold',
      message: '宛先のドメインが社内ドメインに似ています。\nA recipient domain looks like an internal domain.',
      reason: 'recipient domain looks like an internal domain',
      value: 'examp1e.co.jp',
      detail: 'looks like example.co.jp',
    },
    {
      rule: 'external-attachment',
      clause: '遵守事項 第6-1',
      severity: 'hold',
      message: '社外宛てのメールに添付ファイルがあります。\nAn external message carries attachments.',
      reason: 'external message with attachments',
      value: '作業報告書_2025Q3.xlsx',
    },
  ],
  deadlineInMs: 24 * 3600_000,
  onDeadline: { action: 'discard' },
};

/** THE factory: switch this to the real HoldService later. */
export async function createHoldBackend(): Promise<HoldBackend> {
  return recorded(new FakeHoldBackend());
}

/** Wraps any backend so the tests can see which actions were called. */
function recorded(backend: Omit<HoldBackend, 'calls'>): HoldBackend {
  const calls: HoldBackend['calls'] = { open: 0, release: 0, discard: [] };
  const inner = backend.actions;
  const actions: HoldActions = {
    open: (token) => {
      calls.open++;
      return inner.open(token);
    },
    release: (token) => {
      calls.release++;
      return inner.release(token);
    },
    discard: (token, options) => {
      calls.discard.push({ ...options });
      return inner.discard(token, options);
    },
  };
  return Object.assign(backend, { actions, calls }) as HoldBackend;
}

/** In-memory HoldActions with the real semantics: HMAC-signed tokens, expiry with the hold, one decision per token. */
class FakeHoldBackend implements Omit<HoldBackend, 'calls'> {
  private readonly secret = randomBytes(32);
  private readonly holds = new Map<string, { hold: Hold; body: string; actor: Actor }>();
  private readonly usedTokens = new Set<string>();
  private broken = false;
  private seq = 0;

  readonly actions: HoldActions = {
    open: async (token) => {
      const found = this.check(token);
      if ('problem' in found) return found;
      return { hold: structuredClone(found.entry.hold), actor: found.entry.actor, bodyText: found.entry.body };
    },
    release: async (token) => this.decide(token, 'released', false),
    discard: async (token, { mistake }) => this.decide(token, 'discarded', mistake),
  };

  async create(spec: HoldSpec = {}): Promise<{ token: string; id: string }> {
    const s = { ...SAMPLE, ...spec };
    const id = `H${Date.now().toString(36)}${(++this.seq).toString(36).padStart(4, '0')}`.toUpperCase();
    const now = Date.now();
    const approvers = spec.approvers ?? [];
    const hold: Hold = {
      id,
      state: 'held',
      envelope: { from: s.from, to: s.recipients.map((r) => r.address) },
      subject: s.subject,
      bodyStart: s.body.slice(0, 200),
      recipients: s.recipients,
      attachments: s.attachments.map((a) => ({ name: a.name, size: a.content.length, sha256: createHash('sha256').update(a.content).digest('hex') })),
      findings: s.findings,
      createdAt: now,
      deadline: now + s.deadlineInMs,
      onDeadline: s.onDeadline,
      approvers,
    };
    const actor: Actor = approvers.length > 0 ? { address: approvers[0]!, role: 'approver' } : { address: s.from, role: 'sender' };
    this.holds.set(id, { hold, body: s.body, actor });
    return { token: this.sign(id), id };
  }

  forge(token: string): string {
    const dot = token.lastIndexOf('.');
    const sig = token.slice(dot + 1);
    return `${token.slice(0, dot + 1)}${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
  }

  unknownToken(): string {
    return this.sign('HNOSUCHHOLD');
  }

  async expire(id: string): Promise<void> {
    this.entry(id).hold.deadline = Date.now() - 1000;
  }

  async decideElsewhere(id: string, state: Exclude<HoldState, 'held'>): Promise<void> {
    const hold = this.entry(id).hold;
    Object.assign(hold, { state, decidedAt: Date.now(), decidedBy: 'cli' });
  }

  async state(id: string): Promise<HoldState> {
    return this.entry(id).hold.state;
  }

  async mistake(id: string): Promise<boolean> {
    return this.entry(id).hold.mistake === true;
  }

  breakDown(): void {
    this.broken = true;
  }

  async close(): Promise<void> {}

  private entry(id: string) {
    const e = this.holds.get(id);
    if (!e) throw new Error(`no hold ${id}`);
    return e;
  }

  private sign(id: string): string {
    return `${id}.${createHmac('sha256', this.secret).update(id).digest('base64url')}`;
  }

  private check(token: string): { entry: { hold: Hold; body: string; actor: Actor } } | { problem: TokenProblem } {
    if (this.broken) throw new Error('database is locked (test double failure) at /srv/outguard/secret/path');
    const dot = token.lastIndexOf('.');
    if (dot < 1 || this.sign(token.slice(0, dot)) !== token) return { problem: 'forged' };
    const entry = this.holds.get(token.slice(0, dot));
    if (!entry) return { problem: 'unknown' };
    if (this.usedTokens.has(token)) return { problem: 'used' };
    if (Date.now() > entry.hold.deadline) return { problem: 'expired' };
    return { entry };
  }

  private async decide(token: string, state: 'released' | 'discarded', mistake: boolean): Promise<{ hold: Hold } | { problem: TokenProblem | 'not-held' }> {
    const found = this.check(token);
    if ('problem' in found) return found;
    const hold = found.entry.hold;
    if (hold.state !== 'held') return { problem: 'not-held' };
    this.usedTokens.add(token);
    Object.assign(hold, { state, decidedAt: Date.now(), decidedBy: found.entry.actor.address });
    if (state === 'discarded') hold.mistake = mistake;
    return { hold: structuredClone(hold) };
  }
}

export interface RunningWeb {
  server: WebServer;
  address: AddressInfo;
  /** http://127.0.0.1:PORT */
  base: string;
  /** base + /hold/<token> */
  pageUrl(token: string, action?: 'release' | 'discard'): string;
  apiUrl(token: string, action?: 'release' | 'discard'): string;
  close(): Promise<void>;
}

/** The real web server on 127.0.0.1, any free port. */
export async function startWeb(actions: HoldActions | undefined, options: WebServerOptions = {}): Promise<RunningWeb> {
  const server = new WebServer({ host: '127.0.0.1', port: 0 }, () => ({ test: true }), actions, options);
  const address = await server.listen();
  const base = `http://127.0.0.1:${address.port}`;
  const suffix = (action?: string) => (action ? `/${action}` : '');
  return {
    server,
    address,
    base,
    pageUrl: (token, action) => `${base}/hold/${encodeURIComponent(token)}${suffix(action)}`,
    apiUrl: (token, action) => `${base}/api/holds/${encodeURIComponent(token)}${suffix(action)}`,
    close: () => server.close(),
  };
}

/** What a browser would do by hand: GET the page, keep its cookie and the form's hidden CSRF field. */
export async function openPage(web: RunningWeb, token: string): Promise<{ cookie: string; csrf: string; html: string; res: Response }> {
  const res = await fetch(web.pageUrl(token));
  const html = await res.text();
  const setCookie = res.headers.getSetCookie()[0] ?? '';
  const cookie = setCookie.split(';')[0]!;
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  return { cookie, csrf, html, res };
}

/** POSTs a urlencoded form like the page does. */
export function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}

export const ALL_TICKED = { confirm_recipients: '1', confirm_body: '1', confirm_attachments: '1' };
