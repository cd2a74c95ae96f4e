import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { type TestGateway, startGateway } from '../support/gateway.js';
import { type Sink, startSink } from '../support/sink.js';
import { until } from '../support/wait.js';

/** A client that connects from `localAddress` and then sends one byte of "EHLO slow" every `everyMs`, never finishing. */
function trickler(port: number, localAddress: string, everyMs: number): { replies: () => string; closed: () => boolean; stop: () => void } {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  let text = '';
  let closed = false;
  let i = 0;
  socket.on('data', (d) => (text += d.toString('latin1')));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write('EHLO slow'[i++ % 9]!);
  }, everyMs);
  return { replies: () => text, closed: () => closed, stop: () => (clearInterval(timer), socket.destroy()) };
}

/**
 * Slow or hostile clients outside relayNetworks cannot starve the relay (Postfix): a limit per
 * address, a share of maxClients kept for relayNetworks, and a deadline for each stage of a session.
 */
describe('the SMTP edge', () => {
  let sink: Sink;
  let gw: TestGateway;
  beforeAll(async () => {
    sink = await startSink();
    gw = await startGateway({
      nextHop: `smtp://127.0.0.1:${sink.port}`,
      smtp: { relayNetworks: ['127.0.0.1/32'], maxClients: 30, maxClientsPerAddress: 5, reservedForRelay: 10, stageTimeoutMs: 3000 },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await sink.close();
  });

  it('keeps the relay client sending while 100 slow clients hold on, and closes those past the stage deadline', async () => {
    // 60 slow connections from one address, 40 more from 40 others
    const slow = [
      ...Array.from({ length: 60 }, () => trickler(gw.smtp.port, '127.0.0.2', 500)),
      ...Array.from({ length: 40 }, (_, i) => trickler(gw.smtp.port, `127.0.1.${i + 1}`, 500)),
    ];
    try {
      // every one is answered at once: greeted (220), or refused (421)
      await until(() => slow.every((s) => /^(220|421) /m.test(s.replies())) || undefined, 10_000, 'every slow client answered');
      const greeted = (list: typeof slow) => list.filter((s) => /^220 /m.test(s.replies()));
      expect(greeted(slow.slice(0, 60)).length).toBeLessThanOrEqual(5);
      expect(slow.some((s) => /^421 4\.7\.0 Too many connections from your address/m.test(s.replies()))).toBe(true);
      // the others never take the 10 slots kept for the relay
      expect(greeted(slow).length).toBeLessThanOrEqual(20);
      // the relay client sends a message every second meanwhile
      const relay = client(gw.smtp.port);
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        expect((await sendRaw(relay, 'taro@example.co.jp', ['y@partner.example'], sampleMessage({ subject: `relay ${i}` }))).ok).toBe(true);
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
      }
      relay.close();
      // the ones that got in never reached MAIL FROM: closed with 421 after the deadline
      const admitted = greeted(slow);
      expect(admitted.length).toBeGreaterThan(0);
      await until(() => admitted.every((s) => s.closed()) || undefined, 10_000, 'the slow clients closed after the stage deadline');
      expect(admitted.every((s) => /^421 4\.4\.2 /m.test(s.replies()))).toBe(true);
      // a MAIL FROM that is refused (no AUTH outside relayNetworks) does not end the deadline
      const refusedOnce = net.connect({ port: gw.smtp.port, host: '127.0.0.1', localAddress: '127.0.0.9' });
      let said = '';
      refusedOnce.on('data', (d) => (said += d.toString('latin1')));
      refusedOnce.on('error', () => undefined);
      await until(() => said.startsWith('220') || undefined, 5000, 'the greeting');
      refusedOnce.write('EHLO x\r\nMAIL FROM:<a@example.com>\r\n');
      await until(() => /^530 /m.test(said) || undefined, 5000, 'the refusal');
      await until(() => /^421 4\.4\.2 /m.test(said) || undefined, 10_000, 'the stage deadline after a refused MAIL FROM');
      refusedOnce.destroy();
    } finally {
      for (const s of slow) s.stop();
    }
  });
});
