import { describe, expect, it } from 'vitest';
import { countEvents, decisionsByDay, jstDay, jstDayStart } from '../../src/audit/counts.js';
import type { AuditEvent } from '../../src/audit/events.js';

/** The counting rules the monthly report and the dashboard share, over events as the log gives them. */
let seq = 0;
const event = (time: string, type: string, messageId: string, extra: Partial<AuditEvent> = {}): AuditEvent => ({
  seq: ++seq,
  time,
  type,
  messageId,
  sender: 'taro@example.co.jp',
  rules: ['first-time-domain'],
  prevHash: '',
  hash: '',
  ...extra,
});

describe('counts', () => {
  it('takes days in Japan time', () => {
    expect(jstDay('2026-10-31T14:59:59.999Z')).toBe('2026-10-31');
    expect(jstDay('2026-10-31T15:00:00.000Z')).toBe('2026-11-01');
    expect(new Date(jstDayStart(Date.parse('2026-10-31T16:00:00.000Z'))).toISOString()).toBe('2026-10-31T15:00:00.000Z');
  });

  it('counts today within the month, a decision undone by its deferral the next day in neither', () => {
    // late on 1 October (JST) delivered, then deferred after midnight: the try did not happen
    const events = [
      event('2026-10-01T14:59:00.000Z', 'delivered', 'a'),
      event('2026-10-01T15:00:30.000Z', 'deferred', 'a', { action: 'tempfail' }),
      event('2026-10-01T15:01:00.000Z', 'delivered', 'b'),
      event('2026-10-01T15:02:00.000Z', 'held', 'c', { sender: '' }),
      // the outbox's delivery of a released copy names no sender: an event, not a message
      event('2026-10-01T15:03:00.000Z', 'delivered', 'c', { sender: undefined, rules: undefined }),
    ];
    const today = Date.parse('2026-10-01T15:00:00.000Z');
    const month = countEvents(events);
    expect(month.messages).toBe(2);
    expect(month.byAction).toEqual([
      { key: 'delivered', count: 2 },
      { key: 'deferred', count: 1 },
      { key: 'held', count: 1 },
    ]);
    expect(month.bySenderDomain).toEqual([
      { key: '<>', count: 1 },
      { key: 'example.co.jp', count: 1 },
    ]);
    // everything but the undone decision fell on 2 October in Japan: today's counts are the month's
    expect(countEvents(events, today)).toEqual(month);
    expect(countEvents(events, Date.parse('2026-10-01T15:01:30.000Z')).messages).toBe(1);

    const days = decisionsByDay(events, new Date('2026-09-30T15:00:00.000Z'), new Date('2026-10-02T15:00:00.000Z'));
    expect(days).toEqual([
      { day: '2026-10-01', delivered: 0, encrypted: 0, held: 0, rejected: 0 },
      { day: '2026-10-02', delivered: 1, encrypted: 0, held: 1, rejected: 0 },
    ]);
  });
});
