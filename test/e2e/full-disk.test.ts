import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { type TestGateway, startGateway, tempDir } from '../support/gateway.js';
import { headerOf } from '../support/notices.js';
import { type Sink, startSink } from '../support/sink.js';
import { requireRoot } from '../support/tools.js';

/**
 * "No decision without its record" on a full disk: the data dir is a small tmpfs, filled up while
 * the gateway runs with an SMTP next hop. Mail must then be answered 451 — never 250 without its
 * audit event, and nothing may reach the next hop that is not on record.
 */

/** Writes until the file system says it is full. */
function fill(file: string): void {
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(16 * 1024, 1);
  try {
    for (;;) fs.writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
}

describe.runIf(requireRoot('mounting a small tmpfs for the full data dir'))('a full data dir', () => {
  let mount: string;
  let sink: Sink;
  let gw: TestGateway;
  beforeAll(async () => {
    mount = tempDir('outguard-full-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', mount]);
    sink = await startSink();
    gw = await startGateway({ dataDir: path.join(mount, 'data'), nextHop: `smtp://127.0.0.1:${sink.port}`, organization: { internalDomains: ['example.co.jp'] } });
  });
  afterAll(async () => {
    await gw?.stop().catch(() => undefined);
    await sink?.close();
    execFileSync('umount', [mount]);
    fs.rmSync(mount, { recursive: true, force: true });
  });

  it('answers 451 and sends nothing when the audit event cannot be written; every 250 is on record', async () => {
    const transport = client(gw.smtp.port);
    const send = (i: number) =>
      sendRaw(transport, 'taro@example.co.jp', ['hanako@example.co.jp'], sampleMessage({ subject: `full disk ${i} ${'件名'.repeat(400)}`, to: 'hanako@example.co.jp' }));
    expect((await send(0)).code).toBe(250);
    const filler = path.join(mount, 'filler');
    fill(filler);
    const answers: { i: number; code?: number; response: string }[] = [];
    for (let i = 1; i <= 40; i++) answers.push({ i, ...(await send(i)) });
    const refused = answers.filter((a) => a.code === 451);
    // the disk did fill up, and the answer says why
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.response).toMatch(/451 4\.3\.0 Cannot record the decision in the audit log/);
    expect(answers.every((a) => a.code === 250 || a.code === 451)).toBe(true);

    // room again: mail flows, and the log says what was decided
    fs.rmSync(filler);
    const after = await send(41);
    expect(after.code).toBe(250);
    transport.close();
    const accepted = [...answers.filter((a) => a.code === 250), after];
    await gw.stop();
    const store = SqliteAuditStore.open(gw.dataDir, { readOnly: true });
    const recorded = new Set((await store.list({ type: ['delivered', 'encrypted'] })).map((e) => e.messageId));
    await store.close();
    const ids = accepted.map((a) => / as ([^\s,()]+)/.exec(a.response)?.[1]);
    expect(ids.every((id) => id !== undefined && recorded.has(id))).toBe(true);
    // what reached the next hop: the first message, every 250 and nothing else, each on record
    const arrived = sink.messages.map((m) => headerOf(m.raw, 'X-Outguard-Id'));
    expect(arrived).toHaveLength(1 + accepted.length);
    expect(arrived.every((id) => id !== undefined && recorded.has(id))).toBe(true);
  });
});
