import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/crypto/password-hash.js';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { DEFAULT_POLICY, type TestGateway, startGateway } from '../support/gateway.js';
import { type Sink, startSink } from '../support/sink.js';
import { WebClient } from '../support/web-client.js';
import { until } from '../support/wait.js';

/**
 * The reviewer pages on the whole gateway (default policy, real SMTP in, the sink as next hop,
 * the real audit log and holds), over real HTTP.
 */
const FAST = { N: 1024, r: 8, p: 1 };
const jaSubject = (s: string) => `=?UTF-8?B?${Buffer.from(s).toString('base64')}?=`;

describe('reviewer pages on the gateway', () => {
  let sink: Sink;
  let gw: TestGateway;
  let reviewer: WebClient;
  let admin: WebClient;
  const ids: Record<string, string> = {};

  async function send(name: string, from: string, to: string, subject: string): Promise<void> {
    const t = client(gw.smtp.port);
    const r = await sendRaw(t, from, [to], sampleMessage({ from, to, subject: jaSubject(subject) }));
    t.close();
    // a rejection names no id: the reviewer finds it by searching
    const id = /(?:as|delivered as) (\S+)/.exec(r.response)?.[1];
    if (id) ids[name] = id;
  }

  beforeAll(async () => {
    sink = await startSink();
    gw = await startGateway({
      nextHop: `smtp://127.0.0.1:${sink.port}`,
      policy: DEFAULT_POLICY,
      organization: { internalDomains: ['example.co.jp'], partnerDomains: ['partner.example'] },
      web: {
        listen: '127.0.0.1:0',
        users: [
          { username: 'kansa', password: await hashPassword('kansa-pass-1', FAST), role: 'reviewer' },
          { username: 'admin', password: await hashPassword('admin-pass-1', FAST), role: 'admin' },
        ],
      },
    });
    await send('anonymous', 'taro@example.co.jp', 'x@mailinator.com', '匿名宛て');
    await send('evernote', 'hanako@example.co.jp', 'someone@m.evernote.com', 'ノート登録');
    await send('internal', 'taro@example.co.jp', 'colleague@example.co.jp', '社内連絡');
    await send('held1', 'jiro@example.co.jp', 'new@first-time.example', '<b>見積</b> 第1版');
    await send('held2', 'jiro@example.co.jp', 'new@first-time.example', '見積 第2版');
    reviewer = new WebClient(`http://127.0.0.1:${gw.web.port}`);
    admin = new WebClient(`http://127.0.0.1:${gw.web.port}`);
    expect((await reviewer.login('kansa', 'kansa-pass-1')).status).toBe(303);
    expect((await admin.login('admin', 'admin-pass-1')).status).toBe(303);
    // the audit writer flushes in batches, in order: wait until the last message's event is searchable
    await until(async () => ((await (await reviewer.get('/review/search?type=held')).text()).includes('2 件中') ? true : undefined));
  });
  afterAll(async () => {
    await gw?.stop();
    await sink?.close();
  });

  const rows = (page: string) => [...page.matchAll(/<tr data-seq="\d+">([\s\S]*?)<\/tr>/g)].map((m) => m[1]!);

  it('filters blocked mail by rule, clause, sender and recipient domain', async () => {
    const byRule = await (await reviewer.get('/review/search?type=rejected&rule=online-service-recipient')).text();
    expect(rows(byRule)).toHaveLength(1);
    expect(rows(byRule)[0]).toContain('someone@m.evernote.com');
    // the rule in words, Japanese first, with the id beside it to search by
    expect(rows(byRule)[0]).toContain('オンラインサービスへのメール投稿<span class="en" lang="en">E-mail-in address of an online service</span><span class="ident">online-service-recipient</span>');
    expect(byRule).toContain('<option value="online-service-recipient">オンラインサービスへのメール投稿 / E-mail-in address of an online service</option>');
    expect(byRule).toContain('1 件中 1–1 件');

    const byClause = rows(await (await reviewer.get(`/review/search?type=rejected&clause=${encodeURIComponent('第6-3')}`)).text());
    expect(byClause).toHaveLength(1);
    expect(byClause[0]).toContain('x@mailinator.com');

    expect(rows(await (await reviewer.get('/review/search?sender=JIRO')).text())).toHaveLength(2);
    expect(rows(await (await reviewer.get('/review/search?sender=jiro@example&exact=1')).text())).toHaveLength(0);
    expect(rows(await (await reviewer.get('/review/search?domain=evernote.com')).text())).toHaveLength(1);
    // the subject a sender wrote is shown as text, never as markup
    const held = await (await reviewer.get('/review/search?type=held')).text();
    expect(held).toContain('&lt;b&gt;見積&lt;/b&gt; 第1版');
    expect(held).not.toContain('<b>見積');
  });

  it('takes an old bookmark of /review with a search to /review/search with the same query', async () => {
    const query = `?type=rejected&sender=${encodeURIComponent('taro')}&clause=${encodeURIComponent('第6-3')}`;
    const res = await reviewer.get(`/review${query}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/review/search${query}`);
    expect(rows(await (await reviewer.get(res.headers.get('location')!)).text())[0]).toContain('x@mailinator.com');
    // without a query, /review is the dashboard
    expect((await reviewer.get('/review')).status).toBe(200);
  });

  it('filters by date range in Japan time, and says what is wrong with a bad date (400)', async () => {
    const today = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Tokyo' }).format(new Date());
    const tomorrow = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Tokyo' }).format(new Date(Date.now() + 86_400_000));
    expect(rows(await (await reviewer.get(`/review/search?type=rejected&from=${today}&to=${today}`)).text())).toHaveLength(2);
    expect(rows(await (await reviewer.get(`/review/search?type=rejected&from=${tomorrow}`)).text())).toHaveLength(0);
    expect(rows(await (await reviewer.get('/review/search?type=rejected&to=2020-01-01')).text())).toHaveLength(0);
    for (const [query, text] of [
      ['from=2026-02-30', '開始日の日付「2026-02-30」が正しくありません'],
      ['to=tomorrow', '終了日の日付「tomorrow」が正しくありません'],
      ['from=2026-11-02&to=2026-11-01', '開始日が終了日より後になっています'],
      ['page=0', 'ページ番号「0」が正しくありません'],
    ]) {
      const res = await reviewer.get(`/review/search?${query}`);
      expect(res.status, query).toBe(400);
      const page = await res.text();
      expect(page).toContain(text);
      expect(page).not.toMatch(/at \w+ \(|\.ts:\d+/);
    }
  });

  it('shows a message with its attachments, rules with reasons, and its timeline', async () => {
    const found = await (await reviewer.get('/review/search?domain=evernote.com')).text();
    const link = /href="(\/review\/message\/[^"]+)"/.exec(rows(found)[0]!)![1]!;
    const res = await reviewer.get(link);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('hanako@example.co.jp');
    expect(page).toContain('someone@m.evernote.com');
    expect(page).toContain('ノート登録');
    expect(page).toMatch(/<table id="rules"[^>]*>[\s\S]*?オンラインサービスへのメール投稿<span class="en" lang="en">E-mail-in address of an online service<\/span><span class="ident">online-service-recipient<\/span>/);
    expect(page).toContain('遵守事項 第7');
    // the rule's reason from the policy, Japanese and English
    expect(page).toContain('宛先がオンラインサービスのメール投稿用アドレスです。');
    expect(page).toContain('recipient is the e-mail-in address of an online service');
    expect(page).toMatch(/<tr data-type="rejected">/);
    expect(page).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST/);
    expect((await reviewer.get('/review/message/no-such-id')).status).toBe(404);
  });

  it('a reviewer cannot release a held message: 403, and it stays held', async () => {
    const page = await (await reviewer.get(`/review/message/${ids.held1}`)).text();
    expect(page).toContain('data-state="held"');
    expect(page).not.toContain('id="release"');
    expect(page).toContain('Only admins may release or discard held mail.');
    const res = await reviewer.post(`/review/message/${ids.held1}/release`, { csrf: WebClient.csrf(page) });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('保留中のメールを送信・破棄できるのは管理者（admin）だけです');
    expect(await (await reviewer.get(`/review/message/${ids.held1}`)).text()).toContain('data-state="held"');
    expect(sink.messages.some((m) => m.to.includes('new@first-time.example'))).toBe(false);
  });

  it('an admin can release and discard; the timeline records web:admin', async () => {
    const page = await (await admin.get(`/review/message/${ids.held1}`)).text();
    expect(page).toContain('id="release"');
    const res = await admin.post(`/review/message/${ids.held1}/release`, { csrf: WebClient.csrf(page) });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/review/message/${ids.held1}?done=released`);
    await until(async () => (sink.messages.some((m) => m.to.includes('new@first-time.example')) ? true : undefined));
    const after = await until(async () => {
      const p = await (await admin.get(`/review/message/${ids.held1}?done=released`)).text();
      return p.includes('<tr data-type="released">') ? p : undefined;
    });
    expect(after).toContain('data-state="released"');
    expect(after).toMatch(/<tr data-type="released">[\s\S]*?担当者 admin（監査担当者の画面）<span class="en" lang="en">admin \(reviewer pages\)<\/span><span class="ident">web:admin<\/span>/);
    expect(after).toMatch(/id="hold-state"[\s\S]*?担当者 admin（監査担当者の画面）[\s\S]*?<span class="ident">web:admin<\/span>/);

    const discardPage = await (await admin.get(`/review/message/${ids.held2}`)).text();
    expect((await admin.post(`/review/message/${ids.held2}/discard`, { csrf: WebClient.csrf(discardPage) })).status).toBe(303);
    expect(await (await admin.get(`/review/message/${ids.held2}`)).text()).toContain('data-state="discarded"');
    // deciding again: the page says it is no longer held
    const again = await admin.post(`/review/message/${ids.held2}/release`, { csrf: WebClient.csrf(discardPage) });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('このメールは保留中ではありません');
  });

  it('refuses an admin POST without the CSRF field, or from another site', async () => {
    expect((await admin.post(`/review/message/${ids.held1}/discard`, { csrf: 'x' })).status).toBe(403);
    const page = await (await admin.get('/review')).text();
    expect((await admin.post(`/review/message/${ids.held1}/discard`, { csrf: WebClient.csrf(page) }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
  });

  it('exports the current filter as CSV: BOM, Japanese, only the matching rows, dated file name', async () => {
    const res = await reviewer.get('/review/export.csv?type=rejected');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="outguard-audit-\d{8}-\d{6}\.csv"$/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.toString('utf8').slice(1).trim().split('\r\n');
    expect(lines[0]).toMatch(/^seq,time,type,messageId,sender,recipients,subject/);
    expect(lines).toHaveLength(3);
    expect(lines.slice(1).every((l) => l.includes(',rejected,'))).toBe(true);
    expect(lines.join('\n')).toContain('匿名宛て');
    expect((await new WebClient(reviewer.base).get('/review/export.csv')).status).toBe(303);
  });
});
