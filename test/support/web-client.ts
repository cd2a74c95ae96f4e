/**
 * A browser-like HTTP client for page tests over real HTTP: keeps cookies (name=value, as a
 * browser sends them back), does not follow redirects, and reads the CSRF field of a page.
 */
export class WebClient {
  readonly cookies = new Map<string, string>();
  /** The raw Set-Cookie headers of the last answer. */
  lastSetCookies: string[] = [];

  constructor(readonly base: string) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.request('GET', path, undefined, headers);
  }

  /** Posts a form (application/x-www-form-urlencoded). */
  async post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.request('POST', path, new URLSearchParams(form).toString(), { 'content-type': 'application/x-www-form-urlencoded', ...headers });
  }

  /** The CSRF field of a page's forms. */
  static csrf(page: string): string {
    const m = /name="csrf" value="([^"]+)"/.exec(page);
    if (!m) throw new Error('no CSRF field on the page');
    return m[1]!;
  }

  /** Opens /login, logs in, and returns the answer to the POST (303 on success). */
  async login(username: string, password: string, next?: string): Promise<Response> {
    const page = await (await this.get('/login')).text();
    return this.post('/login', { csrf: WebClient.csrf(page), username, password, ...(next ? { next } : {}) });
  }

  private async request(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<Response> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(`${this.base}${path}`, { method, body, redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...headers } });
    this.lastSetCookies = res.headers.getSetCookie();
    for (const c of this.lastSetCookies) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
}
