import { createHash } from 'node:crypto';
import { afterEach, assert, describe, expect, it } from 'vitest';
import { messageLookup } from '../../src/audit/incident-message.js';
import type { Incident } from '../../src/audit/incident-types.js';
import { IncidentService } from '../../src/audit/incidents.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { auditWriter } from './fixtures.js';
import { Outbox } from '../../src/delivery/outbox.js';
import { SmtpHop } from '../../src/delivery/smtp-hop.js';
import { createLogger } from '../../src/log.js';
import { MessageModel } from '../../src/message/model.js';
import type { Finding } from '../../src/policy/verdict.js';
import { loadSecretKey } from '../../src/store/secret-key.js';
import { SqliteIncidentStore } from '../../src/store/sqlite-incidents.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import { tempDir } from '../support/gateway.js';
import { withAttachments } from '../support/mime.js';
import { type Received, type SinkOptions, startSink } from '../support/sink.js';
import { until } from '../support/wait.js';

const MINUTE = 60_000;
const SHA = 'b'.repeat(64);
const CONTACT = 'madoguchi@client.example.lg.jp';

/** The incident service as src/service.ts builds it, on real stores in a temp dir, its outbox sending to a real SMTP sink. */
async function setup(options: { clientContact?: string[]; sink?: SinkOptions; now?: () => number } = {}) {
  const dir = tempDir();
  const sink = await startSink(options.sink);
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const key = loadSecretKey(dir, {}).key;
  const outboxStore = SqliteOutboxStore.open(dir, key);
  const auditStore = SqliteAuditStore.open(dir);
  const audit = await auditWriter(auditStore, dir, logger);
  const store = SqliteIncidentStore.open(dir);
  const hop = new SmtpHop({ kind: 'smtp', host: '127.0.0.1', port: sink.port, secure: false, url: `smtp://127.0.0.1:${sink.port}` }, { maxConnections: 2, timeoutMs: 5000, tls: 'off', auth: null }, 'gw.example.co.jp');
  const service: IncidentService = new IncidentService({
    store,
    outboxStore,
    outbox: { kick: () => outbox.kick() },
    audit,
    logger,
    lookup: messageLookup({ audit: auditStore }),
    compliance: { clientContact: options.clientContact ?? [CONTACT], incidentMinutes: 60, from: 'postmaster@gw.example.co.jp' },
    ...(options.now ? { now: options.now } : {}),
  });
  const outbox = new Outbox({
    store: outboxStore,
    hop,
    logger,
    pollMs: 100,
    onSent: (job, accepted) => service.noticeSent(job, accepted),
    onFailed: (job, error) => service.noticeFailed(job, error),
  });
  await outbox.start();
  const events = async () => {
    await audit.flush();
    return auditStore.list();
  };
  const close = async () => {
    await service.stop();
    await outbox.stop();
    await audit.stop();
    await hop.close();
    await Promise.all([store.close(), auditStore.close(), outboxStore.close(), sink.close()]);
  };
  return { dir, sink, logs, service, store, outboxStore, auditStore, events, close };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** Waits until the stored incident satisfies `ready`. */
async function incidentWhen(s: Setup, id: string, ready: (i: Incident) => boolean): Promise<Incident> {
  return until(async () => {
    const i = await s.service.get(id);
    return i && ready(i) ? i : undefined;
  });
}

const textOf = (m: Received) => MessageModel.parse(m.raw).textParts.join('\n');

/** A message the gateway delivered encrypted, as its audit event and its password notice (sent) record it. */
async function deliveredEncrypted(s: Setup, id: string, passwordJob: 'sent' | 'ready' | 'none' = 'sent') {
  await s.auditStore.append({
    type: 'encrypted',
    messageId: id,
    sender: 'taro@example.co.jp',
    recipients: ['suzuki@wrong.example'],
    subject: '個人情報一覧',
    attachments: [{ name: '名簿.xlsx', sha256: SHA }],
    rules: ['external-attachment'],
    clauses: ['遵守事項 第6-1'],
    action: 'deliver',
    actor: '127.0.0.1',
  });
  if (passwordJob === 'none') return;
  await s.outboxStore.enqueue({ id: `pw-${id}`, kind: 'password-notice', ref: id, envelope: { from: '', to: ['taro@example.co.jp'] }, raw: Buffer.from('Subject: pw\r\n\r\nPassword: not-in-any-report\r\n') }, 'waiting');
  if (passwordJob === 'sent') await s.outboxStore.markSent(`pw-${id}`);
}

describe('IncidentService', () => {
  const running: Setup[] = [];
  const start = async (options?: Parameters<typeof setup>[0]) => {
    const s = await setup(options);
    running.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of running.splice(0)) await s.close();
  });

  it('opens an incident and reports it to the client contact at once, in Japanese then English; the report accepted, the incident is reported by outguard', async () => {
    const s = await start();
    await deliveredEncrypted(s, 'msg-1');
    const before = Date.now();
    const opened = await s.service.open({ messageId: 'msg-1', reason: '宛先を誤って送信した / sent to the wrong address', by: 'reviewer1' });
    if (!('incident' in opened)) throw new Error(opened.detail);
    const { incident } = opened;
    expect(incident.id).toMatch(/^INC-\d{8}-[a-z2-9]{6}$/);
    expect(incident.deadline - incident.openedAt).toBe(60 * MINUTE);
    expect(incident.openedAt).toBeGreaterThanOrEqual(before);

    const [mail] = await s.sink.waitFor(1);
    expect(mail!.to).toEqual([CONTACT]);
    expect(mail!.from).toBe('postmaster@gw.example.co.jp');
    const head = mail!.raw.toString('latin1').split('\r\n\r\n')[0]!;
    expect(head).toMatch(/^X-Outguard-Notice: incident$/m);
    expect(head).toMatch(/^X-Outguard-Ref: msg-1$/m);
    expect(head).toMatch(/^X-Outguard-Id: \S+$/m);
    const text = textOf(mail!);
    expect(text.indexOf('インシデント番号')).toBeLessThan(text.indexOf('Incident:'));
    for (const part of [
      incident.id,
      '宛先を誤って送信した',
      '認識から60分以内',
      'within 60 minutes of recognition',
      'suzuki@wrong.example',
      '個人情報一覧',
      '名簿.xlsx',
      `SHA-256: ${SHA}`,
      'パスワード通知: 送信済み',
      'Password notice: sent',
      '遵守事項 第6-1',
      'reviewer1',
      '自動で作成・送信しました',
      // a number the client can quote; the reviewer pages are internal: no link to them
      `お問い合わせの際は、インシデント番号 ${incident.id} をお伝えください。`,
      `Please quote the incident number ${incident.id} in any reply.`,
    ]) {
      expect(text).toContain(part);
    }
    expect(text).not.toMatch(/https?:\/\/|\/review\//);
    expect(mail!.raw.toString()).not.toContain('not-in-any-report');

    const reported = await incidentWhen(s, incident.id, (i) => i.reportedAt !== undefined);
    expect(reported).toMatchObject({ reportedBy: 'outguard (for reviewer1)', reportedHow: 'notified', notifiedTo: [CONTACT] });
    expect(s.service.status(reported)).toBe('reported');
    const events = await s.events();
    expect(events.find((e) => e.type === 'incident-opened')).toMatchObject({
      messageId: 'msg-1',
      sender: 'taro@example.co.jp',
      recipients: ['suzuki@wrong.example'],
      subject: '個人情報一覧',
      attachments: [{ name: '名簿.xlsx', sha256: SHA }],
      rules: ['external-attachment'],
      clauses: ['遵守事項 第6-1'],
      action: 'manual',
      actor: 'reviewer1',
      detail: incident.id,
    });
    expect(events.find((e) => e.type === 'incident-reported')).toMatchObject({ messageId: 'msg-1', action: 'notified', actor: 'outguard (for reviewer1)', detail: incident.id });
    expect(JSON.stringify(s.logs)).not.toContain('not-in-any-report');
  });

  it('says whether the password went out: not yet, or not applicable when nothing was encrypted', async () => {
    const s = await start({ clientContact: [] });
    await deliveredEncrypted(s, 'msg-pending', 'ready');
    await s.auditStore.append({ type: 'delivered', messageId: 'msg-plain', sender: 'a@example.co.jp', recipients: ['b@x.example'], subject: 'plain', action: 'deliver' });
    const pending = await s.service.open({ messageId: 'msg-pending', reason: 'r', by: 'u' });
    const plain = await s.service.open({ messageId: 'msg-plain', reason: 'r', by: 'u' });
    expect('incident' in pending && pending.incident.message?.password).toBe('pending');
    expect('incident' in plain && plain.incident.message?.password).toBe('not-applicable');
    if ('incident' in pending) expect(s.service.reportText(pending.incident)).toContain('まだ送信されていません（送信待ち）');
  });

  it('without a client contact records the incident, sends nothing, and takes a report made by phone; a second report is refused', async () => {
    const s = await start({ clientContact: [] });
    await deliveredEncrypted(s, 'msg-2');
    const opened = await s.service.open({ messageId: 'msg-2', reason: '誤送信', by: 'reviewer1' });
    if (!('incident' in opened)) throw new Error(opened.detail);
    expect(opened.incident.noticeId).toBeUndefined();
    expect(s.logs.some((l) => String(l.msg).includes('no compliance.clientContact'))).toBe(true);
    // the report to pass on by hand does not claim outguard sent it
    expect(s.service.mailsReports).toBe(false);
    const text = s.service.reportText(opened.incident);
    expect(text).toContain('この報告は outguard（送信メールの検査ゲートウェイ）が作成しました。');
    expect(text).toContain('This report was written by outguard, the outbound mail gateway.');
    expect(text).not.toMatch(/自動で作成・送信|written and sent/);
    const r = await s.service.markReported(opened.incident.id, '  hanako  ', '電話で窓口の山田様に報告');
    expect(r).toMatchObject({ incident: { reportedBy: 'hanako', reportedHow: 'recorded', reportNote: '電話で窓口の山田様に報告' } });
    expect(await s.service.markReported(opened.incident.id, 'taro')).toMatchObject({ problem: 'already-reported', detail: expect.stringContaining('by hanako') });
    expect((await s.events()).filter((e) => e.type === 'incident-reported')).toEqual([
      expect.objectContaining({ messageId: 'msg-2', action: 'recorded', actor: 'hanako', detail: opened.incident.id }),
    ]);
    expect(s.sink.messages).toEqual([]);
  });

  it('takes the same report sent twice at once (a double click) as one incident; another reason or person opens another', async () => {
    const s = await start({ clientContact: [] });
    await deliveredEncrypted(s, 'msg-3');
    const first = await s.service.open({ messageId: 'msg-3', reason: '誤送信', by: 'reviewer1' });
    const again = await s.service.open({ messageId: 'msg-3', reason: '誤送信', by: 'reviewer1' });
    if (!('incident' in first) || !('incident' in again)) throw new Error('not opened');
    expect(again.incident.id).toBe(first.incident.id);
    const other = await s.service.open({ messageId: 'msg-3', reason: '添付ファイルの誤り', by: 'reviewer1' });
    if (!('incident' in other)) throw new Error(other.detail);
    expect(other.incident.id).not.toBe(first.incident.id);
    expect((await s.store.list({ messageId: 'msg-3' })).length).toBe(2);
    expect((await s.events()).filter((e) => e.type === 'incident-opened')).toHaveLength(2);
  });

  it('answers clearly for an unknown message, an unknown incident and missing fields', async () => {
    const s = await start();
    expect(await s.service.open({ messageId: 'nope', reason: 'r', by: 'u' })).toMatchObject({ problem: 'unknown-message', detail: expect.stringContaining('nope') });
    expect(await s.service.open({ messageId: 'x', reason: '  ', by: 'u' })).toMatchObject({ problem: 'invalid' });
    expect(await s.service.markReported('INC-20260101-aaaaaa', 'u')).toMatchObject({ problem: 'unknown-incident' });
    expect(await s.store.list()).toEqual([]);
  });

  it('an incident not reported within 60 minutes is overdue: one warning and one incident-overdue event; reported afterwards, it is reported late', async () => {
    let now = Date.parse('2026-11-26T01:00:00.000Z');
    const s = await start({ clientContact: [], now: () => now });
    await deliveredEncrypted(s, 'msg-3');
    const opened = await s.service.open({ messageId: 'msg-3', reason: '誤送信', by: 'reviewer1' });
    if (!('incident' in opened)) throw new Error(opened.detail);
    const { id } = opened.incident;
    now += 59 * MINUTE;
    await s.service.checkOverdue();
    expect(s.service.status((await s.service.get(id))!)).toBe('open');
    now += 2 * MINUTE;
    expect(s.service.status((await s.service.get(id))!)).toBe('overdue');
    await s.service.checkOverdue();
    await s.service.checkOverdue();
    const warnings = s.logs.filter((l) => l.incident === id && String(l.msg).startsWith('incident overdue'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.level).toBe(40);
    expect((await s.events()).filter((e) => e.type === 'incident-overdue')).toEqual([expect.objectContaining({ messageId: 'msg-3', action: 'overdue', actor: 'outguard', detail: id })]);
    expect((await s.service.list({ open: true })).map((i) => i.id)).toEqual([id]);
    now += 10 * MINUTE;
    await s.service.markReported(id, 'hanako');
    expect(s.service.status((await s.service.get(id))!)).toBe('reported-late');
    expect(await s.service.list({ open: true })).toEqual([]);
  });

  it('when the next hop refuses the report, the incident stays open and says so', async () => {
    const s = await start({ sink: { reject: { code: 550, text: 'no such mailbox' } } });
    await deliveredEncrypted(s, 'msg-4');
    const opened = await s.service.open({ messageId: 'msg-4', reason: '誤送信', by: 'reviewer1' });
    if (!('incident' in opened)) throw new Error(opened.detail);
    const failed = await incidentWhen(s, opened.incident.id, (i) => i.noticeError !== undefined);
    expect(failed.noticeError).toMatch(/no such mailbox/);
    expect(failed.reportedAt).toBeUndefined();
    expect(s.logs.some((l) => l.level === 50 && l.incident === opened.incident.id)).toBe(true);
  });

  it('a rule marked incident: true opens one off the SMTP path, with the attachments hashed', async () => {
    const s = await start();
    const content = Buffer.from('社外秘の名簿\n');
    const raw = withAttachments({ headers: ['From: taro@example.co.jp', 'To: x@partner.example', 'Subject: =?UTF-8?B?5ZCN57C/?='], files: [{ name: '名簿.csv', content }] });
    const findings: Finding[] = [
      { rule: 'confidential-word', clause: '遵守事項 第2', severity: 'reject', message: '社外秘 / confidential', reason: 'confidential', value: '社外秘', incident: true },
      { rule: 'external-attachment', clause: '遵守事項 第6-1', severity: 'hold', message: '添付 / attachment', reason: 'attachment', value: 'x' },
    ];
    // the message's bytes go as soon as it is answered (a spool file is removed): the call must take what it needs at once
    let answered = false;
    const source = { length: raw.length, read: (start: number, end: number) => (answered ? assert.fail('read after the answer') : raw.subarray(start, end)) };
    s.service.ruleFired({ messageId: 'msg-5', message: MessageModel.parse(source), envelope: { from: 'taro@example.co.jp', to: ['x@partner.example'] }, findings, action: 'reject' });
    answered = true;
    const [incident] = await until(async () => {
      const list = await s.service.list();
      return list.length > 0 ? list : undefined;
    });
    expect(incident).toMatchObject({
      trigger: 'rule',
      openedBy: 'policy:confidential-word',
      messageId: 'msg-5',
      message: {
        state: 'not-sent',
        password: 'not-applicable',
        attachments: [{ name: '名簿.csv', sha256: createHash('sha256').update(content).digest('hex') }],
        rules: ['confidential-word', 'external-attachment'],
      },
    });
    expect(incident!.summary).toBe('confidential-word: 社外秘 / confidential-word: confidential');
    // the client reads the rules in words (a rule outguard does not know by its id) and who opened it, never an actor id
    const [mail] = await s.sink.waitFor(1);
    const text = MessageModel.parse(mail!.raw).textParts.join('\n');
    expect(text).toContain('検知した規則: confidential-word、社外宛ての添付ファイル');
    expect(text).toContain('Rules: confidential-word, Attachment to an outside address');
    expect(text).toContain('登録者: 規則「confidential-word」（自動）');
    expect(text).toContain('Opened by: the rule "confidential-word" (automatic)');
    expect(text.indexOf('検知した規則')).toBeLessThan(text.indexOf('Rules:'));
    expect(text).not.toMatch(/policy:|external-attachment/);
  });
});
