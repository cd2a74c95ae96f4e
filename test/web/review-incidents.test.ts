import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newIncidentId } from '../../src/audit/incident-types.js';
import { hashPassword } from '../../src/crypto/password-hash.js';
import { MessageModel } from '../../src/message/model.js';
import { SqliteIncidentStore } from '../../src/store/sqlite-incidents.js';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { type TestGateway, startGateway } from '../support/gateway.js';
import { type Received, type Sink, startSink } from '../support/sink.js';
import { WebClient } from '../support/web-client.js';
import { until } from '../support/wait.js';

/**
 * The incident pages (遵守事項 第2) on the whole gateway: real SMTP in, the sink as next hop and as
 * the client contact's mail server, the real incident store and audit log, over real HTTP.
 */
const CONTACT = 'madoguchi@client.example.lg.jp';
const FAST = { N: 1024, r: 8, p: 1 };
const headerOf = (m: Received, name: string) => new RegExp(`^${name}: (\\S+)`, 'm').exec(m.raw.toString('latin1').split('\r\n\r\n')[0]!)?.[1];

describe('incident pages on the gateway (遵守事項 第2)', () => {
  let sink: Sink;
  let gw: TestGateway;
  let store: SqliteIncidentStore;
  let reviewer: WebClient;
  let admin: WebClient;
  let messageId: string;

  beforeAll(async () => {
    sink = await startSink();
    gw = await startGateway({
      nextHop: `smtp://127.0.0.1:${sink.port}`,
      organization: { internalDomains: ['example.co.jp'] },
      compliance: { clientContact: [CONTACT], from: 'postmaster@example.co.jp' },
      web: {
        listen: '127.0.0.1:0',
        users: [
          { username: 'kansa', password: await hashPassword('kansa-pass-1', FAST), role: 'reviewer' },
          { username: 'admin', password: await hashPassword('admin-pass-1', FAST), role: 'admin' },
        ],
      },
    });
    store = SqliteIncidentStore.open(gw.dataDir);
    const t = client(gw.smtp.port);
    const sent = await sendRaw(t, 'taro@example.co.jp', ['suzuki@partner.example'], sampleMessage({ to: 'suzuki@partner.example', subject: 'quote v2' }));
    t.close();
    messageId = /(?:as|delivered as) (\S+)/.exec(sent.response)![1]!;
    reviewer = new WebClient(`http://127.0.0.1:${gw.web.port}`);
    admin = new WebClient(`http://127.0.0.1:${gw.web.port}`);
    expect((await reviewer.login('kansa', 'kansa-pass-1')).status).toBe(303);
    expect((await admin.login('admin', 'admin-pass-1')).status).toBe(303);
    // the audit log is written in batches: wait until the message has its page
    await until(async () => ((await reviewer.get(`/review/message/${messageId}`)).status === 200 ? true : undefined));
  });
  afterAll(async () => {
    await store?.close();
    await gw?.stop();
    await sink?.close();
  });

  /** An incident written straight to the store, opened `minutesAgo` ago with the 60-minute limit. */
  async function incidentOpened(minutesAgo: number, openedBy: string): Promise<string> {
    const openedAt = Date.now() - minutesAgo * 60_000;
    const id = newIncidentId(openedAt);
    await store.create({ id, openedAt, deadline: openedAt + 60 * 60_000, trigger: 'manual', openedBy, summary: `${openedBy} の報告` });
    return id;
  }

  it('a reviewer opens an incident from the message page; its page shows the report and the clock, and the client contact gets the report', async () => {
    const messagePage = await (await reviewer.get(`/review/message/${messageId}`)).text();
    expect(messagePage).toContain('id="open-incident"');
    expect(messagePage).toContain('このメールのインシデントはありません。');
    const before = Date.now();
    const res = await reviewer.post('/review/incidents', { csrf: WebClient.csrf(messagePage), message: messageId, reason: '宛先を誤って送信した <b>至急</b>' });
    expect(res.status).toBe(303);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/^\/review\/incidents\/INC-\d{8}-[a-z2-9]{6}\?done=opened$/);
    const id = /INC-[^?]+/.exec(location)![0];

    const page = await (await reviewer.get(location)).text();
    expect(page).toContain('インシデントを登録しました。');
    expect(page).toContain(id);
    // who opened it in words, the recorded id beside it
    expect(page).toMatch(/id="opened-by">担当者 kansa（監査担当者の画面）<span class="en" lang="en">kansa \(reviewer pages\)<\/span><span class="ident">web:kansa<\/span></);
    // the reason a person typed is text, never markup
    expect(page).toContain('宛先を誤って送信した &lt;b&gt;至急&lt;/b&gt;');
    // the prefilled JA/EN report, as the client contact gets it
    expect(page).toMatch(/<pre class="body" id="report-text">発注者ご担当者様[\s\S]*suzuki@partner\.example[\s\S]*quote v2[\s\S]*To the client contact/);
    // the 60-minute clock: the deadline an hour after it was opened; open (or already reported by the notification)
    const [, day, time] = /id="deadline">(\S+) (\S+) JST（認識から 60 分以内）</.exec(page)!;
    const deadline = Date.parse(`${day}T${time}+09:00`);
    expect(deadline).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 3_600_000);
    expect(page).toMatch(/data-status="open"[\s\S]*?残り (60|59) 分|data-status="reported"[\s\S]*?認識から 1 分以内に報告/);

    // the client contact gets the report at once; then the incident is reported by outguard for the reviewer
    const notice = await until(async () => sink.messages.find((m) => headerOf(m, 'X-Outguard-Incident') === id));
    expect(notice.to).toEqual([CONTACT]);
    expect(headerOf(notice, 'X-Outguard-Notice')).toBe('incident');
    const mailed = MessageModel.parse(notice.raw).textParts.join('\n');
    expect(mailed).toContain('宛先を誤って送信した <b>至急</b>');
    // the client cannot open the reviewer pages: the mail quotes the incident number instead of linking to them
    expect(mailed).toContain(`インシデント番号 ${id} をお伝えください`);
    expect(mailed).not.toContain('/review/');
    const reported = await until(async () => {
      const p = await (await reviewer.get(`/review/incidents/${id}`)).text();
      return p.includes('data-status="reported"') ? p : undefined;
    });
    expect(reported).toMatch(/id="notified-to">madoguchi@client\.example\.lg\.jp</);
    expect(reported).toMatch(/id="reported-by">outguard が自動で報告（登録: 担当者 kansa（監査担当者の画面））<span class="en" lang="en">outguard, automatically \(opened by kansa \(reviewer pages\)\)<\/span><span class="ident">outguard \(for web:kansa\)<\/span></);
    expect(reported).not.toContain('id="record-form"');
    // sent in the same second or minute: not "1 分で報告"
    expect(reported).toContain('認識から 1 分以内に報告');
    expect(reported).not.toContain('1 分で報告');

    // the message page and the list link to it
    expect(await (await reviewer.get(`/review/message/${messageId}`)).text()).toContain(`href="/review/incidents/${id}"`);
    expect(await (await admin.get('/review/incidents')).text()).toMatch(new RegExp(`<tr class="incident" data-incident="${id}">[\\s\\S]*?quote v2`));
  });

  it('with a client contact, says the report is sent at once, and shows no note about reporting by hand', async () => {
    expect(await (await reviewer.get(`/review/message/${messageId}`)).text()).toContain('発注者の窓口（compliance.clientContact）に報告がすぐ送られます。');
    expect(await (await reviewer.get('/review/incidents')).text()).not.toContain('id="reports-by-hand"');
  });

  it('the forms of a page work when that page had to set a new CSRF cookie (it expired while the session lasts)', async () => {
    const id = await incidentOpened(5, 'csrf-cookie@example.co.jp');
    const c = new WebClient(reviewer.base);
    c.cookies.set('og_session', reviewer.cookies.get('og_session')!);
    const page = await (await c.get(`/review/incidents/${id}`)).text();
    const field = /id="record-form">\s*<input type="hidden" name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const res = await c.post(`/review/incidents/${id}/reported`, { csrf: field, note: 'by phone' });
    expect(res.status).toBe(303);
  });

  it('shows an overdue incident in red with the minutes it is overdue by, and an open one with the minutes left', async () => {
    // deadline 60.5 min ago: overdue by 61 (whole minutes, rounded up)
    const overdue = await incidentOpened(120.5, 'hanako');
    const open = await incidentOpened(10.5, 'jiro');
    const list = await (await reviewer.get('/review/incidents?show=open')).text();
    const row = (id: string) => new RegExp(`<tr class="incident" data-incident="${id}">([\\s\\S]*?)</tr>`).exec(list)?.[1] ?? '';
    expect(row(overdue)).toContain('class="clock s-overdue" data-status="overdue"');
    expect(row(overdue)).toContain('期限超過・未報告');
    expect(row(overdue)).toContain('期限を 61 分超過');
    expect(row(overdue)).toContain('overdue by 61 min');
    expect(row(open)).toContain('data-status="open"');
    expect(row(open)).toContain('残り 50 分');
    // the clock ticks in the browser on the server's time; the page is right without it
    expect(list).toMatch(/<script nonce="[^"]+">\(\(\) => \{\n {2}const skew = \d+ - Date\.now\(\);/);

    const page = await (await reviewer.get(`/review/incidents/${overdue}`)).text();
    expect(page).toContain('期限を 61 分超過');
    expect(page).toContain('id="notice-none"');
  });

  it('records an incident as reported by the logged-in user, late when past the deadline; only once', async () => {
    const id = await incidentOpened(90.5, 'hanako');
    const page = await (await reviewer.get(`/review/incidents/${id}`)).text();
    expect(page).toContain('報告済みとして記録');
    const res = await reviewer.post(`/review/incidents/${id}/reported`, { csrf: WebClient.csrf(page), note: '電話で山田様に報告' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/review/incidents/${id}?done=reported`);
    const after = await (await reviewer.get(`/review/incidents/${id}?done=reported`)).text();
    expect(after).toContain('報告済みとして記録しました。');
    expect(after).toContain('data-status="reported-late"');
    expect(after).toContain('報告済み（期限超過）');
    expect(after).toContain('期限の 31 分後に報告');
    expect(after).toMatch(/id="reported-by">担当者 kansa（監査担当者の画面）<span class="en" lang="en">kansa \(reviewer pages\)<\/span><span class="ident">web:kansa<\/span></);
    expect(after).toMatch(/id="report-note">電話で山田様に報告</);
    expect((await store.get(id))!.reportedHow).toBe('recorded');
    expect(await (await reviewer.get('/review/incidents?show=open')).text()).not.toContain(id);

    const again = await reviewer.post(`/review/incidents/${id}/reported`, { csrf: WebClient.csrf(page) });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('既に報告済みです');
  });

  it('says what went wrong with bad input, and changes nothing', async () => {
    const csrf = WebClient.csrf(await (await reviewer.get('/review/incidents')).text());
    const count = (await store.list()).length;
    const cases: [Promise<Response>, number, string][] = [
      [reviewer.post('/review/incidents', { csrf, message: messageId, reason: '   ' }), 400, '何が起きたかを入力してください'],
      [reviewer.post('/review/incidents', { csrf, reason: '誤送信' }), 400, 'どのメールのインシデントかが指定されていません'],
      [reviewer.post('/review/incidents', { csrf, message: messageId, reason: 'あ'.repeat(1001) }), 400, '何が起きたかが長すぎます'],
      [reviewer.post('/review/incidents', { csrf, message: 'no-such-message', reason: '誤送信' }), 404, 'この ID のメールの記録はありません'],
      [reviewer.get('/review/incidents/INC-20200101-aaaaaa'), 404, 'インシデントが見つかりません'],
      [reviewer.post('/review/incidents/INC-20200101-aaaaaa/reported', { csrf }), 404, 'インシデントが見つかりません'],
      [reviewer.get('/review/incidents?show=bogus'), 400, '表示の指定「bogus」が正しくありません'],
      [reviewer.post('/review/incidents', { csrf: 'forged', message: messageId, reason: '誤送信' }), 403, 'フォームを確認できませんでした'],
    ];
    for (const [answer, status, text] of cases) {
      const res = await answer;
      const body = await res.text();
      expect(res.status, text).toBe(status);
      expect(body).toContain(text);
      expect(body).not.toMatch(/at \w+ \(|\.ts:\d+/);
    }
    expect((await store.list()).length).toBe(count);
    // without a login: to the login page
    const stranger = new WebClient(reviewer.base);
    expect((await stranger.get('/review/incidents')).status).toBe(303);
  });
});
