import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { DEFAULT_POLICY, gatewayWithSink, startGateway } from '../support/gateway.js';
import { type Sink, startSink } from '../support/sink.js';
import { withAttachments } from '../support/mime.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import type { AuditEvent } from '../../src/audit/events.js';
import { createHash } from 'node:crypto';
import { until } from '../support/wait.js';

/** Notices of one kind (X-Outguard-Notice) that reached the sink, once there are n of them. */
async function waitForNotices(sink: Sink, kind: string, n: number) {
  const of = () => sink.messages.filter((m) => new RegExp(`^X-Outguard-Notice: ${kind}\\r?$`, 'mi').test(m.raw.toString('latin1').split('\r\n\r\n')[0]!));
  await until(() => of().length >= n);
  return of();
}

describe('the default policy over SMTP', () => {
  const f = gatewayWithSink({ policy: DEFAULT_POLICY, organization: { internalDomains: ['example.co.jp'], partnerDomains: ['partner.co.jp'] } });

  const send = (to: string[], opts: Parameters<typeof sampleMessage>[0] = {}) =>
    sendRaw(f.transport, 'taro@example.co.jp', to, sampleMessage({ to: to.join(', '), ...opts }));

  async function expectBlocked(result: Awaited<ReturnType<typeof send>>, reply: RegExp) {
    const before = f.sink.messages.length;
    expect(result.code).toBe(550);
    expect(result.response).toMatch(reply);
    await new Promise((r) => setTimeout(r, 100));
    expect(f.sink.messages.length).toBe(before);
  }

  it('rejects mail to a disposable address and nothing reaches the next hop', async () => {
    await expectBlocked(await send(['someone@mailinator.com']), /^550 5\.7\.1 anonymous-recipient: recipient is an anonymous or disposable mail service$/);
    const line = f.gw.logs.filter((l) => l.msg === 'message').at(-1)!;
    expect(line).toMatchObject({ action: 'reject', rules: expect.arrayContaining(['anonymous-recipient']), clauses: expect.arrayContaining(['遵守事項 第6-3']) });
  });

  it('names a rejected attachment with its SHA-256 in the audit log (特記事項 第9)', async () => {
    const content = Buffer.from('MZ not really a program');
    const raw = withAttachments({ headers: ['From: taro@example.co.jp', 'To: colleague@example.co.jp', 'Subject: 請求書'], files: [{ name: '請求書.pdf.exe', content }] });
    const result = await sendRaw(f.transport, 'taro@example.co.jp', ['colleague@example.co.jp'], raw);
    expect(result.response).toMatch(/^550 5\.7\.1 attachment-type: /);
    const id = f.gw.logs.filter((l) => l.msg === 'message').at(-1)!.id as string;
    // the audit writer batches: the event is on disk within a fraction of a second
    let event: AuditEvent | undefined;
    for (let tries = 0; !event && tries < 50; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      const store = SqliteAuditStore.open(f.gw.dataDir);
      event = (await store.list({ messageId: id }).finally(() => store.close()))[0];
    }
    expect(event).toMatchObject({ type: 'rejected', subject: '請求書', rules: ['attachment-type'], attachments: [{ name: '請求書.pdf.exe', sha256: createHash('sha256').update(content).digest('hex') }] });
  });

  it('rejects mail to an online service e-mail-in address (第7)', async () => {
    await expectBlocked(await send(['me@onenote.com']), /^550 5\.7\.1 online-service-recipient: /);
  });

  it('rejects a safelinks-wrapped WeTransfer link', async () => {
    const body = 'ファイルはこちら https://apc01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwe.tl%2Ft-AbCdE&data=05%7C01&reserved=0\r\n';
    await expectBlocked(await send(['colleague@example.co.jp'], { body }), /^550 5\.7\.1 file-transfer-link: message links to an anonymous file-transfer service$/);
  });

  it('holds mail to a first-time domain: 250, nothing to the recipient, one confirmation to the sender', async () => {
    const result = await send(['someone@never-seen.example']);
    expect(result.response).toMatch(/^250 2\.0\.0 Ok: held for confirmation as \S+$/);
    const notices = await waitForNotices(f.sink, 'confirm', 1);
    expect(notices[0]!.to).toEqual(['taro@example.co.jp']);
    expect(f.sink.messages.some((m) => m.to.includes('someone@never-seen.example'))).toBe(false);
    expect(f.gw.logs.filter((l) => l.msg === 'message').at(-1)).toMatchObject({ action: 'hold', rules: ['first-time-domain'] });
  });

  it('delivers clean internal and partner mail, and remembers the partner domain', async () => {
    expect((await send(['colleague@example.co.jp'])).response).toMatch(/delivered as/);
    expect((await send(['tanaka@mail.partner.co.jp'])).response).toMatch(/delivered as/);
    const deliveredTo = (a: string) => f.sink.messages.filter((m) => m.to.includes(a)).length;
    await until(() => deliveredTo('colleague@example.co.jp') === 1 && deliveredTo('tanaka@mail.partner.co.jp') === 1);
    // the policy thread records the delivery just after the 250
    const file = path.join(f.gw.dataDir, 'known-domains.txt');
    const deadline = Date.now() + 5000;
    while (!(fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('partner.co.jp')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const known = fs.readFileSync(file, 'utf8');
    expect(known.split('\n')).toContain('partner.co.jp');
    expect(known).not.toContain('example.co.jp');
  });
});

describe('first-time-domain across a restart', () => {
  it('remembers domains delivered to before', async () => {
    const sink = await startSink();
    const dataDir = fs.mkdtempSync('/tmp/outguard-known-');
    const config = { nextHop: `smtp://127.0.0.1:${sink.port}`, policy: DEFAULT_POLICY, dataDir, organization: { internalDomains: ['example.co.jp'], partnerDomains: ['newpartner.example'] } };
    let gw = await startGateway(config);
    let t = client(gw.smtp.port);
    expect((await sendRaw(t, 'taro@example.co.jp', ['a@newpartner.example'], sampleMessage())).ok).toBe(true);
    t.close();
    await gw.stop();
    // the partner is no longer configured, but it was delivered to: not first-time any more
    gw = await startGateway({ ...config, organization: { internalDomains: ['example.co.jp'] } });
    t = client(gw.smtp.port);
    expect((await sendRaw(t, 'taro@example.co.jp', ['b@newpartner.example'], sampleMessage())).response).toMatch(/delivered as/);
    expect((await sendRaw(t, 'taro@example.co.jp', ['c@other.example'], sampleMessage())).response).toMatch(/held for confirmation/);
    t.close();
    await gw.stop();
    await sink.close();
  });
});
