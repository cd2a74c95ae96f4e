import { describe, expect, it } from 'vitest';
import { firstTimeDomain } from '../../../src/policy/checks/first-time-domain.js';
import { recipientExposure } from '../../../src/policy/checks/recipient-exposure.js';
import { senderBurst } from '../../../src/policy/checks/sender-burst.js';
import { makeContext, makeInput } from '../../support/context.js';

describe('first-time-domain', () => {
  const ctx = makeContext({ internalDomains: ['example.co.jp'], partnerDomains: ['partner.co.jp'], knownDomains: ['known.example'], lists: { allow: ['allowed.example'] } });
  const run = (to: string[]) => firstTimeDomain.run(makeInput({ to }), ctx, {});

  it('flags each new external domain once, by its registrable domain', () => {
    expect(run(['a@new.example', 'b@mail.new.example', 'c@other.co.jp'])).toEqual([
      { value: 'new.example', detail: { ja: 'new.example への初めての送信', en: 'first message to new.example' } },
      { value: 'other.co.jp', detail: { ja: 'other.co.jp への初めての送信', en: 'first message to other.co.jp' } },
    ]);
  });
  it('does not flag internal, partner, already-known or allow-listed domains', () => {
    expect(run(['a@example.co.jp', 'b@sub.example.co.jp', 'c@partner.co.jp', 'd@mx.known.example', 'e@allowed.example'])).toEqual([]);
  });
});

describe('recipient-exposure', () => {
  const ctx = makeContext({ internalDomains: ['example.co.jp'] });
  const run = (headers: string[], max = 1) => recipientExposure.run(makeInput({ headers: [...headers, 'Subject: x'] }), ctx, { max });

  it('holds two external addresses visible in To/Cc and suggests Bcc', () => {
    const hits = run(['To: a@customer-a.example', 'Cc: b@customer-b.example']);
    expect(hits).toHaveLength(1);
    expect(hits[0]!.detail).toEqual({
      ja: '社外のアドレス2件が To/Cc で互いに見えています（上限 1件）。Bcc を使ってください',
      en: '2 external addresses visible in To/Cc (more than 1); use Bcc',
    });
    expect(hits[0]!.value).toBe('a@customer-a.example, b@customer-b.example');
  });
  it('counts only external addresses and ignores Bcc', () => {
    expect(run(['To: a@customer-a.example, colleague@example.co.jp', 'Bcc: b@x.example, c@y.example'])).toEqual([]);
  });
  it('honours a higher limit', () => {
    expect(run(['To: a@a.example, b@b.example, c@c.example'], 3)).toEqual([]);
    expect(run(['To: a@a.example, b@b.example, c@c.example'], 2)).toHaveLength(1);
  });
});

describe('sender-burst', () => {
  const ctx = makeContext({ internalDomains: ['example.co.jp'], recent: { 'taro@example.co.jp': 30 } });
  const params = { max: 30, windowMinutes: 10 };
  it('holds the message that goes over the limit', () => {
    expect(senderBurst.run(makeInput({ from: 'Taro@example.co.jp', to: ['x@partner.example'] }), ctx, params)).toEqual([
      { value: 'taro@example.co.jp', detail: { ja: '10分間に社外宛てのメール31通（上限 30通）', en: '31 external messages within 10 minutes (more than 30)' } },
    ]);
  });
  it('ignores purely internal mail and quiet senders', () => {
    expect(senderBurst.run(makeInput({ from: 'taro@example.co.jp', to: ['colleague@example.co.jp'] }), ctx, params)).toEqual([]);
    expect(senderBurst.run(makeInput({ from: 'hanako@example.co.jp', to: ['x@partner.example'] }), ctx, params)).toEqual([]);
  });
});
