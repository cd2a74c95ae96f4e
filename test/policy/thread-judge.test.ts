import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { type TestGateway, startGateway } from '../support/gateway.js';
import { writePolicy } from '../support/policy.js';
import { withAttachments } from '../support/mime.js';
import { MessageModel } from '../../src/message/model.js';
import { type Sink, startSink } from '../support/sink.js';

describe('the policy thread', () => {
  let sink: Sink;
  let gw: TestGateway;
  beforeAll(async () => {
    // a plugin that kills its thread when the subject says so: the fault to recover from
    const policy = writePolicy(
      'rules:\n  - id: crash\n    clause: test\n    plugin: ./crash.mjs\n    action: reject\n    message: { ja: 停止, en: crash }\n',
      { 'crash.mjs': "export default ({ message }) => { if (message.subject === 'crash now') process.exit(3); return []; };\n" },
    );
    sink = await startSink();
    gw = await startGateway({ nextHop: `smtp://127.0.0.1:${sink.port}`, policy, policyThread: true });
  });
  afterAll(async () => {
    await gw.stop();
    await sink.close();
  });

  it('runs the checks and delivers', async () => {
    const t = client(gw.smtp.port);
    expect((await sendRaw(t, 'a@example.co.jp', ['b@partner.example'], sampleMessage())).ok).toBe(true);
    t.close();
  });

  it('hands the one message model over: the copy for outside is encrypted, an ambiguous message is held, as on the SMTP thread', async () => {
    const t = client(gw.smtp.port);
    const before = sink.messages.length;
    const files = withAttachments({ headers: ['From: a@example.co.jp', 'To: b@partner.example', 'Subject: files'], files: [{ name: '見積書.pdf', content: Buffer.from('%PDF-1.4 '.repeat(30)) }] });
    expect((await sendRaw(t, 'a@example.co.jp', ['b@partner.example'], files)).ok).toBe(true);
    const copy = (await sink.waitFor(before + 2)).slice(before).find((m) => m.to.includes('b@partner.example'))!;
    expect(MessageModel.parse(copy.raw).files.map((f) => f.filename)).toEqual(['attachments.zip']);
    const line = gw.logs.filter((l) => l.msg === 'message').at(-1)!;
    expect(line).toMatchObject({ action: 'deliver', encrypted: 1 });
    const ambiguous = files.toString('latin1').replace('Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: 7bit');
    const held = await sendRaw(t, 'a@example.co.jp', ['b@partner.example'], ambiguous);
    expect(held.response).toMatch(/held for confirmation/);
    expect(gw.logs.filter((l) => l.msg === 'message').at(-1)).toMatchObject({ action: 'hold', rules: ['ambiguous-mime'] });
    // its confirmation reaches the sender; nothing reaches the recipient
    const confirm = (await sink.waitFor(before + 3))[before + 2]!;
    expect(confirm.to).toEqual(['a@example.co.jp']);
    t.close();
  });

  it('reads a spooled message itself, from the spool file, and hands back a model the copy is made from', async () => {
    const t = client(gw.smtp.port);
    const before = sink.messages.length;
    // past smtp.spoolThreshold (1 MiB): the thread gets the spool file's name and key, not the bytes
    const content = Buffer.from(Array.from({ length: 3_000_000 }, (_, i) => (i * 31) % 256));
    const big = withAttachments({ headers: ['From: a@example.co.jp', 'To: b@partner.example', 'Subject: big'], files: [{ name: '図面.bin', content }] });
    expect((await sendRaw(t, 'a@example.co.jp', ['b@partner.example'], big)).ok).toBe(true);
    t.close();
    // the copy and its password notice
    const copy = (await sink.waitFor(before + 2)).slice(before).find((m) => m.to.includes('b@partner.example'))!;
    expect(MessageModel.parse(copy.raw).files.map((f) => f.filename)).toEqual(['attachments.zip']);
    expect(gw.logs.filter((l) => l.msg === 'message').at(-1)).toMatchObject({ action: 'deliver', encrypted: 1, size: big.length });
  });

  it('answers 451 for a message whose thread died, then judges the next one on a new thread', async () => {
    const t = client(gw.smtp.port);
    const before = sink.messages.length;
    const crashed = await sendRaw(t, 'a@example.co.jp', ['b@partner.example'], sampleMessage({ subject: 'crash now' }));
    expect(crashed.code).toBe(451);
    expect(sink.messages.length).toBe(before);
    const deadline = Date.now() + 10000;
    let next = await sendRaw(t, 'a@example.co.jp', ['b@partner.example'], sampleMessage());
    while (!next.ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      next = await sendRaw(t, 'a@example.co.jp', ['b@partner.example'], sampleMessage());
    }
    expect(next.ok).toBe(true);
    expect(gw.logs.some((l) => l.msg === 'policy thread stopped; starting a new one')).toBe(true);
    t.close();
  });
});
