import { describe, expect, it } from 'vitest';
import { type Incident, incidentStatus } from '../../src/audit/incident-types.js';
import { clockHtml } from '../../src/web/review-incident-clock.js';

const OPENED = Date.parse('2026-12-03T10:00:00.000Z');
const HOUR = 3_600_000;

/** The clock's words (Japanese, then English) for an incident at `now`. */
function words(i: Pick<Incident, 'reportedAt'>, now: number): string {
  const incident: Incident = { id: 'INC-20261203-aaaaaa', openedAt: OPENED, deadline: OPENED + HOUR, trigger: 'manual', openedBy: 'hanako', summary: 'x', ...i };
  const markup = clockHtml(incident, incidentStatus(incident, now), now).value;
  const minutes = /<span class="clock-minutes"><span class="ja">([^<]*)<\/span><span class="en" lang="en">([^<]*)<\/span>/.exec(markup)!;
  return `${minutes[1]} / ${minutes[2]}`;
}

describe('the incident clock', () => {
  it('says a report sent within the same minute, even the same second, was made within a minute, not "1 分で報告"', () => {
    expect(words({ reportedAt: OPENED }, OPENED + 2 * HOUR)).toBe('認識から 1 分以内に報告 / reported within 1 min of recognition');
    expect(words({ reportedAt: OPENED + 400 }, OPENED + 2 * HOUR)).toBe('認識から 1 分以内に報告 / reported within 1 min of recognition');
    expect(words({ reportedAt: OPENED + 59_999 }, OPENED + 2 * HOUR)).toBe('認識から 1 分以内に報告 / reported within 1 min of recognition');
    // from a minute on: whole minutes, rounded up
    expect(words({ reportedAt: OPENED + 60_000 }, OPENED + 2 * HOUR)).toBe('認識から 1 分で報告 / reported 1 min after recognition');
    expect(words({ reportedAt: OPENED + 61_000 }, OPENED + 2 * HOUR)).toBe('認識から 2 分で報告 / reported 2 min after recognition');
  });

  it('says the same for a report just after the deadline, and for the last and first minute around it', () => {
    expect(words({ reportedAt: OPENED + HOUR + 5_000 }, OPENED + 2 * HOUR)).toBe('期限の直後（1 分以内）に報告 / reported within 1 min after the deadline');
    expect(words({ reportedAt: OPENED + HOUR + 90_000 }, OPENED + 2 * HOUR)).toBe('期限の 2 分後に報告 / reported 2 min after the deadline');
    expect(words({}, OPENED + HOUR - 5_000)).toBe('残り 1 分未満 / less than 1 min left');
    expect(words({}, OPENED + HOUR - 65_000)).toBe('残り 2 分 / 2 min left');
    expect(words({}, OPENED + HOUR + 5_000)).toBe('期限を超過（1 分未満） / overdue by less than 1 min');
    expect(words({}, OPENED + HOUR + 61_000)).toBe('期限を 2 分超過 / overdue by 2 min');
  });
});
