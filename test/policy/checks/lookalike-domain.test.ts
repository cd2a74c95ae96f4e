import { domainToASCII } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ParamError } from '../../../src/policy/check.js';
import { distance, lookalikeDomain, skeleton } from '../../../src/policy/checks/lookalike-domain.js';
import { makeContext, makeInput } from '../../support/context.js';

const env = { lists: new Set<string>() };
const params = lookalikeDomain.params({}, env);
const ctx = makeContext({ internalDomains: ['example.co.jp'], partnerDomains: ['partner-corp.jp'] });

function run(to: string, context = ctx, p = params) {
  return lookalikeDomain.run(makeInput({ to: [to], headers: [`To: ${to}`, 'Subject: x'] }), context, p);
}

// the real punycode of еxample.co.jp with a Cyrillic е (U+0435)
const cyrillicE = domainToASCII('\u0435xample.co.jp');

describe('lookalike-domain', () => {
  it.each([
    ['a@exampel.co.jp', 'looks like example.co.jp (edit distance 1)'], // transposition
    ['a@exmaple.co.jp', 'looks like example.co.jp (edit distance 1)'],
    ['a@exampl.co.jp', 'looks like example.co.jp (edit distance 1)'],
    ['a@mail.exampel.co.jp', 'looks like example.co.jp (edit distance 1)'], // registrable part
    ['a@exampleco.jp', 'looks like example.co.jp (edit distance 1)'], // whole domain: a dropped dot
    ['a@examp1e.co.jp', 'looks like example.co.jp (homoglyphs)'],
    ['a@exarnple.co.jp', 'looks like example.co.jp (homoglyphs)'],
    ['a@example.com', 'looks like example.co.jp (same name under .com)'],
    ['a@example.ne.jp', 'looks like example.co.jp (same name under .ne.jp)'],
    ['a@partnercorp.jp', 'looks like partner-corp.jp (edit distance 1)'],
    ['a@partner-crop.jp', 'looks like partner-corp.jp (edit distance 1)'],
    ['a@partner-corp.co.jp', 'looks like partner-corp.jp (same name under .co.jp)'],
  ])('flags %s', (to, en) => {
    expect(run(to)).toEqual([{ value: to, detail: { ja: expect.any(String), en } }]);
  });

  it.each([
    ['a@example.com', 'example.co.jp に似ています（同じ名前で末尾が .com）'],
    ['a@examp1e.co.jp', 'example.co.jp に似ています（見分けにくい文字）'],
    ['a@exmapel.co.jp', 'example.co.jp に似ています（2文字違い）'],
  ])('says in Japanese why %s looks like an internal domain', (to, ja) => {
    expect(run(to)[0]?.detail).toMatchObject({ ja });
  });

  it('flags a Cyrillic homoglyph IDN as homoglyphs and mixed-script', () => {
    expect(cyrillicE).toMatch(/^xn--/);
    const to = `a@${cyrillicE}`;
    expect(run(to)).toEqual([
      {
        value: to,
        detail: {
          ja: 'example.co.jp に似ています（見分けにくい文字）。複数の文字体系が混在する国際化ドメイン名（Cyrillic+Latin）',
          en: 'looks like example.co.jp (homoglyphs); mixed-script IDN (Cyrillic+Latin)',
        },
      },
    ]);
    // the same recipient written in Unicode (SMTPUTF8) is normalised to the same punycode
    expect(run('a@\u0435xample.co.jp')[0]?.detail).toMatchObject({ en: expect.stringContaining('homoglyphs') });
  });

  it('flags a mixed-script IDN that matches no internal domain', () => {
    const latinCyrillic = `a@${domainToASCII('p\u0430ypal.com')}`; // Cyrillic а
    expect(run(latinCyrillic)).toEqual([{ value: latinCyrillic, detail: { ja: '複数の文字体系が混在する国際化ドメイン名（Latin+Cyrillic）', en: 'mixed-script IDN (Latin+Cyrillic)' } }]);
    const latinGreek = `a@${domainToASCII('g\u03bfogle.com')}`; // Greek ο
    expect(run(latinGreek)[0]?.detail).toMatchObject({ en: 'mixed-script IDN (Latin+Greek)' });
  });

  it('flags a whole-domain edit under a geographic suffix (pref.aichi.jp)', () => {
    const local = makeContext({ internalDomains: ['pref.aichi.jp'] });
    expect(run('a@pref.aichl.jp', local)[0]?.detail).toMatchObject({ en: 'looks like pref.aichi.jp (edit distance 1)' });
  });

  it.each([
    'a@example.co.jp',
    'a@mail.example.co.jp',
    'a@partner-corp.jp',
    'a@mail.partner-corp.jp',
    'a@gmail.com',
    'a@yahoo.co.jp',
    'a@docomo.ne.jp',
    'a@ezweb.ne.jp',
    'a@icloud.com',
    'a@outlook.com',
    'a@u-tokyo.ac.jp',
    'a@example.co.jp.evil.com', // not a lookalike by edit distance; other checks' business
    `a@${domainToASCII('日本語.jp')}`, // pure Japanese IDN
    `a@${domainToASCII('トヨタ自動車.jp')}`, // Katakana + Han
    `a@${domainToASCII('jリーグ.jp')}`, // Latin + Japanese is not mixed (UTS #39 highly restrictive)
    `a@${domainToASCII('пример.рф')}`, // all Cyrillic
  ])('does not flag %s', (to) => {
    expect(run(to)).toEqual([]);
  });

  it('skips edit-distance comparisons with names shorter than minLength', () => {
    const local = makeContext({ internalDomains: ['abc.jp'] });
    expect(run('a@abd.jp', local)).toEqual([]);
    expect(run('a@abc.com', local)).toEqual([]);
    expect(run('a@abd.jp', local, lookalikeDomain.params({ minLength: 3 }, env))).toEqual([{ value: 'a@abd.jp', detail: expect.objectContaining({ en: 'looks like abc.jp (edit distance 1)' }) }]);
    // homoglyphs do not depend on the length
    expect(run('a@ab0.jp', makeContext({ internalDomains: ['abo.jp'] }))).toEqual([{ value: 'a@ab0.jp', detail: expect.objectContaining({ en: 'looks like abo.jp (homoglyphs)' }) }]);
  });

  it('respects maxDistance', () => {
    expect(run('a@exmapel.co.jp')).toEqual([{ value: 'a@exmapel.co.jp', detail: expect.objectContaining({ en: 'looks like example.co.jp (edit distance 2)' }) }]);
    expect(run('a@exmapel.co.jp', ctx, lookalikeDomain.params({ maxDistance: 1 }, env))).toEqual([]);
    expect(run('a@exampel.co.jp', ctx, lookalikeDomain.params({ maxDistance: 1 }, env))).toHaveLength(1);
  });

  it('does not treat another host of the same registrable domain as a lookalike', () => {
    const local = makeContext({ internalDomains: ['mail.example.co.jp'] });
    expect(run('a@mall.example.co.jp', local)).toEqual([]);
  });

  it('lets the allow list win', () => {
    const local = makeContext({ internalDomains: ['example.co.jp'], lists: { allow: ['exampel.co.jp', 'ok@exmaple.co.jp'] } });
    expect(run('a@exampel.co.jp', local)).toEqual([]);
    expect(run('ok@exmaple.co.jp', local)).toEqual([]);
    expect(run('other@exmaple.co.jp', local)).toHaveLength(1);
  });

  it('looks at header Cc as well as the envelope, one hit per domain', () => {
    const input = makeInput({
      headers: ['To: a@exampel.co.jp, b@gmail.com', 'Cc: c@exampel.co.jp, d@partnercorp.jp', 'Subject: x'],
      to: ['a@exampel.co.jp', 'b@gmail.com'],
    });
    expect(lookalikeDomain.run(input, ctx, params).map((h) => h.value)).toEqual(['a@exampel.co.jp', 'd@partnercorp.jp']);
  });

  it('validates parameters', () => {
    expect(params).toEqual({ maxDistance: 2, minLength: 5 });
    expect(() => lookalikeDomain.params({ maxDistance: 5 }, env)).toThrow(ParamError);
    expect(() => lookalikeDomain.params({ maxDistance: 0 }, env)).toThrow(ParamError);
    expect(() => lookalikeDomain.params({ maxDistance: 1.5 }, env)).toThrow(ParamError);
    expect(() => lookalikeDomain.params({ maxDistance: '2' }, env)).toThrow(ParamError);
    expect(() => lookalikeDomain.params({ minLength: 0 }, env)).toThrow(ParamError);
  });

  it('computes optimal-string-alignment distance with a cut-off', () => {
    expect(distance('example', 'exampel', 2)).toBe(1);
    expect(distance('ca', 'abc', 3)).toBe(3); // OSA, not unrestricted Damerau–Levenshtein (2)
    expect(distance('kitten', 'sitting', 5)).toBe(3);
    expect(distance('kitten', 'sitting', 2)).toBe(3); // max + 1
    expect(distance('a', 'abcd', 2)).toBe(3);
    expect(skeleton('ｅxarnp1e.co.jp')).toBe('example.co.jp');
  });
});
