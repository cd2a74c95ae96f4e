import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { type Browser, launchChromium } from '../support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageModel } from '../../src/message/model.js';
import { detectEncryption } from '../../src/message/encrypted.js';
import { client, run, sendRaw } from '../support/client.js';
import { DEFAULT_POLICY, type TestGateway, startGateway, startGatewayWithWeb, writeConfig, tempDir } from '../support/gateway.js';
import { withAttachments } from '../support/mime.js';
import { releaseLinkOf } from '../support/notices.js';
import { type Received, type Sink, startSink } from '../support/sink.js';
import { requireTool } from '../support/tools.js';
import { spawn } from 'node:child_process';
import { until } from '../support/wait.js';

const haveChromium = requireTool('chromium', 'chromium');

const noticeKind = (m: Received) => /^X-Outguard-Notice: (\S+)/m.exec(m.raw.toString('latin1').split('\r\n\r\n')[0]!)?.[1];

const message = (subject: string) =>
  withAttachments({
    headers: ['From: 山田 太郎 <taro@example.co.jp>', 'To: suzuki@partner.example', `Subject: ${subject}`],
    body: 'いつもお世話になっております。報告書を添付します。',
    files: [{ name: '作業報告書.txt', content: Buffer.from('第3四半期の作業報告\n'.repeat(20)) }],
  });

describe.skipIf(!haveChromium)('confirmation hold, end to end (遵守事項 第6-1)', () => {
  let sink: Sink;
  let gw: TestGateway;
  let context: BrowserContext;
  let browser: Browser | undefined;

  beforeAll(async () => {
    sink = await startSink();
    gw = await startGatewayWithWeb(sink, { organization: { internalDomains: ['example.co.jp'], partnerDomains: ['partner.example'] } });
    browser = await launchChromium();
    context = browser.context;
  });
  afterAll(async () => {
    await browser?.close();
    await gw.stop();
    await sink.close();
  });

  async function holdOne(subject: string): Promise<{ id: string; link: string }> {
    const t = client(gw.smtp.port);
    const result = await sendRaw(t, 'taro@example.co.jp', ['suzuki@partner.example'], message(subject));
    t.close();
    expect(result.response).toMatch(/held for confirmation as/);
    const id = /as (\S+)$/.exec(result.response)![1]!;
    const notice = await until(() => sink.messages.find((m) => noticeKind(m) === 'confirm' && m.raw.includes(id)));
    return { id, link: releaseLinkOf(notice.raw)! };
  }

  it('holds an external message with attachments: one confirmation to the sender, nothing to the recipient', async () => {
    const { id } = await holdOne('【要確認】作業報告書');
    const confirms = sink.messages.filter((m) => noticeKind(m) === 'confirm' && m.raw.includes(id));
    expect(confirms).toHaveLength(1);
    expect(confirms[0]!.to).toEqual(['taro@example.co.jp']);
    const text = MessageModel.parse(confirms[0]!.raw).textParts.join('\n');
    for (const s of ['suzuki@partner.example', '作業報告書.txt', '【要確認】作業報告書']) expect(text).toContain(s);
    expect(text).toMatch(/[0-9a-f]{64}/); // the attachment's SHA-256
    expect(sink.messages.some((m) => m.to.includes('suzuki@partner.example'))).toBe(false);
  });

  it('releases through the page in Chromium after ticking the three boxes: encrypted copy, then its password', async () => {
    const { id, link } = await holdOne('<script>alert(1)</script> 報告');
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(link);
    expect(await page.content()).toContain('&lt;script&gt;alert(1)&lt;/script&gt; 報告');
    for (const label of ['宛先を確認した', '本文を確認した', '添付ファイルの中身を確認した']) await page.getByText(label).click();
    await page.getByRole('button', { name: /送信/ }).click();
    await page.getByText('送信しました').first().waitFor();
    const copy = await until(() => sink.messages.find((m) => m.to.includes('suzuki@partner.example') && m.raw.includes(id)));
    const sent = MessageModel.parse(copy.raw);
    expect(sent.attachments.map((a) => a.filename)).toEqual(['attachments.zip']);
    expect(detectEncryption(sent.attachments[0]!.content())).toBe('zip');
    const password = await until(() => sink.messages.find((m) => noticeKind(m) === 'password' && m.raw.includes(`X-Outguard-Ref: ${/^X-Outguard-Id: (\S+)/m.exec(copy.raw.toString())![1]}`)));
    expect(password.to).toEqual(['taro@example.co.jp']);
    expect(dialogs).toEqual([]);
    // the link worked once
    expect((await fetch(link)).status).toBe(410);
    await page.close();
  });

  it('discards through the page: nothing leaves, and the sender is told', async () => {
    const { id, link } = await holdOne('破棄するメール');
    const page = await context.newPage();
    await page.goto(link);
    await page.getByRole('button', { name: /破棄/ }).first().click();
    await page.getByText('破棄しました').first().waitFor();
    await until(() => sink.messages.find((m) => noticeKind(m) === 'hold-discarded' && m.raw.includes(id)));
    expect(sink.messages.some((m) => m.to.includes('suzuki@partner.example') && m.raw.includes(id))).toBe(false);
    await page.close();
  });

  it('refuses a forged link', async () => {
    const { link } = await holdOne('偽造テスト');
    const forged = link.slice(0, -3) + (link.endsWith('AAA') ? 'BBB' : 'AAA');
    expect((await fetch(forged)).status).toBe(403);
  });

  it('lists holds for admins: outguard held list --json', async () => {
    const out = await run('node', [path.resolve('bin/outguard.js'), 'held', 'list', '--json', '--config', gw.config.source]);
    const holds = JSON.parse(out.stdout) as { id: string; state: string; sender: string; recipients: string[]; subject: string; deadline: string }[];
    expect(holds.length).toBeGreaterThanOrEqual(4);
    expect(new Set(holds.map((h) => h.state))).toEqual(new Set(['held', 'released', 'discarded']));
    expect(holds[0]).toEqual(expect.objectContaining({ sender: 'taro@example.co.jp', recipients: ['suzuki@partner.example'] }));
    expect(Number.isNaN(Date.parse(holds[0]!.deadline))).toBe(false);
  });
});

describe.skipIf(!haveChromium)('the audit log of a running gateway', () => {
  it('is written by the gateway, the holds and the outbox, and verifies', async () => {
    const sink = await startSink();
    const gw = await startGateway({ nextHop: `smtp://127.0.0.1:${sink.port}`, policy: DEFAULT_POLICY, organization: { internalDomains: ['example.co.jp'] } });
    const t = client(gw.smtp.port);
    expect((await sendRaw(t, 'taro@example.co.jp', ['colleague@example.co.jp'], message('社内連絡'))).ok).toBe(true);
    expect((await sendRaw(t, 'taro@example.co.jp', ['x@mailinator.com'], message('捨てアド'))).code).toBe(550);
    const held = await sendRaw(t, 'taro@example.co.jp', ['suzuki@partner.example'], message('監査テスト'));
    t.close();
    const id = /as (\S+)$/.exec(held.response)![1]!;
    await until(() => sink.messages.find((m) => noticeKind(m) === 'confirm' && m.raw.includes(id)));
    const cli = (...args: string[]) => run('node', [path.resolve('bin/outguard.js'), ...args, '--config', gw.config.source]);
    expect((await cli('held', 'release', id)).code).toBe(0);
    await until(() => sink.messages.find((m) => m.to.includes('suzuki@partner.example')));
    await new Promise((r) => setTimeout(r, 500)); // the writer batches for 200 ms
    const events = JSON.parse((await cli('audit', 'export', '--format', 'json')).stdout) as { type: string; messageId?: string; rules?: string[]; clauses?: string[]; actor?: string; subject?: string }[];
    const types = events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['delivered', 'rejected', 'held', 'released', 'notice-sent']));
    expect(events.find((e) => e.type === 'rejected')).toMatchObject({ rules: expect.arrayContaining(['anonymous-recipient']), clauses: expect.arrayContaining(['遵守事項 第6-3']), subject: '捨てアド' });
    expect(events.find((e) => e.type === 'held')).toMatchObject({ messageId: id, rules: expect.arrayContaining(['external-attachment']) });
    expect(events.find((e) => e.type === 'released')).toMatchObject({ messageId: id, actor: 'cli' });
    const verify = await cli('audit', 'verify');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/audit log OK: \d+ events/);
    await gw.stop();
    await sink.close();
  }, 30000);
});

describe('a hold deadline after a restart', () => {
  it('runs the deadline action of a hold that fell due while outguard was down', async () => {
    const sink = await startSink();
    const dir = tempDir();
    const policy = path.join(dir, 'policy.yaml');
    fs.writeFileSync(
      policy,
      'rules:\n  - id: hold-all\n    clause: 遵守事項 第6-1\n    check: external-attachment\n    action: hold\n    deadline: { hours: 0.001, action: send }\n    message: { ja: 確認, en: confirm }\n',
    );
    const file = writeConfig({ nextHop: `smtp://127.0.0.1:${sink.port}`, policy, dataDir: path.join(dir, 'data'), organization: { internalDomains: ['example.co.jp'] } }, dir);
    const start = async () => {
      const child = spawn('node', [path.resolve('bin/outguard.js'), 'start', '--config', file], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await until(() => out.includes('outguard started') || undefined, 10000);
      return { child, port: Number((JSON.parse(out.split('\n').find((l) => l.includes('outguard started'))!) as { smtp: string }).smtp.split(':').pop()) };
    };
    let g = await start();
    const t = client(g.port);
    const result = await sendRaw(t, 'taro@example.co.jp', ['suzuki@partner.example'], message('期限テスト'));
    t.close();
    expect(result.response).toMatch(/held for confirmation/);
    g.child.kill('SIGKILL');
    await new Promise((r) => g.child.once('exit', r));
    await new Promise((r) => setTimeout(r, 4000)); // the 3.6 s deadline passes while it is down
    expect(sink.messages.some((m) => m.to.includes('suzuki@partner.example'))).toBe(false);
    g = await start();
    const copy = await until(() => sink.messages.find((m) => m.to.includes('suzuki@partner.example')));
    expect(MessageModel.parse(copy.raw).attachments.map((a) => a.filename)).toEqual(['attachments.zip']);
    await until(() => sink.messages.find((m) => noticeKind(m) === 'hold-expired' || noticeKind(m) === 'hold-released'));
    g.child.kill('SIGTERM');
    await new Promise((r) => g.child.once('exit', r));
    await sink.close();
  }, 40000);
});
