import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebClient } from '../support/web-client.js';
import { ALL_TICKED, CAN_UNZIP, type HoldBackend, type RunningWeb, createHoldBackend, discardedOnly, openPage, postForm, sampleRelease, startWeb } from './fixture.js';

let backend: HoldBackend;
let web: RunningWeb;

beforeEach(async () => {
  backend = await createHoldBackend();
  web = await startWeb(backend.actions);
});
afterEach(async () => {
  await web.close();
  await backend.close();
});

/** Japanese and English both there, Japanese first. */
function jaBeforeEn(html: string, ja: string, en: string): void {
  const j = html.indexOf(ja);
  const e = html.indexOf(en);
  expect(j, ja).toBeGreaterThan(-1);
  expect(e, en).toBeGreaterThan(-1);
  expect(j).toBeLessThan(e);
}

describe('release page: GET /hold/:token', () => {
  it('shows the held message in full, Japanese first, with the checklist and the buttons', async () => {
    const { token, id } = await backend.create();
    const { res, html, cookie, csrf } = await openPage(web, token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html).toContain('<html lang="ja">');
    // sender, recipients with their flags, subject, deadline and what happens then
    expect(html).toContain('taro.yamada@example.co.jp');
    for (const a of ['suzuki@partner.example', 'sato@examp1e.co.jp', 'hanako@example.co.jp']) expect(html).toContain(a);
    expect(html).toContain('「example.co.jp」に類似したドメイン');
    expect(html).toContain('looks like example.co.jp');
    expect(html).toContain('初めての宛先ドメイン');
    expect(html).toContain('社外');
    expect(html).toContain('【要確認】第3四半期 作業報告書の送付');
    jaBeforeEn(html, '期限までに操作がない場合、このメールは破棄され、送信されません。', 'If nobody acts by the deadline, the message is discarded and not sent.');
    expect(html).toMatch(/（日本時間）/);
    // the whole body as text, attachments with size and SHA-256, findings with rule and clause
    expect(html).toContain('<pre class="body" id="body">鈴木様\n\nいつもお世話になっております。');
    expect(html).toContain('山田 太郎 / Taro Yamada');
    expect(html).toContain('作業報告書_2025Q3.xlsx');
    expect(html).toContain('47 KiB (48,213 B)');
    expect(html).toMatch(/<td class="hash"[^>]*>[0-9a-f]{64}<\/td>/);
    expect(html).toContain('遵守事項 第6-1');
    // each finding: the rule in words, what it asks and what it found, Japanese first; the rule id is for admins
    jaBeforeEn(html, '社内・取引先に似たドメイン', 'Lookalike recipient domain');
    jaBeforeEn(html, '宛先のドメインが社内または取引先のドメインに似ています。', 'recipient domain looks like an internal or partner domain');
    jaBeforeEn(html, 'example.co.jp に似ています（1文字違い）', 'looks like example.co.jp (edit distance 1)');
    jaBeforeEn(html, '社外宛ての添付ファイル', 'Attachment to an outside address');
    expect(html).not.toMatch(/lookalike-domain|first-time-domain|external-attachment/);
    expect(html).toContain(id);
    // Japanese first, then English
    jaBeforeEn(html, '送信前の確認', 'Confirm before sending');
    jaBeforeEn(html, '宛先を確認した', 'I checked the recipients');
    jaBeforeEn(html, '本文を確認した', 'I checked the body');
    jaBeforeEn(html, '添付ファイルの中身を確認した', 'I checked the contents of the attachments');
    jaBeforeEn(html, '送信 <span lang="en">(Send)', '破棄 <span lang="en">(Discard)');
    expect(html).toContain('間違いだった <span lang="en">(This was a mistake)</span>');
    // the checkboxes are required in the page too; forms post to ourselves
    expect(html.match(/type="checkbox" name="confirm_\w+" value="1" required/g)).toHaveLength(3);
    expect(html).toContain(`action="/hold/${encodeURIComponent(token)}/release"`);
    expect(html).toContain(`action="/hold/${encodeURIComponent(token)}/discard"`);
    expect(cookie).toMatch(/^og_csrf_[0-9a-f]{16}=[A-Za-z0-9_-]{43}$/);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // opening the page decides nothing
    expect(backend.calls.release).toBe(0);
    expect(backend.calls.discard).toHaveLength(0);
    expect(await backend.state(id)).toBe('held');
  });

  it('sends the security headers and an HttpOnly SameSite=Strict cookie', async () => {
    const { token } = await backend.create();
    const { res } = await openPage(web, token);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const setCookie = res.headers.getSetCookie()[0]!;
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/hold/');
    expect(setCookie).toMatch(/Max-Age=\d+/);
    expect(setCookie).not.toContain('Secure');
  });

  it('marks the cookie Secure when configured for https', async () => {
    const secureWeb = await startWeb(backend.actions, { secureCookies: true });
    try {
      const { token } = await backend.create();
      expect((await openPage(secureWeb, token)).res.headers.getSetCookie()[0]).toContain('; Secure');
    } finally {
      await secureWeb.close();
    }
  });

  it('escapes everything the sender wrote', async () => {
    const { token } = await backend.create({
      from: 'a"<b>@example.co.jp',
      subject: '<script>alert(1)</script>',
      body: 'Hello </pre><script>alert(2)</script> & <b>bold</b>',
      recipients: [{ address: '"><svg onload=alert(3)>@x.example', external: true, firstTimeDomain: true, lookalikeOf: '<i>x</i>' }],
      attachments: [{ name: '"><img src=x onerror=alert(1)>', content: Buffer.from('x') }],
      findings: [{ rule: 'r<1>', clause: 'c"2', severity: 'hold', message: "<u>m</u>\n'q'", reason: 'r', value: '<a href=javascript:alert(4)>v</a>', detail: '<b>d</b>' }],
    });
    const { html } = await openPage(web, token);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<svg');
    expect(html).not.toContain('<a href=javascript');
    expect(html).not.toContain('<b>bold');
    expect(html).not.toContain('<i>x</i>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('Hello &lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;');
    expect(html).toContain('a&quot;&lt;b&gt;@example.co.jp');
    expect(html).toContain('&#39;q&#39;');
    // exactly one script element: ours, with the nonce
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it('labels the attachment box for a message without attachments, and shows an approver why they got the link', async () => {
    const { token } = await backend.create({ attachments: [], approvers: ['bucho@example.co.jp'] });
    const { html } = await openPage(web, token);
    expect(html).toContain('添付ファイルはありません。');
    expect(html).toContain('添付ファイルの中身を確認した（添付ファイルがないことを確認した）');
    expect(html).toContain('あなた（bucho@example.co.jp）は承認者（上長承認）として');
  });

  it('says what happens at the deadline for send and escalate', async () => {
    const send = await backend.create({ onDeadline: { action: 'send' } });
    expect((await openPage(web, send.token)).html).toContain('期限までに操作がない場合、このメールはそのまま送信されます。');
    const esc = await backend.create({ onDeadline: { action: 'escalate', to: 'joshi@example.co.jp' } });
    expect((await openPage(web, esc.token)).html).toContain('joshi@example.co.jp に確認が依頼されます');
  });
});

describe('release page: token problems', () => {
  async function refused(url: string, status: number, ja: string, en: string) {
    const res = await fetch(url);
    const html = await res.text();
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.getSetCookie()).toHaveLength(0);
    jaBeforeEn(html, ja, en);
    expect(html).not.toMatch(/\bat \S+ \(|Error:|node:internal/);
    expect(html).not.toContain('id="release-form"');
    return html;
  }

  it('a forged token: 403', async () => {
    const { token } = await backend.create();
    await refused(web.pageUrl(backend.forge(token)), 403, 'このリンクは無効です', 'This link is not valid');
  });

  it('an expired token: 410', async () => {
    const { token, id } = await backend.create();
    await backend.expire(id);
    await refused(web.pageUrl(token), 410, 'このリンクは有効期限切れです', 'This link has expired');
  });

  it.skipIf(!CAN_UNZIP)('a used token: 410, for the page and for a second POST', async () => {
    const { token, id } = await backend.create();
    const { cookie, csrf } = await openPage(web, token);
    expect((await postForm(web.pageUrl(token, 'release'), { csrf, ...ALL_TICKED }, { cookie })).status).toBe(200);
    await refused(web.pageUrl(token), 410, 'このリンクは使用済みです', 'This link has already been used');
    const again = await postForm(web.pageUrl(token, 'discard'), { csrf }, { cookie });
    expect(again.status).toBe(410);
    expect(await again.text()).toContain('このリンクは使用済みです');
    // the discard reached the backend and changed nothing: released, sent once
    expect(backend.calls.discard).toHaveLength(1);
    expect(await backend.state(id)).toBe('released');
    expect(await backend.sent(id)).toEqual(sampleRelease(id));
  });

  it('an unknown token: 404; a path segment that cannot be a token: 404', async () => {
    await refused(web.pageUrl(backend.unknownToken()), 404, '保留が見つかりません', 'No such hold');
    await refused(`${web.base}/hold/%E0%A4%A`, 404, '保留が見つかりません', 'No such hold');
    await refused(`${web.base}/hold/`, 404, 'ページが見つかりません', 'Not found');
  });

  it('a hold decided elsewhere (CLI): 410 no longer held, with its state', async () => {
    const { token, id } = await backend.create();
    await backend.decideElsewhere(id, 'discarded');
    const html = await refused(web.pageUrl(token), 410, 'このメールは既に保留中ではありません', 'This message is no longer held');
    expect(html).toContain('現在の状態：破棄済み');
  });

  it('a backend failure: 500 with a plain page, no stack trace or internals', async () => {
    const { token } = await backend.create();
    const failure = await backend.breakDown();
    const html = await refused(web.pageUrl(token), 500, 'エラーが発生しました', 'Something went wrong');
    expect(html).not.toContain(failure);
    expect(html).not.toContain(backend.dataDir);
  });

  it('without a hold backend the pages answer 503, /healthz still works', async () => {
    const bare = await startWeb(undefined);
    try {
      await refused(bare.pageUrl('anything'), 503, '確認保留は利用できません', 'Confirmation hold unavailable');
      const health = await fetch(`${bare.base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', test: true });
      bare.server.setHoldActions(backend.actions);
      const { token } = await backend.create();
      expect((await fetch(bare.pageUrl(token))).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});

describe('release page: POST and CSRF', () => {
  it.skipIf(!CAN_UNZIP)('releases with the CSRF token and all three ticks: 送信しました', async () => {
    const { token, id } = await backend.create();
    const { cookie, csrf } = await openPage(web, token);
    const res = await postForm(web.pageUrl(token, 'release'), { csrf, ...ALL_TICKED }, { cookie });
    const html = await res.text();
    expect(res.status).toBe(200);
    jaBeforeEn(html, '送信しました', 'Sent');
    expect(html).toContain('【要確認】第3四半期 作業報告書の送付');
    expect(await backend.state(id)).toBe('released');
    expect(await backend.sent(id)).toEqual(sampleRelease(id));
  });

  it('refuses a POST without the CSRF field, with a wrong one, without the cookie, or with another hold\'s: 403, nothing released', async () => {
    const { token, id } = await backend.create();
    const other = await backend.create();
    const { cookie, csrf } = await openPage(web, token);
    const otherPage = await openPage(web, other.token);
    const url = web.pageUrl(token, 'release');
    const attempts: [Record<string, string>, Record<string, string>][] = [
      [{ ...ALL_TICKED }, { cookie }],
      [{ csrf: '', ...ALL_TICKED }, { cookie }],
      [{ csrf: csrf.slice(0, -2) + (csrf.endsWith('AA') ? 'BB' : 'AA'), ...ALL_TICKED }, { cookie }],
      [{ csrf, ...ALL_TICKED }, {}],
      [{ csrf, ...ALL_TICKED }, { cookie: cookie.replace(/=.*/, '=' + 'x'.repeat(43)) }],
      // the other hold's cookie and field do not work for this token
      [{ csrf: otherPage.csrf, ...ALL_TICKED }, { cookie: otherPage.cookie }],
      [{ csrf: otherPage.csrf, ...ALL_TICKED }, { cookie: `${cookie}; ${otherPage.cookie}` }],
      // a cross-site POST is refused even with the right values
      [{ csrf, ...ALL_TICKED }, { cookie, 'sec-fetch-site': 'cross-site' }],
    ];
    for (const [fields, headers] of attempts) {
      const res = await postForm(url, fields, headers);
      const html = await res.text();
      expect(res.status, JSON.stringify([fields, headers])).toBe(403);
      expect(html).toContain('フォームを確認できませんでした');
      expect(html).toContain('Nothing was sent or discarded');
    }
    const discard = await postForm(web.pageUrl(token, 'discard'), { mistake: '1' }, { cookie });
    expect(discard.status).toBe(403);
    expect(backend.calls.release).toBe(0);
    expect(backend.calls.discard).toHaveLength(0);
    expect(await backend.state(id)).toBe('held');
    // and the right values still work afterwards
    expect((await postForm(url, { csrf, ...ALL_TICKED }, { cookie })).status).toBe(200);
  });

  it('a second GET keeps the cookie, so an earlier tab of the same hold still works', async () => {
    const { token } = await backend.create();
    const first = await openPage(web, token);
    const second = await fetch(web.pageUrl(token), { headers: { cookie: first.cookie } });
    expect(second.headers.getSetCookie()[0]!.split(';')[0]).toBe(first.cookie);
    expect((await postForm(web.pageUrl(token, 'release'), { csrf: first.csrf, ...ALL_TICKED }, { cookie: first.cookie })).status).toBe(200);
  });

  it('refuses 送信 unless all three boxes are ticked: 422, the page again with the message, nothing released', async () => {
    const { token, id } = await backend.create();
    const { cookie, csrf } = await openPage(web, token);
    const partials: Record<string, string>[] = [{}, { confirm_recipients: '1', confirm_body: '1' }, { confirm_recipients: '1', confirm_attachments: '1', confirm_body: 'on' }];
    for (const fields of partials) {
      const res = await postForm(web.pageUrl(token, 'release'), { csrf, ...fields }, { cookie });
      const html = await res.text();
      expect(res.status).toBe(422);
      jaBeforeEn(html, '確認が完了していません', 'Not confirmed');
      expect(html).toContain('id="release-form"');
    }
    const partial = await (await postForm(web.pageUrl(token, 'release'), { csrf, confirm_recipients: '1' }, { cookie })).text();
    expect(partial).toContain('name="confirm_recipients" value="1" required checked');
    expect(partial).toContain('name="confirm_body" value="1" required>');
    expect(backend.calls.release).toBe(0);
    expect(await backend.state(id)).toBe('held');
  });

  it('破棄 discards; 間違いだった discards and records the mistake', async () => {
    const a = await backend.create();
    const pa = await openPage(web, a.token);
    const ra = await postForm(web.pageUrl(a.token, 'discard'), { csrf: pa.csrf }, { cookie: pa.cookie });
    const ha = await ra.text();
    expect(ra.status).toBe(200);
    jaBeforeEn(ha, '破棄しました', 'Discarded');
    expect(ha).not.toContain('間違いとして記録しました');
    expect(await backend.state(a.id)).toBe('discarded');
    expect(await backend.mistake(a.id)).toBe(false);

    const b = await backend.create();
    const pb = await openPage(web, b.token);
    // the first press only asks, saying what will happen; nothing is discarded
    const ask = await postForm(web.pageUrl(b.token, 'discard'), { csrf: pb.csrf, mistake: '1' }, { cookie: pb.cookie });
    const hask = await ask.text();
    expect(ask.status).toBe(200);
    jaBeforeEn(hask, '間違いとして破棄しますか？', 'Discard this message as a mistake?');
    jaBeforeEn(hask, 'このメールは送信されずに破棄されます。元には戻せません。', 'The message is discarded and never sent.');
    jaBeforeEn(hask, '送信されていないため、インシデントとしては扱いません。発注者への報告も行いません。', 'it is not treated as an incident, and the client is not told');
    expect(hask).toContain('name="confirm" value="1"');
    expect(hask).toContain(`href="/hold/${encodeURIComponent(b.token)}" id="back"`);
    expect(backend.calls.discard).toHaveLength(1); // a's
    expect(await backend.state(b.id)).toBe('held');
    // the way back is the release page, still usable
    expect((await fetch(web.pageUrl(b.token), { headers: { cookie: pb.cookie } })).status).toBe(200);
    // the confirmation acts
    const rb = await postForm(web.pageUrl(b.token, 'discard'), { csrf: WebClient.csrf(hask), mistake: '1', confirm: '1' }, { cookie: pb.cookie });
    const hb = await rb.text();
    expect(rb.status).toBe(200);
    jaBeforeEn(hb, '破棄しました（間違いとして記録しました）', 'Discarded — recorded as a mistake');
    jaBeforeEn(hb, '送信前に誤りに気付いたことを監査ログに記録しました。', 'The audit log records that you caught a mistake');
    jaBeforeEn(hb, 'インシデントとしては扱いません', 'not treated as an incident');
    expect(await backend.state(b.id)).toBe('discarded');
    expect(await backend.mistake(b.id)).toBe(true);
    // the sender is told, nothing of the message leaves
    expect(await backend.sent(a.id)).toEqual(discardedOnly());
    expect(await backend.sent(b.id)).toEqual(discardedOnly());
    expect(backend.calls.release).toBe(0);
  });

  it('間違いだった says what the setting makes of it: an incident, and whether the client is told', async () => {
    const cases = [
      { reports: { incident: true, clientNotice: true }, ja: '発注者の窓口へ報告メールが自動で送られます。', en: 'A report is mailed to the client contact automatically.' },
      { reports: { incident: true, clientNotice: false }, ja: '発注者への報告は担当者が行います', en: 'no report is mailed automatically' },
    ];
    for (const c of cases) {
      const reporting = await startWeb(backend.actions, { senderMistakes: c.reports });
      const { token } = await backend.create();
      const page = await openPage(reporting, token);
      const ask = await (await postForm(reporting.pageUrl(token, 'discard'), { csrf: page.csrf, mistake: '1' }, { cookie: page.cookie })).text();
      jaBeforeEn(ask, 'インシデントとして登録され、報告期限の計測が始まります（遵守事項 第2）。', 'An incident is opened');
      jaBeforeEn(ask, c.ja, c.en);
      const done = await (await postForm(reporting.pageUrl(token, 'discard'), { csrf: page.csrf, mistake: '1', confirm: '1' }, { cookie: page.cookie })).text();
      jaBeforeEn(done, 'インシデントとして登録しました', 'An incident was opened');
      jaBeforeEn(done, c.ja, c.en);
      await reporting.close();
    }
  });

  it('a release of a hold decided elsewhere meanwhile: 410 no longer held', async () => {
    const { token, id } = await backend.create();
    const { cookie, csrf } = await openPage(web, token);
    await backend.decideElsewhere(id, 'expired');
    const res = await postForm(web.pageUrl(token, 'release'), { csrf, ...ALL_TICKED }, { cookie });
    expect(res.status).toBe(410);
    const html = await res.text();
    expect(html).toContain('このメールは既に保留中ではありません');
    expect(html).toContain('現在の状態：期限切れ');
  });

  it('accepts only urlencoded forms (415), limits the body (413), and only POST on the action paths (405)', async () => {
    const { token, id } = await backend.create();
    const { cookie, csrf } = await openPage(web, token);
    const body = new URLSearchParams({ csrf, ...ALL_TICKED }).toString();
    for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/json']) {
      const res = await fetch(web.pageUrl(token, 'release'), { method: 'POST', headers: { 'content-type': type, cookie }, body });
      expect(res.status, type).toBe(415);
      expect(await res.text()).toContain('対応していない形式です');
    }
    const big = await postForm(web.pageUrl(token, 'release'), { csrf, ...ALL_TICKED, pad: 'x'.repeat(40_000) }, { cookie });
    expect(big.status).toBe(413);
    const get = await fetch(web.pageUrl(token, 'release'));
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const put = await fetch(web.pageUrl(token), { method: 'PUT', body: 'x' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD');
    expect(backend.calls.release).toBe(0);
    expect(await backend.state(id)).toBe('held');
    // the server still answers normally afterwards
    expect((await postForm(web.pageUrl(token, 'release'), { csrf, ...ALL_TICKED }, { cookie })).status).toBe(200);
  });

  it('uses a given CSRF secret, so a page opened before a restart still works after it', async () => {
    const secret = Buffer.alloc(32, 9);
    const one = await startWeb(backend.actions, { csrfSecret: secret });
    const { token, id } = await backend.create();
    const { cookie, csrf } = await openPage(one, token);
    await one.close();
    const two = await startWeb(backend.actions, { csrfSecret: secret });
    try {
      expect((await postForm(two.pageUrl(token, 'release'), { csrf, ...ALL_TICKED }, { cookie })).status).toBe(200);
      expect(await backend.state(id)).toBe('released');
    } finally {
      await two.close();
    }
  });
});

describe('release page: a server with a random secret', () => {
  let other: RunningWeb;
  beforeAll(async () => {
    other = await startWeb(undefined);
  });
  afterAll(async () => {
    await other.close();
  });

  it("does not accept another server's CSRF field", async () => {
    other.server.setHoldActions(backend.actions);
    const { token, id } = await backend.create();
    const { cookie, csrf } = await openPage(web, token);
    expect((await postForm(other.pageUrl(token, 'release'), { csrf, ...ALL_TICKED }, { cookie })).status).toBe(403);
    expect(await backend.state(id)).toBe('held');
  });
});
