import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageModel } from '../../src/message/model.js';
import { loadSecretKey } from '../../src/store/secret-key.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { client, sendRaw } from '../support/client.js';
import { DEFAULT_POLICY, type TestGateway, startGatewayWithWeb } from '../support/gateway.js';
import { withAttachments } from '../support/mime.js';
import { headerOf, releaseByApi, releaseLinkOf } from '../support/notices.js';
import { writePolicy } from '../support/policy.js';
import { type Sink, startSink } from '../support/sink.js';
import { until } from '../support/wait.js';

/**
 * A released hold goes out the way direct mail does (one plan, one pipeline): the policy learns
 * its domain, the profile's password delay holds, and the audit log records it as encrypted.
 */
describe('a released hold takes the path direct mail takes', () => {
  let sink: Sink;
  let gw: TestGateway;

  beforeAll(async () => {
    sink = await startSink();
    // the shipped policy, plus a profile: the password goes to the recipients 30 minutes after the ZIP
    const shipped = fs.readFileSync(DEFAULT_POLICY, 'utf8').replace(/lists\/([a-z-]+\.txt)/g, (_m, f: string) => path.join(path.dirname(DEFAULT_POLICY), 'lists', f));
    const policy = writePolicy(`${shipped}\nencryption:\n  profiles:\n    - domains: [newcorp.example]\n      password: { to: recipients, delayMinutes: 30 }\n`);
    gw = await startGatewayWithWeb(sink, { policy });
  });
  afterAll(async () => {
    await gw.stop();
    await sink.close();
  });

  async function send(raw: Buffer): Promise<string> {
    const t = client(gw.smtp.port);
    const result = await sendRaw(t, 'taro@example.co.jp', ['yamada@newcorp.example'], raw);
    t.close();
    return result.response;
  }

  async function linkOf(id: string): Promise<string> {
    const confirm = await until(() => sink.messages.find((m) => headerOf(m.raw, 'X-Outguard-Notice') === 'confirm' && m.raw.includes(id)));
    return releaseLinkOf(confirm.raw)!;
  }

  async function release(id: string): Promise<void> {
    const res = await releaseByApi(await linkOf(id));
    expect(res.status).toBe(200);
  }

  it('learns the domain: after one released message, the next one to that domain is not held as first-time', async () => {
    const first = await send(Buffer.from('From: taro@example.co.jp\r\nTo: yamada@newcorp.example\r\nSubject: はじめまして\r\n\r\nよろしくお願いします。\r\n'));
    expect(first).toMatch(/held for confirmation as/);
    const id = /as (\S+)$/.exec(first)![1]!;
    expect(gw.logs.find((l) => l.msg === 'message' && l.id === id)).toMatchObject({ rules: expect.arrayContaining(['first-time-domain']) });
    await release(id);
    await until(() => sink.messages.find((m) => m.to.includes('yamada@newcorp.example') && headerOf(m.raw, 'X-Outguard-Id') === id));
    // the history learns from the outbox's delivery event: give it the moment it takes
    const second = await until(async () => {
      const r = await send(Buffer.from(`From: taro@example.co.jp\r\nTo: yamada@newcorp.example\r\nSubject: 二通目 ${Date.now()}\r\n\r\n続きです。\r\n`));
      return /delivered as/.test(r) ? r : undefined;
    }, 5000, 'the second message delivered without a hold');
    expect(second).toMatch(/^250 /);
  });

  it("sends the ZIP at once and the password to the recipients only after the profile's delay, and records it as encrypted", async () => {
    const raw = withAttachments({ headers: ['From: taro@example.co.jp', 'To: yamada@newcorp.example', 'Subject: 見積書'], files: [{ name: '見積書.pdf', content: Buffer.from('%PDF-1.4 見積 '.repeat(40)) }] });
    const response = await send(raw);
    expect(response).toMatch(/held for confirmation as/);
    const id = /as (\S+)$/.exec(response)![1]!;
    await release(id);
    const copy = await until(() => sink.messages.find((m) => m.to.includes('yamada@newcorp.example') && headerOf(m.raw, 'X-Outguard-Id') === id));
    expect(MessageModel.parse(copy.raw).files.map((f) => f.filename)).toEqual(['attachments.zip']);
    // the notice waits in the outbox, due 30 minutes after its copy was accepted
    const store = SqliteOutboxStore.open(gw.dataDir, loadSecretKey(gw.dataDir, {}).key);
    const audit = SqliteAuditStore.open(gw.dataDir);
    try {
      const sentCopy = await until(async () => (await store.list({ ref: id })).find((j) => j.kind === 'message' && j.state === 'sent'));
      const notice = (await store.list({ ref: id })).find((j) => j.kind === 'password-notice')!;
      expect(notice).toMatchObject({ state: 'ready', envelope: { to: ['yamada@newcorp.example'] } });
      expect(notice.notBefore - sentCopy.sentAt!).toBe(30 * 60_000);
      expect(sink.messages.some((m) => headerOf(m.raw, 'X-Outguard-Notice') === 'password' && headerOf(m.raw, 'X-Outguard-Ref') === id)).toBe(false);
      // the audit log: released by the sender, then delivered encrypted by the outbox, with the file's SHA-256
      const events = await until(async () => {
        const list = await audit.list({ messageId: id });
        return list.some((e) => e.type === 'encrypted') ? list : undefined;
      });
      expect(events.map((e) => e.type)).toEqual(['held', 'released', 'encrypted']);
      expect(events.at(-1)!.attachments).toEqual([{ name: '見積書.pdf', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    } finally {
      await store.close();
      await audit.close();
    }
  });

  it('holds a message clients could read differently; the release page says what was ambiguous, in Japanese and English; released, it leaves whole inside the ZIP', async () => {
    const raw = Buffer.from(
      [
        'From: taro@example.co.jp', 'To: yamada@newcorp.example', 'Subject: two types', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '',
        '--b', 'Content-Type: text/plain', '', 'see the file', '--b',
        'Content-Type: text/plain', 'Content-Type: application/pdf; name="secret.pdf"', 'Content-Transfer-Encoding: base64', '', Buffer.from('%PDF-1.4 secret figures').toString('base64'),
        '--b--', '',
      ].join('\r\n'),
    );
    const response = await send(raw);
    expect(response).toMatch(/held for confirmation as/);
    const id = /as (\S+)$/.exec(response)![1]!;
    expect(gw.logs.find((l) => l.msg === 'message' && l.id === id)).toMatchObject({ rules: expect.arrayContaining(['ambiguous-mime']), clauses: expect.arrayContaining(['遵守事項 第6-2']) });
    const page = await (await fetch(await linkOf(id))).text();
    expect(page).toContain('構造があいまいなメール<span class="en" lang="en">Ambiguous message structure</span>');
    expect(page).toContain('メールの構造があいまい');
    expect(page).toContain('同じ種類のMIMEヘッダーが内容を変えて2つあります');
    expect(page).toContain('two different Content-Type headers in part 2');
    await release(id);
    const copy = await until(() => sink.messages.find((m) => m.to.includes('yamada@newcorp.example') && headerOf(m.raw, 'X-Outguard-Id') === id));
    const sent = MessageModel.parse(copy.raw);
    expect(sent.files.map((f) => f.filename)).toEqual(['attachments.zip']);
    expect(sent.textParts.join('')).toContain('全体を暗号化ZIP');
    expect(copy.raw.includes(Buffer.from('%PDF-1.4 secret figures').toString('base64'))).toBe(false);
  });
});

describe('a released copy the next hop refuses for good', () => {
  let sink: Sink;
  let gw: TestGateway;
  beforeAll(async () => {
    sink = await startSink({ refuseRecipients: ['gone@newcorp.example'] });
    gw = await startGatewayWithWeb(sink);
  });
  afterAll(async () => {
    await gw.stop();
    await sink.close();
  });

  it('tells the sender by a non-delivery notice from the outbox, as for recipients refused while the client waited', async () => {
    const t = client(gw.smtp.port);
    const response = (await sendRaw(t, 'taro@example.co.jp', ['gone@newcorp.example'], Buffer.from('From: taro@example.co.jp\r\nTo: gone@newcorp.example\r\nSubject: 初めてのご連絡\r\n\r\nよろしくお願いします。\r\n'))).response;
    t.close();
    expect(response).toMatch(/held for confirmation as/);
    const id = /as (\S+)$/.exec(response)![1]!;
    const confirm = await until(() => sink.messages.find((m) => headerOf(m.raw, 'X-Outguard-Notice') === 'confirm' && m.raw.includes(id)));
    expect((await releaseByApi(releaseLinkOf(confirm.raw)!)).status).toBe(200);
    const notice = await until(() => sink.messages.find((m) => headerOf(m.raw, 'X-Outguard-Notice') === 'non-delivery'), 15_000, 'the non-delivery notice');
    expect(notice.to).toEqual(['taro@example.co.jp']);
    expect(headerOf(notice.raw, 'X-Outguard-Ref')).toBe(id);
    const body = MessageModel.parse(notice.raw).textParts.join('');
    expect(body).toContain('gone@newcorp.example');
    expect(body).toMatch(/550/);
    expect(sink.messages.some((m) => m.to.includes('gone@newcorp.example'))).toBe(false);
  });
});
