import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CAN_UNZIP, type HoldBackend, type RunningWeb, createHoldBackend, discardedOnly, sampleRelease, startWeb } from './fixture.js';

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

const CONFIRMED = { confirm: { recipients: true, body: true, attachments: true } };
const API_HEADERS = { 'content-type': 'application/json', 'x-outguard-request': '1' };

function post(url: string, body: unknown, headers: Record<string, string> = API_HEADERS): Promise<Response> {
  return fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function expectError(res: Response, status: number, error: string): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.error).toBe(error);
  expect(body.message_ja).toMatch(/[ぁ-んァ-ヶ一-龠]/);
  expect(body.message_en).toMatch(/^[\x20-\x7e]+$/);
  return body;
}

describe('JSON API: GET /api/holds/:token', () => {
  it('returns the hold (recipients with flags, body text, attachments, findings), never the raw message', async () => {
    const { token, id } = await backend.create();
    const res = await fetch(web.apiUrl(token));
    expect(res.status).toBe(200);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const { hold } = (await res.json()) as { hold: Record<string, any> };
    expect(hold).toMatchObject({
      id,
      state: 'held',
      sender: 'taro.yamada@example.co.jp',
      subject: '【要確認】第3四半期 作業報告書の送付',
      onDeadline: { action: 'discard' },
      approvers: [],
      actor: { address: 'taro.yamada@example.co.jp', role: 'sender' },
    });
    expect(hold.recipients).toEqual([
      { address: 'suzuki@partner.example', external: true, firstTimeDomain: false },
      { address: 'sato@examp1e.co.jp', external: true, firstTimeDomain: true, lookalikeOf: 'example.co.jp' },
      { address: 'hanako@example.co.jp', external: false, firstTimeDomain: false },
    ]);
    expect(hold.body).toContain('第3四半期の作業報告書をお送りします。');
    expect(hold.attachments[0]).toEqual({ name: '作業報告書_2025Q3.xlsx', size: 48213, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(hold.findings.map((f: { rule: string; clause: string }) => [f.rule, f.clause])).toEqual([
      ['lookalike-domain', '遵守事項 第6-1'],
      ['first-time-domain', '遵守事項 第6-1'],
      ['external-attachment', '遵守事項 第6-1'],
    ]);
    expect(new Date(hold.deadline).getTime()).toBeGreaterThan(Date.now());
    expect(hold).not.toHaveProperty('raw');
    expect(hold).not.toHaveProperty('envelope');
    expect(backend.calls.release).toBe(0);
  });

  it('token problems: forged 403, expired 410, used 410, unknown 404, no longer held 410', async () => {
    const a = await backend.create();
    await expectError(await fetch(web.apiUrl(backend.forge(a.token))), 403, 'forged');
    await expectError(await fetch(web.apiUrl(backend.unknownToken())), 404, 'unknown');
    const b = await backend.create();
    await backend.expire(b.id);
    await expectError(await fetch(web.apiUrl(b.token)), 410, 'expired');
    const c = await backend.create();
    expect((await post(web.apiUrl(c.token, 'discard'), {})).status).toBe(200);
    await expectError(await fetch(web.apiUrl(c.token)), 410, 'used');
    const d = await backend.create();
    await backend.decideElsewhere(d.id, 'released');
    const body = await expectError(await fetch(web.apiUrl(d.token)), 410, 'not-held');
    expect(body.state).toBe('released');
  });

  it('a backend failure: 500 without internals', async () => {
    const { token } = await backend.create();
    const failure = await backend.breakDown();
    const res = await fetch(web.apiUrl(token));
    const text = await res.clone().text();
    await expectError(res, 500, 'internal');
    expect(text).not.toContain(failure);
    expect(text).not.toContain(backend.dataDir);
  });
});

describe('JSON API: POST release / discard', () => {
  it('refuses a release without X-Outguard-Request or without JSON content type; nothing released', async () => {
    const { token, id } = await backend.create();
    const url = web.apiUrl(token, 'release');
    await expectError(await post(url, CONFIRMED, { 'content-type': 'application/json' }), 403, 'missing-request-header');
    await expectError(await post(url, CONFIRMED, { 'content-type': 'application/json', 'x-outguard-request': 'yes' }), 403, 'missing-request-header');
    await expectError(await post(url, CONFIRMED, { 'x-outguard-request': '1', 'content-type': 'text/plain' }), 415, 'unsupported-media-type');
    await expectError(await post(url, CONFIRMED, { 'x-outguard-request': '1', 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported-media-type');
    // what a cross-site HTML form can send
    const form = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(CONFIRMED) });
    await expectError(form, 403, 'missing-request-header');
    expect(backend.calls.release).toBe(0);
    expect(await backend.state(id)).toBe('held');
  });

  it('refuses a release without all three confirmations (422) or with a broken body (400, 413)', async () => {
    const { token, id } = await backend.create();
    const url = web.apiUrl(token, 'release');
    for (const body of [{}, { confirm: {} }, { confirm: { recipients: true, body: true } }, { confirm: { recipients: true, body: true, attachments: 'true' } }, { confirm: true }]) {
      await expectError(await post(url, body), 422, 'confirmation-required');
    }
    await expectError(await post(url, '{"confirm":'), 400, 'invalid-json');
    await expectError(await post(url, '[1]'), 400, 'invalid-json');
    await expectError(await post(url, { ...CONFIRMED, pad: 'x'.repeat(40_000) }), 413, 'payload-too-large');
    expect(backend.calls.release).toBe(0);
    expect(await backend.state(id)).toBe('held');
  });

  it.skipIf(!CAN_UNZIP)('releases with the header, JSON and all confirmations; the token then is used', async () => {
    const { token, id } = await backend.create();
    const res = await post(web.apiUrl(token, 'release'), CONFIRMED, { 'content-type': 'application/json; charset=utf-8', 'x-outguard-request': '1' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: string; hold: Record<string, unknown> };
    expect(body.result).toBe('released');
    expect(body.hold).toMatchObject({ id, state: 'released', decidedBy: 'taro.yamada@example.co.jp' });
    expect(await backend.state(id)).toBe('released');
    await expectError(await post(web.apiUrl(token, 'release'), CONFIRMED), 410, 'used');
    // sent once, as direct mail is: internal copy untouched, external copy encrypted, its password to the sender
    expect(await backend.sent(id)).toEqual(sampleRelease(id));
  });

  it('discards, with and without the mistake flag; refuses a mistake flag that is not a boolean', async () => {
    const a = await backend.create();
    await expectError(await post(web.apiUrl(a.token, 'discard'), { mistake: 'yes' }), 400, 'invalid-request');
    expect(backend.calls.discard).toHaveLength(0);
    const ra = await post(web.apiUrl(a.token, 'discard'), { mistake: false });
    expect(ra.status).toBe(200);
    expect(await ra.json()).toMatchObject({ result: 'discarded', mistake: false, incident: false, hold: { state: 'discarded' } });
    expect(await backend.mistake(a.id)).toBe(false);
    expect(await backend.sent(a.id)).toEqual(discardedOnly());

    const b = await backend.create();
    await expectError(await post(web.apiUrl(b.token, 'discard'), { mistake: true }, { 'content-type': 'application/json' }), 403, 'missing-request-header');
    const rb = await post(web.apiUrl(b.token, 'discard'), { mistake: true });
    // at once (a tool has its own confirmation), and by default no incident and no word to the client
    expect(await rb.json()).toMatchObject({ result: 'discarded', mistake: true, incident: false, clientNotice: false, hold: { state: 'discarded', mistake: true } });
    expect(await backend.state(b.id)).toBe('discarded');
    expect(await backend.mistake(b.id)).toBe(true);
    expect(await backend.sent(b.id)).toEqual(discardedOnly());
    expect(backend.calls.release).toBe(0);
  });

  it('answers a CORS preflight with 405 and no CORS headers; unknown API paths are JSON 404s', async () => {
    const { token } = await backend.create();
    const pre = await fetch(web.apiUrl(token, 'release'), {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-outguard-request' },
    });
    expect(pre.status).toBe(405);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    await expectError(await fetch(`${web.base}/api/holds/${token}/send`), 404, 'not-found');
    await expectError(await post(web.apiUrl(token), CONFIRMED), 405, 'method-not-allowed');
  });
});
