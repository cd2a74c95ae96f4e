import { describe, expect, it } from 'vitest';
import { charWidth, displayWidth, padWidth, truncateWidth } from '../../src/util/display-width.js';
import { textTable } from '../../src/util/text-table.js';

describe('displayWidth', () => {
  it('counts kanji, kana, full-width forms and emoji as two columns, ASCII as one', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('見積書')).toBe(6);
    expect(displayWidth('カタカナ、ひらがな。')).toBe(20);
    expect(displayWidth('ＡＢＣ１２３')).toBe(12);
    expect(displayWidth('【ご確認】')).toBe(10);
    expect(displayWidth('　')).toBe(2); // the ideographic space
    expect(displayWidth('📎')).toBe(2);
    expect(displayWidth('𠮷野家')).toBe(6); // outside the BMP
    expect(displayWidth('ｶﾀｶﾅ')).toBe(4); // half-width katakana stay narrow
  });

  it('gives combining marks and zero-width characters no column', () => {
    expect(displayWidth('か\u3099')).toBe(2); // が, decomposed
    expect(displayWidth('a\u200bb')).toBe(2);
    expect(charWidth('\u0301')).toBe(0);
  });
});

describe('truncateWidth', () => {
  it('leaves text that fits, and cuts longer text to the width, ending in …', () => {
    expect(truncateWidth('見積書', 6)).toBe('見積書');
    expect(truncateWidth('abcdefgh', 5)).toBe('abcd…');
    expect(truncateWidth('見積書の送付について', 9)).toBe('見積書の…');
    expect(displayWidth(truncateWidth('見積書の送付について', 9))).toBe(9);
  });

  it('never splits a wide character: the cut stops before it', () => {
    expect(truncateWidth('ab見積書', 6)).toBe('ab見…');
    expect(displayWidth(truncateWidth('ab見積書', 6))).toBe(5);
  });
});

describe('padWidth', () => {
  it('pads by display width, so that Japanese and ASCII cells end in the same column', () => {
    expect(padWidth('見積', 6)).toBe('見積  ');
    expect(padWidth('ab', 6)).toBe('ab    ');
    expect(padWidth('見積書の送付', 4)).toBe('見積書の送付');
  });
});

describe('textTable', () => {
  it('lines columns up by display width, cuts cells to their limit and ends every line with a newline', () => {
    const out = textTable(
      [{ head: 'ID' }, { head: 'SUBJECT', max: 12 }, { head: 'STATE' }],
      [
        ['a1', '見積書の送付について', 'held'],
        ['b22', 'Invoice', 'released'],
      ],
    );
    const lines = out.split('\n');
    expect(lines.at(-1)).toBe('');
    const body = lines.slice(0, -1);
    expect(body).toEqual(['ID   SUBJECT      STATE', 'a1   見積書の送…  held', 'b22  Invoice      released']);
    // the third column starts at the same display column on every line
    const stateColumn = (line: string) => displayWidth(line.slice(0, line.search(/(STATE|held|released)$/)));
    expect(new Set(body.map(stateColumn)).size).toBe(1);
  });
});
