/**
 * The benchmark's next hop: the same kind of smtp-server sink as test/support/sink.ts (collect
 * the DATA stream, answer 250), run in its own process. It keeps counters instead of the
 * messages, plus each message's Message-ID so relay.ts can check that every message arrived once.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { serveParent } from './ipc.js';

export interface SinkStats {
  messages: number;
  bytes: number;
  /** Connections opened to the sink since the last reset. */
  connections: number;
  /** Messages whose first header line is outguard's X-Outguard-Id. */
  withOutguardId: number;
  /** Message-ID of every message since the last reset, in arrival order. */
  ids: string[];
}

const MESSAGE_ID = Buffer.from('\r\nMessage-ID: <', 'latin1');
const OUTGUARD_ID = Buffer.from('X-Outguard-Id: ', 'latin1');

let stats: SinkStats = { messages: 0, bytes: 0, connections: 0, withOutguardId: 0, ids: [] };

function messageId(raw: Buffer): string {
  const at = raw.indexOf(MESSAGE_ID);
  if (at < 0) return '(none)';
  const start = at + MESSAGE_ID.length;
  const end = raw.indexOf(0x3e /* > */, start);
  return end < 0 ? '(bad)' : raw.toString('latin1', start, end);
}

const server = new SMTPServer({
  authOptional: true,
  disableReverseLookup: true,
  logger: false,
  size: 200 * 1024 * 1024,
  onConnect(_session, cb) {
    stats.connections++;
    cb();
  },
  onData(stream, _session, cb) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const raw = Buffer.concat(chunks);
      stats.messages++;
      stats.bytes += raw.length;
      if (raw.subarray(0, OUTGUARD_ID.length).equals(OUTGUARD_ID)) stats.withOutguardId++;
      stats.ids.push(messageId(raw));
      cb(null, 'Ok: queued by sink');
    });
  },
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.server.address() as AddressInfo;
  serveParent(port, {
    reset: () => {
      stats = { messages: 0, bytes: 0, connections: 0, withOutguardId: 0, ids: [] };
    },
    stats: () => stats,
    stop: () => {
      server.close(() => process.exit(0));
      for (const c of server.connections) c.close();
    },
  });
});
