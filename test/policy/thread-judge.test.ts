import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { type TestGateway, startGateway } from '../support/gateway.js';
import { writePolicy } from '../support/policy.js';
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
