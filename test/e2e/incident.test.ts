import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../src/audit/incident-types.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { openAuditChain } from '../../src/audit/open.js';
import { MessageModel } from '../../src/message/model.js';
import { SqliteIncidentStore } from '../../src/store/sqlite-incidents.js';
import { client, run, sendRaw } from '../support/client.js';
import { type TestGateway, startGatewayWithWeb, tempDir } from '../support/gateway.js';
import { withAttachments } from '../support/mime.js';
import { releaseLinkOf } from '../support/notices.js';
import { type Received, type Sink, startSink } from '../support/sink.js';
import { postForm } from '../web/fixture.js';
import { until } from '../support/wait.js';

const CONTACT = 'madoguchi@client.example.lg.jp';
const noticeKind = (m: Received) => /^X-Outguard-Notice: (\S+)/m.exec(m.raw.toString('latin1').split('\r\n\r\n')[0]!)?.[1];
const incidentOf = (m: Received) => /^X-Outguard-Incident: (\S+)/m.exec(m.raw.toString('latin1').split('\r\n\r\n')[0]!)?.[1];
const textOf = (m: Received) => MessageModel.parse(m.raw).textParts.join('\n');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// executables are refused and open an incident; other attachments to outside are held for the sender
const POLICY = `rules:
  - id: attachment-type
    clause: 遵守事項 第6-1
    check: attachment-type
    action: reject
    incident: true
    message: { ja: 実行ファイルは送信できません。, en: executable attachment }
  - id: external-attachment
    clause: 遵守事項 第6-1
    check: external-attachment
    action: hold
    message: { ja: 添付ファイルを確認してください。, en: check the attachments }
`;

describe('incidents on a running gateway (遵守事項 第2)', () => {
  let sink: Sink;
  let gw: TestGateway;
  let incidents: SqliteIncidentStore;

  beforeAll(async () => {
    sink = await startSink();
    const dir = tempDir();
    const policy = path.join(dir, 'incident-policy.yaml');
    fs.writeFileSync(policy, POLICY);
    gw = await startGatewayWithWeb(sink, {
      policy,
      compliance: { clientContact: [CONTACT], from: 'postmaster@example.co.jp', reportSenderMistakes: true },
    });
    incidents = SqliteIncidentStore.open(gw.dataDir);
  });
  afterAll(async () => {
    await incidents?.close();
    await gw?.stop();
    await sink?.close();
  });

  const send = async (to: string, raw: Buffer) => {
    const t = client(gw.smtp.port);
    try {
      return await sendRaw(t, 'taro@example.co.jp', [to], raw);
    } finally {
      t.close();
    }
  };
  const incidentFor = (messageId: string, ready: (i: Incident) => boolean = () => true) =>
    until(async () => (await incidents.list({ messageId })).find(ready));
  const reportFor = (id: string) => until(() => sink.messages.find((m) => noticeKind(m) === 'incident' && incidentOf(m) === id));

  it('a rule marked incident: true opens one; the client contact gets the JA/EN report with the 60-minute deadline and the attachment hash, and the incident is reported by outguard', async () => {
    const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 1)]);
    const result = await send('suzuki@partner.example', withAttachments({ headers: ['From: taro@example.co.jp', 'To: suzuki@partner.example', 'Subject: ツール送付'], files: [{ name: 'tool.exe', content: exe }] }));
    expect(result.code).toBe(550);
    expect(result.response).toMatch(/attachment-type/);
    const messageId = (await until(async () => {
      const store = SqliteAuditStore.open(gw.dataDir);
      const rejected = (await store.list({ type: 'rejected' }))[0];
      await store.close();
      return rejected;
    })).messageId!;

    const incident = await incidentFor(messageId);
    expect(incident).toMatchObject({ trigger: 'rule', openedBy: 'policy:attachment-type', message: { state: 'not-sent', subject: 'ツール送付' } });
    const report = await reportFor(incident.id);
    expect(report.to).toEqual([CONTACT]);
    expect(report.raw.toString('latin1')).toMatch(new RegExp(`^X-Outguard-Ref: ${messageId}\\r$`, 'm'));
    const text = textOf(report);
    for (const s of [incident.id, 'ツール送付', 'suzuki@partner.example', 'tool.exe', `SHA-256: ${sha256(exe)}`, '認識から60分以内', 'within 60 minutes', '送信されていません', 'Message: not sent', '遵守事項 第6-1']) {
      expect(text).toContain(s);
    }
    // the rule and who opened the incident in words: the client never reads a rule id or an actor id
    for (const s of ['検知した規則: 実行ファイルなど危険な添付ファイル', 'Rules: Executable or disguised attachment', '登録者: 規則「実行ファイルなど危険な添付ファイル」（自動）']) expect(text).toContain(s);
    expect(text).not.toMatch(/attachment-type|policy:/);
    expect(text.indexOf('報告期限')).toBeLessThan(text.indexOf('Report due by'));

    const reported = await incidentFor(messageId, (i) => i.reportedAt !== undefined);
    expect(reported).toMatchObject({ reportedBy: 'outguard (for policy:attachment-type)', reportedHow: 'notified', notifiedTo: [CONTACT] });
    expect(reported.reportedAt! - reported.openedAt).toBeLessThan(60 * 60_000);
  });

  it('with compliance.reportSenderMistakes, 間違いだった (confirmed) on the release page opens an incident by the sender, and reports it', async () => {
    const doc = Buffer.from('%PDF-1.4 見積\n');
    const held = await send('suzuki@partner.example', withAttachments({ headers: ['From: taro@example.co.jp', 'To: suzuki@partner.example', 'Subject: 見積書（誤送信）'], files: [{ name: '見積書.pdf', content: doc }] }));
    expect(held.response).toMatch(/held for confirmation as/);
    const messageId = /as (\S+)$/.exec(held.response)![1]!;
    const confirm = await until(() => sink.messages.find((m) => noticeKind(m) === 'confirm' && m.raw.includes(messageId)));
    const link = releaseLinkOf(confirm.raw)!;

    const page = await fetch(link);
    const cookie = page.headers.getSetCookie()[0]!.split(';')[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const ask = await postForm(`${link}/discard`, { csrf, mistake: '1' }, { cookie });
    expect(await ask.text()).toContain('発注者の窓口へ報告メールが自動で送られます。');
    const res = await postForm(`${link}/discard`, { csrf, mistake: '1', confirm: '1' }, { cookie });
    expect(res.status).toBe(200);

    const incident = await incidentFor(messageId);
    expect(incident).toMatchObject({
      trigger: 'mistake',
      openedBy: 'taro@example.co.jp',
      message: { state: 'not-sent', password: 'not-applicable', attachments: [{ name: '見積書.pdf', sha256: sha256(doc) }] },
    });
    const text = textOf(await reportFor(incident.id));
    expect(text).toContain('「間違いだった」');
    expect(text).toContain('見積書（誤送信）');
    await incidentFor(messageId, (i) => i.reportedBy === 'outguard (for taro@example.co.jp)');
    expect(sink.messages.some((m) => m.to.includes('suzuki@partner.example'))).toBe(false);
  });

  it('outguard incident open while the gateway runs: the running gateway sends the report', async () => {
    const sent = await send('colleague@example.co.jp', Buffer.from('From: taro@example.co.jp\r\nTo: colleague@example.co.jp\r\nSubject: 社内連絡\r\n\r\nhello\r\n'));
    expect(sent.ok).toBe(true);
    const messageId = /delivered as (\S+)$/.exec(sent.response)![1]!;
    await new Promise((r) => setTimeout(r, 300)); // the audit writer batches for 200 ms
    const out = await run('node', [path.resolve('bin/outguard.js'), 'incident', 'open', '--message', messageId, '--reason', '社外秘を社内の別部署へ送った', '--by', 'reviewer1', '--config', gw.config.source]);
    expect(out.code, out.stderr).toBe(0);
    const id = /^opened (\S+);/.exec(out.stdout)![1]!;
    const text = textOf(await reportFor(id)); // the gateway's outbox polls every 10 s at most
    expect(text).toContain('社外秘を社内の別部署へ送った');
    expect(text).toContain('Message: sent');
    expect(text).toContain('Password notice: not applicable');
    await incidentFor(messageId, (i) => i.reportedBy === 'outguard (for reviewer1)');
  }, 30000);

  it('writes incident-opened and incident-reported with the incident id as detail, and the chain verifies', async () => {
    await new Promise((r) => setTimeout(r, 300));
    // the gateway's keyed chain: verified with its key, against its anchor
    const store = openAuditChain(gw.config, { readOnly: true });
    const opened = await store.list({ type: 'incident-opened' });
    const reported = await store.list({ type: 'incident-reported' });
    const verification = await store.verify();
    await store.close();
    const ids = (await incidents.list()).map((i) => i.id).sort();
    expect(opened.map((e) => e.detail).sort()).toEqual(ids);
    expect(reported.map((e) => e.detail).sort()).toEqual(ids);
    expect(new Set(opened.map((e) => e.action))).toEqual(new Set(['rule', 'mistake', 'manual']));
    expect(reported.every((e) => e.action === 'notified')).toBe(true);
    expect(verification.ok).toBe(true);
  });
});
