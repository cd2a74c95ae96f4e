import { describe, expect, it } from 'vitest';
import { remainingText } from '../../src/web/text.js';

const MIN = 60_000;

describe('the time left on the release page', () => {
  it('says hours and minutes, and under a minute in words rather than 0', () => {
    expect(remainingText(2 * 60 * MIN + 5 * MIN, 0)).toEqual({ ja: '残り 2時間5分', en: '2 h 5 min left' });
    expect(remainingText(5 * MIN + 30_000, 0)).toEqual({ ja: '残り 5分', en: '5 min left' });
    expect(remainingText(30_000, 0)).toEqual({ ja: '残り 1分未満', en: 'under 1 min left' });
  });
});
