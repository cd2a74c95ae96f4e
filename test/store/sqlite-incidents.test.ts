import { afterEach, describe, expect, it } from 'vitest';
import { DuplicateIncidentError, type NewIncident, incidentStatus, isIncidentId, newIncidentId } from '../../src/audit/incident-types.js';
import { SqliteIncidentStore } from '../../src/store/sqlite-incidents.js';
import { tempDir } from '../support/gateway.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-26T01:00:00.000Z'); // 10:00 in Japan

function incident(id: string, openedAt = T0, extra: Partial<NewIncident> = {}): NewIncident {
  return {
    id,
    messageId: `msg-${id}`,
    openedAt,
    deadline: openedAt + 60 * MINUTE,
    trigger: 'manual',
    openedBy: 'reviewer1',
    summary: '誤送信 / wrong recipient',
    message: {
      sender: 'taro@example.co.jp',
      recipients: ['x@partner.example'],
      subject: '見積書',
      attachments: [{ name: '見積書.pdf', sha256: 'a'.repeat(64) }],
      rules: ['external-attachment'],
      clauses: ['遵守事項 第6-1'],
      state: 'sent',
      password: 'pending',
    },
    ...extra,
  };
}

describe('SqliteIncidentStore', () => {
  const open: SqliteIncidentStore[] = [];
  const store = (dir = tempDir()) => {
    const s = SqliteIncidentStore.open(dir);
    open.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  it('stores an incident and reads it back exactly, and refuses a second one with the same id', async () => {
    const s = store();
    await s.create(incident('INC-20261126-aaaaaa'));
    expect(await s.get('INC-20261126-aaaaaa')).toEqual(incident('INC-20261126-aaaaaa'));
    await expect(s.create(incident('INC-20261126-aaaaaa'))).rejects.toBeInstanceOf(DuplicateIncidentError);
    expect(await s.get('INC-nope')).toBeNull();
  });

  it('lists newest first, only the unreported with open, and by message', async () => {
    const s = store();
    await s.create(incident('INC-1', T0));
    await s.create(incident('INC-2', T0 + MINUTE));
    await s.create(incident('INC-3', T0 + 2 * MINUTE));
    expect(await s.markReported('INC-2', { at: T0 + 10 * MINUTE, by: 'hanako', how: 'recorded', note: '電話で報告' })).toBe(true);
    expect((await s.list()).map((i) => i.id)).toEqual(['INC-3', 'INC-2', 'INC-1']);
    expect((await s.list({ open: true })).map((i) => i.id)).toEqual(['INC-3', 'INC-1']);
    expect((await s.list({ messageId: 'msg-INC-1' })).map((i) => i.id)).toEqual(['INC-1']);
    expect((await s.list({ limit: 1 })).map((i) => i.id)).toEqual(['INC-3']);
  });

  it('records a report once: a second report does not overwrite who reported and when', async () => {
    const s = store();
    await s.create(incident('INC-1'));
    expect(await s.markReported('INC-1', { at: T0 + 5 * MINUTE, by: 'hanako', how: 'recorded', note: '電話' })).toBe(true);
    expect(await s.markReported('INC-1', { at: T0 + 6 * MINUTE, by: 'outguard (for reviewer1)', how: 'notified' })).toBe(false);
    expect(await s.get('INC-1')).toMatchObject({ reportedAt: T0 + 5 * MINUTE, reportedBy: 'hanako', reportedHow: 'recorded', reportNote: '電話' });
  });

  it('keeps the notification: queued, failed, then sent', async () => {
    const s = store();
    await s.create(incident('INC-1'));
    await s.setNotice('INC-1', 'notice-1');
    await s.markNoticeFailed('INC-1', '550 no such user');
    expect(await s.get('INC-1')).toMatchObject({ noticeId: 'notice-1', noticeError: '550 no such user' });
    await s.markNotified('INC-1', T0 + MINUTE, ['contact@client.example']);
    const after = await s.get('INC-1');
    expect(after).toMatchObject({ notifiedAt: T0 + MINUTE, notifiedTo: ['contact@client.example'] });
    expect(after?.noticeError).toBeUndefined();
  });

  it('finds the unreported incidents past their deadline once, across two connections', async () => {
    const dir = tempDir();
    const a = store(dir);
    const b = store(dir);
    await a.create(incident('INC-late', T0));
    await a.create(incident('INC-later', T0 + 30 * MINUTE));
    await a.create(incident('INC-done', T0));
    await a.markReported('INC-done', { at: T0 + MINUTE, by: 'x', how: 'recorded' });
    expect(await a.nextDeadline()).toBe(T0 + 60 * MINUTE);
    expect((await a.overdueUnwarned(T0 + 61 * MINUTE, 10)).map((i) => i.id)).toEqual(['INC-late']);
    expect(await a.markOverdueWarned('INC-late', T0 + 61 * MINUTE)).toBe(true);
    expect(await b.markOverdueWarned('INC-late', T0 + 61 * MINUTE)).toBe(false);
    expect(await b.overdueUnwarned(T0 + 61 * MINUTE, 10)).toEqual([]);
    expect(await b.nextDeadline()).toBe(T0 + 90 * MINUTE);
  });

  it('refuses an incident without a trigger it knows or with a deadline before it was opened', async () => {
    const s = store();
    await expect(s.create({ ...incident('INC-1'), trigger: 'other' as 'manual' })).rejects.toThrow(/unknown trigger/);
    await expect(s.create({ ...incident('INC-2'), deadline: T0 - 1 })).rejects.toThrow(/deadline/);
  });
});

describe('incident ids and status', () => {
  it('makes INC-YYYYMMDD-xxxxxx ids with the date in Japan time', () => {
    const id = newIncidentId(Date.parse('2026-11-25T15:30:00.000Z')); // 00:30 on the 26th in Japan
    expect(id).toMatch(/^INC-20261126-[a-z2-9]{6}$/);
    expect(isIncidentId(id)).toBe(true);
    expect(isIncidentId('0mwwyuoxd-xpah76pdvm')).toBe(false);
  });

  it('is open, then overdue; reported in time, or reported late', () => {
    const i = { deadline: T0 + 60 * MINUTE };
    expect(incidentStatus(i, T0 + 59 * MINUTE)).toBe('open');
    expect(incidentStatus(i, T0 + 61 * MINUTE)).toBe('overdue');
    expect(incidentStatus({ ...i, reportedAt: T0 + 42 * MINUTE }, T0 + 120 * MINUTE)).toBe('reported');
    expect(incidentStatus({ ...i, reportedAt: T0 + 75 * MINUTE }, T0 + 120 * MINUTE)).toBe('reported-late');
  });
});
