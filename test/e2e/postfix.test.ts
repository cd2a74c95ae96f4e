import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestGateway, startGateway } from '../support/gateway.js';
import { type Postfix, startPostfix } from '../support/postfix.js';
import { until } from '../support/wait.js';
import { type Received, type Sink, startSink } from '../support/sink.js';
import { requireRoot, requireTool } from '../support/tools.js';

/**
 * outguard as a Postfix after-queue content filter, with a real Postfix on loopback:
 *
 *   swaks → Postfix smtpd → outguard → link → Postfix return smtpd → relayhost = our sink
 *
 * `link` is a plain TCP forwarder between outguard and Postfix's return port, so the test can
 * take outguard's next hop down (connection refused) and bring it back on the same port.
 */

const canRun = requireTool('postfix', 'postfix') && requireTool('swaks', 'swaks') && requireRoot('a private Postfix instance');

interface Link {
  port: number;
  /** Where connections are forwarded (set once Postfix has picked its return port). */
  target: number;
  /** Stops listening and cuts every forwarded connection: the next hop is refused. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
}

async function startLink(): Promise<Link> {
  const sockets = new Set<net.Socket>();
  const link = { target: 0 } as Link;
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: link.target });
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) s.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  link.port = await listen(0);
  link.down = async () => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  link.up = async () => {
    if (!server.listening) await listen(link.port);
  };
  return link;
}

const CRLF = '\r\n';

/** A message as a sender's client would write it: CRLF lines, 8-bit UTF-8 body, folded header, dot lines. */
function writeMessage(dir: string, name: string, from: string, to: string): { file: string; bytes: Buffer; messageId: string } {
  const messageId = `<${name}.${randomBytes(6).toString('hex')}@agency.example.jp>`;
  const text = [
    'Date: Thu, 26 Nov 2026 12:00:00 +0900',
    `From: "Sender" <${from}>`,
    `To: Alice <${to}>`,
    'Subject: =?UTF-8?B?5pyI5qyh5aCx5ZGK?=',
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: 8bit',
    'X-Folded: first part',
    '\tsecond part',
    '',
    'お世話になっております。月次報告をお送りします。',
    '.a line that starts with a dot',
    '..and one with two',
    'trailing spaces   ',
    '',
    '-- ',
    `last line of ${name}`,
  ].join(CRLF);
  const file = path.join(dir, `${name}.eml`);
  // No final CRLF: swaks adds "CRLF.CRLF", so the message ends with exactly one CRLF.
  fs.writeFileSync(file, text);
  return { file, bytes: Buffer.from(`${text}${CRLF}`, 'utf8'), messageId };
}

function headerSection(raw: Buffer): string {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  return end < 0 ? text : text.slice(0, end + 2);
}

const outguardIds = (raw: Buffer) => [...headerSection(raw).matchAll(/^X-Outguard-Id:[ \t]*(\S*)/gim)].map((m) => m[1]);

describe.skipIf(!canRun)('outguard behind a real Postfix (content_filter)', () => {
  let sink: Sink;
  let link: Link;
  let gateway: TestGateway;
  let postfix: Postfix;
  let workDir: string;

  beforeAll(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-e2e-'));
    sink = await startSink();
    link = await startLink();
    gateway = await startGateway({
      nextHop: `smtp://127.0.0.1:${link.port}`,
      smtp: { listen: '127.0.0.1:0', hostname: 'outguard.pfx-test.invalid', shutdownTimeoutMs: 2000 },
      delivery: { timeoutMs: 5000 },
    });
    postfix = await startPostfix({ filterPort: gateway.smtp.port, relayPort: sink.port });
    link.target = postfix.returnPort;
  });

  afterAll(async () => {
    // Each step on its own: one failing must not leave the others running.
    const steps: (() => Promise<unknown> | undefined)[] = [
      () => postfix?.stop(),
      () => gateway?.stop(),
      () => link?.down(),
      () => sink?.close(),
    ];
    for (const step of steps) await Promise.resolve().then(step).catch((err) => console.error('cleanup:', err));
    for (const dir of [workDir, gateway && path.dirname(gateway.config.source)]) {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  /** Waits until the sink got the message and Postfix's queue is empty, then returns every copy. */
  async function delivered(messageId: string): Promise<Received[]> {
    const copies = () => sink.messages.filter((m) => m.raw.includes(messageId));
    await until(() => (copies().length > 0 ? true : undefined), 10000, () => `sink never got ${messageId}; postfix log:\n${postfix.readLog()}`);
    // An empty queue means no further attempt is pending anywhere in the chain.
    await postfix.waitForEmptyQueue();
    return copies();
  }

  const gatewayLines = (from: string) => gateway.logs.filter((l) => l.msg === 'message' && l.from === from);

  it('relays a message through outguard once, intact, with one X-Outguard-Id and the envelope kept', async () => {
    const from = 'sender1@agency.example.jp';
    const rcpts = ['alice@partner.example.com', 'bob@other.example.org']; // bob only in the envelope
    const msg = writeMessage(workDir, 'relay', from, rcpts[0]!);

    const { queueId } = await postfix.submit({ from, to: rcpts, dataFile: msg.file });
    const copies = await delivered(msg.messageId);

    expect(copies).toHaveLength(1);
    const got = copies[0]!;
    expect(got.from).toBe(from);
    expect([...got.to].sort()).toEqual([...rcpts].sort());
    // What the sender wrote arrives byte for byte (Postfix and outguard only prepend headers).
    expect(got.raw.toString('latin1')).toContain(msg.bytes.toString('latin1'));

    const ids = outguardIds(got.raw);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(/^[0-9a-z]{9}-[a-z2-9]{10}$/);
    expect(got.raw.toString('latin1').match(/X-Outguard-Id/gi)).toHaveLength(1);

    // Postfix handed it to outguard, and outguard answered 250 only after its next hop took it.
    const filterHop = await postfix.waitForLog(new RegExp(`${queueId}: to=<${rcpts[0]}>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${gateway.smtp.port},.* status=sent \\(250 2\\.0\\.0 Ok: delivered as ${ids[0]}\\)`));
    expect(filterHop).toBeTruthy();
    await postfix.waitForLog(new RegExp(`relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${sink.port},.* status=sent`));

    const lines = gatewayLines(from);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ id: ids[0], action: 'deliver', rcptCount: 2 });
  });

  it('answers 451 while its next hop is down; Postfix keeps the message and delivers it once after a flush', async () => {
    const from = 'sender2@agency.example.jp';
    const rcpts = ['carol@partner.example.com', 'dave@other.example.org'];
    const msg = writeMessage(workDir, 'deferred', from, rcpts[0]!);

    await link.down();
    const { queueId } = await postfix.submit({ from, to: rcpts, dataFile: msg.file });

    // outguard refused at end of DATA with 451, so Postfix deferred the message.
    const deferredLine = await postfix.waitForLog(new RegExp(`${queueId}: to=<${rcpts[0]}>,.* status=deferred `));
    expect(deferredLine).toMatch(/said: 451 4\.4\.1 Next hop unavailable.*\(in reply to end of DATA command\)/);

    // smtp logs "deferred" just before qmgr moves the file from active/ to deferred/: poll.
    const queued = await until(
      async () => (await postfix.queue()).find((q) => q.queueId === queueId && q.queueName === 'deferred'),
      5000,
      async () => `${queueId} not in the deferred queue:\n${await postfix.queueText()}`,
    );
    expect(queued.sender).toBe(from);
    expect(queued.recipients.map((r) => r.address).sort()).toEqual([...rcpts].sort());
    for (const r of queued.recipients) expect(r.delayReason).toMatch(/451 4\.4\.1/);
    expect(await postfix.queueText()).toContain(queueId);
    expect(sink.messages.filter((m) => m.raw.includes(msg.messageId))).toHaveLength(0);
    expect(gatewayLines(from).map((l) => l.action)).toEqual(['tempfail']);

    // The path comes back; a flush retries now instead of after the backoff.
    await link.up();
    await postfix.flushQueue();
    const copies = await delivered(msg.messageId);

    expect(copies).toHaveLength(1);
    const got = copies[0]!;
    expect(got.from).toBe(from);
    expect([...got.to].sort()).toEqual([...rcpts].sort());
    expect(got.raw.toString('latin1')).toContain(msg.bytes.toString('latin1'));
    const ids = outguardIds(got.raw);
    expect(ids).toHaveLength(1);
    expect(got.raw.toString('latin1').match(/X-Outguard-Id/gi)).toHaveLength(1);

    await postfix.waitForLog(new RegExp(`${queueId}: to=<${rcpts[0]}>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${gateway.smtp.port},.* status=sent \\(250 2\\.0\\.0 Ok: delivered as ${ids[0]}\\)`));
    const lines = gatewayLines(from);
    expect(lines.map((l) => l.action)).toEqual(['tempfail', 'deliver']);
    expect(lines[1]!.id).toBe(ids[0]);
    expect(await postfix.queueIsEmpty()).toBe(true);
  });
});
