import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { HoldTokens } from '../../src/hold/token.js';
import { type Sink, startSink } from '../support/sink.js';
import { type Harness, PUBLIC_URL, SENDER, compose, dataDir, holdInput, openHarness, sleep } from './fixtures.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('HoldTokens', () => {
  const key = randomBytes(32);
  const tokens = new HoldTokens(key);
  const claims = { holdId: '0mhx2k3ab-abcdefghij', audience: 's', expiry: 1_800_000_000_000 };

  it('issues <hold id>.<audience>.<expiry>.<HMAC> and verifies it', () => {
    const token = tokens.issue(claims);
    expect(token).toMatch(/^0mhx2k3ab-abcdefghij\.s\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    expect(tokens.verify(token)).toEqual(claims);
    expect(tokens.verify(tokens.issue({ ...claims, audience: 'a2' }))).toEqual({ ...claims, audience: 'a2' });
    expect(encodeURIComponent(token)).toBe(token); // goes into a URL as it is
  });

  it('calls every altered, truncated or foreign token forged', () => {
    const token = tokens.issue(claims);
    const [id, aud, exp, mac] = token.split('.') as [string, string, string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const variants = [
      `${id}x.${aud}.${exp}.${mac}`, // another hold
      `${id}.a0.${exp}.${mac}`, // another audience
      `${id}.${aud}.${(parseInt(exp, 36) + 1000).toString(36)}.${mac}`, // a later expiry
      `${id}.${aud}.${exp}.${flip(mac)}`,
      `${id}.${aud}.${exp}.${mac.slice(0, -1)}`,
      `${id}.${aud}.${exp}`,
      `${token}.extra`,
      new HoldTokens(randomBytes(32)).issue(claims), // another installation's key
      '',
      '....',
      'not a token',
      `${id}.x.${exp}.${mac}`,
      `${'a'.repeat(400)}.s.${exp}.${mac}`,
    ];
    for (const v of variants) expect(tokens.verify(v), v).toEqual({ problem: 'forged' });
  });

  it('uses a key derived for tokens, not the data-at-rest key itself', async () => {
    const { createHmac } = await import('node:crypto');
    const token = tokens.issue(claims);
    const body = token.split('.').slice(0, 3).join('.');
    expect(token.endsWith(createHmac('sha256', key).update(body).digest('base64url'))).toBe(false);
  });
});

describe('release links: forged, expired, used, unknown', () => {
  async function setup(): Promise<{ h: Harness; sink: Sink }> {
    const sink = await startSink();
    cleanup.push(() => sink.close());
    const h = await openHarness(dataDir(), sink);
    cleanup.push(() => h.close());
    return { h, sink };
  }

  it('opens with a good link and names the actor; the body is given in full', async () => {
    const { h } = await setup();
    const { raw, marker } = await compose({ to: ['partner@partner.example'] });
    const { hold: r } = await h.service.hold(holdInput(raw, ['partner@partner.example']));
    const token = h.service.linkFor(r).slice(`${PUBLIC_URL}/hold/`.length);
    const opened = await h.service.open(token);
    if ('problem' in opened) throw new Error(opened.problem);
    expect(opened.actor).toEqual({ address: SENDER, role: 'sender' });
    expect(opened.hold.id).toBe(r.id);
    expect(opened.bodyText).toContain(marker);
    // opening does not use the link up
    expect('hold' in (await h.service.open(token))).toBe(true);
  });

  it('forged: a token whose MAC does not match', async () => {
    const { h } = await setup();
    const { raw } = await compose({ to: ['partner@partner.example'] });
    const { hold: r } = await h.service.hold(holdInput(raw, ['partner@partner.example']));
    const token = h.service.linkFor(r).slice(`${PUBLIC_URL}/hold/`.length);
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await h.service.open(forged)).toEqual({ problem: 'forged' });
    expect(await h.service.release(forged)).toEqual({ problem: 'forged' });
    expect(await h.service.discard(forged, { mistake: false })).toEqual({ problem: 'forged' });
    // an approver link for a hold without approvers was never issued: the MAC fails too
    expect(await h.service.release(`${r.id}.a0.${token.split('.')[2]}.${token.split('.')[3]}`)).toEqual({ problem: 'forged' });
    expect((await h.holds.get(r.id))!.state).toBe('held');
  });

  it('unknown: a well-signed token for a hold this store does not have', async () => {
    const { h } = await setup();
    const token = new HoldTokens(h.key).issue({ holdId: 'no-such-hold', audience: 's', expiry: Date.now() + 60_000 });
    expect(await h.service.open(token)).toEqual({ problem: 'unknown' });
    expect(await h.service.release(token)).toEqual({ problem: 'unknown' });
    expect(await h.service.discard(token, { mistake: true })).toEqual({ problem: 'unknown' });
  });

  it('expired: after the deadline the link no longer works, even before the deadline action ran', async () => {
    const sink = await startSink();
    cleanup.push(() => sink.close());
    // not started: no deadline timer, so the hold is still held when the link is used
    const h = await openHarness(dataDir(), sink, { start: false });
    cleanup.push(() => h.close());
    const { raw } = await compose({ to: ['partner@partner.example'] });
    const { hold: r } = await h.service.hold(holdInput(raw, ['partner@partner.example'], { hours: 0.3 / 3600 }));
    const token = h.service.linkFor(r).slice(`${PUBLIC_URL}/hold/`.length);
    await sleep(Math.max(0, r.deadline - Date.now()) + 20);
    expect(await h.service.open(token)).toEqual({ problem: 'expired' });
    expect(await h.service.release(token)).toEqual({ problem: 'expired' });
    expect(await h.service.discard(token, { mistake: false })).toEqual({ problem: 'expired' });
    expect((await h.holds.get(r.id))!.state).toBe('held');
  });

  it('used: a link works for one decision; then it opens and decides nothing', async () => {
    const { h } = await setup();
    const { raw } = await compose({ to: ['partner@partner.example'] });
    const { hold: r } = await h.service.hold(holdInput(raw, ['partner@partner.example']));
    const token = h.service.linkFor(r).slice(`${PUBLIC_URL}/hold/`.length);
    const first = await h.service.discard(token, { mistake: false });
    expect('hold' in first && first.hold.state).toBe('discarded');
    expect(await h.service.open(token)).toEqual({ problem: 'used' });
    expect(await h.service.release(token)).toEqual({ problem: 'used' });
    expect(await h.service.discard(token, { mistake: true })).toEqual({ problem: 'used' });
    expect((await h.holds.get(r.id))!.mistake).toBe(false);
  });

  it('not-held: a hold decided another way (by an admin) refuses a decision through the link', async () => {
    const { h } = await setup();
    const { raw } = await compose({ to: ['partner@partner.example'] });
    const { hold: r } = await h.service.hold(holdInput(raw, ['partner@partner.example']));
    const token = h.service.linkFor(r).slice(`${PUBLIC_URL}/hold/`.length);
    expect('hold' in (await h.service.discardById(r.id))).toBe(true);
    expect(await h.service.release(token)).toEqual({ problem: 'not-held' });
    // opening the link shows what became of it (the page says "no longer held: discarded")
    expect(await h.service.open(token)).toMatchObject({ hold: { id: r.id, state: 'discarded' }, bodyText: '' });
  });

  it('two decisions through the same link at once: exactly one wins', async () => {
    const { h } = await setup();
    const { raw } = await compose({ to: ['colleague@example.co.jp'] });
    const { hold: r } = await h.service.hold(holdInput(raw, ['colleague@example.co.jp']));
    const token = h.service.linkFor(r).slice(`${PUBLIC_URL}/hold/`.length);
    const results = await Promise.all([h.service.release(token), h.service.discard(token, { mistake: false }), h.service.release(token)]);
    expect(results.filter((x) => 'hold' in x)).toHaveLength(1);
    expect(results.filter((x) => 'problem' in x).map((x) => ('problem' in x ? x.problem : ''))).toEqual(['used', 'used']);
  });
});
