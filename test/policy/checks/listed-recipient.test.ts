import { describe, expect, it } from 'vitest';
import { anonymousRecipient, onlineServiceRecipient } from '../../../src/policy/checks/listed-recipient.js';
import { loadList } from '../../../src/policy/lists.js';
import { makeContext, makeInput } from '../../support/context.js';
import { createContext } from '../../../src/policy/context.js';

const params = { list: 'anonymous-mail' };

describe('anonymous-recipient', () => {
  // the real data: the CC0 package the default policy loads
  const ctx = createContext({
    lists: new Map([['anonymous-mail', loadList('anonymous-mail', [], ['disposable-email-domains-js'])]]),
    internalDomains: ['example.co.jp'],
    partnerDomains: [],
    knownDomain: () => false,
    recentExternalMessages: () => 0,
  });

  it.each(['someone@mailinator.com', 'x@guerrillamail.com', 'Throw.Away@YOPMAIL.COM'])('catches %s', (to) => {
    const hits = anonymousRecipient.run(makeInput({ to: [to] }), ctx, params);
    expect(hits.map((h) => h.value.toLowerCase())).toContain(to.toLowerCase());
  });

  it.each(['a@gmail.com', 'b@yahoo.co.jp', 'c@docomo.ne.jp', 'd@ezweb.ne.jp', 'e@i.softbank.jp', 'f@icloud.com', 'g@outlook.com', 'h@u-tokyo.ac.jp', 'i@cs.kyoto-u.ac.jp', 'j@city.yokohama.lg.jp'])(
    'does not flag the real provider or institution %s',
    (to) => {
      expect(anonymousRecipient.run(makeInput({ to: [to], headers: [`To: ${to}`] }), ctx, params)).toEqual([]);
    },
  );

  it('looks at header To/Cc/Bcc as well as the envelope', () => {
    const input = makeInput({ headers: ['To: ok@partner.example', 'Cc: "Anon" <anon@mailinator.com>', 'Subject: x'], to: ['ok@partner.example'] });
    expect(anonymousRecipient.run(input, ctx, params).map((h) => h.value)).toEqual(['anon@mailinator.com']);
  });

  it('lets the allow list win', () => {
    const local = makeContext({ lists: { 'anonymous-mail': ['mailinator.com'], allow: ['approved@mailinator.com'] } });
    expect(anonymousRecipient.run(makeInput({ to: ['approved@mailinator.com'] }), local, params)).toEqual([]);
    expect(anonymousRecipient.run(makeInput({ to: ['other@mailinator.com'] }), local, params)).toHaveLength(1);
  });
});

describe('online-service-recipient', () => {
  const ctx = makeContext({ lists: { 'online-service': ['*@m.evernote.com', 'me@onenote.com', 'kindle.com', '*@photos.flickr.com'] } });
  const params = { list: 'online-service' };
  it.each(['taro.abc123@m.evernote.com', 'me@onenote.com', 'taro_1@kindle.com', 'x.y@photos.flickr.com'])('catches %s (第7)', (to) => {
    expect(onlineServiceRecipient.run(makeInput({ to: [to] }), ctx, params)).toHaveLength(1);
  });
  it.each(['someone@evernote.com', 'you@onenote.com', 'a@flickr.com', 'partner@partner.example'])('leaves %s alone', (to) => {
    expect(onlineServiceRecipient.run(makeInput({ to: [to], headers: [`To: ${to}`] }), ctx, params)).toEqual([]);
  });
});
