import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { DEFAULT_POLICY, gatewayWithSink, startGateway } from '../support/gateway.js';
import { startSink } from '../support/sink.js';

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

  it('rejects mail to an online service e-mail-in address (第7)', async () => {
    await expectBlocked(await send(['me@onenote.com']), /^550 5\.7\.1 online-service-recipient: /);
  });

  it('rejects a safelinks-wrapped WeTransfer link', async () => {
    const body = 'ファイルはこちら https://apc01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwe.tl%2Ft-AbCdE&data=05%7C01&reserved=0\r\n';
    await expectBlocked(await send(['colleague@example.co.jp'], { body }), /^550 5\.7\.1 file-transfer-link: message links to an anonymous file-transfer service$/);
  });

  it('answers a hold with 550 until confirmation holds exist', async () => {
    await expectBlocked(await send(['someone@never-seen.example']), /^550 5\.7\.1 first-time-domain: held for confirmation \(not yet available\)$/);
  });

  it('delivers clean internal and partner mail, and remembers the partner domain', async () => {
    const before = f.sink.messages.length;
    expect((await send(['colleague@example.co.jp'])).ok).toBe(true);
    expect((await send(['tanaka@mail.partner.co.jp'])).ok).toBe(true);
    expect((await f.sink.waitFor(before + 2)).length).toBe(before + 2);
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
    expect((await sendRaw(t, 'taro@example.co.jp', ['b@newpartner.example'], sampleMessage())).ok).toBe(true);
    expect((await sendRaw(t, 'taro@example.co.jp', ['c@other.example'], sampleMessage())).code).toBe(550);
    t.close();
    await gw.stop();
    await sink.close();
  });
});
