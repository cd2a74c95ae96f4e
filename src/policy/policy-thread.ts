/**
 * The policy thread: a worker that owns the engine, its lists and the delivery history, so
 * parsing and checking a message never compete with SMTP on the main thread. Messages in and
 * out are described in thread-judge.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Writable } from 'node:stream';
import type { Config } from '../config/schema.js';
import type { Envelope } from '../message/envelope.js';
import { createLogger } from '../log.js';
import { LocalJudge } from './judge.js';
import { Batcher } from './batcher.js';
import type { FromThread, ToThread, WireMessage } from './thread-judge.js';
import { BufferSource, type ByteSource } from '../message/source.js';
import { SpoolSource } from '../store/spool.js';

const port = parentPort!;
const outbox = new Batcher<FromThread>((batch) => port.postMessage(batch));
const send = (m: FromThread) => outbox.send(m);

// Log lines go to the main thread's logger, so the process keeps one log stream.
const logger = createLogger(
  (workerData as { config: Config }).config.log.level,
  new Writable({
    write(chunk: Buffer, _encoding, callback) {
      send({ type: 'log', line: chunk.toString('utf8') });
      callback();
    },
  }),
);

LocalJudge.create((workerData as { config: Config }).config, logger, {
  watch: true,
  onReload: (outcome) => send({ type: 'reload-outcome', ...outcome }),
}).then(
  (judge) => {
    // history writes in order, and all of them done before the thread closes
    let writes = Promise.resolve();
    port.on('message', (batch: ToThread[]) => batch.forEach(handle));
    const handle = (m: ToThread): void => {
      switch (m.type) {
        case 'evaluate':
          evaluate(m.seq, m.message, m.envelope);
          break;
        case 'delivered':
          writes = writes.then(() => judge.delivered(m.envelope, { countSender: m.countSender })).catch((err: Error) => logger.error({ err: err.message }, 'cannot record delivery history'));
          break;
        case 'reload':
          void judge.reload(m.reason).then((ok) => send({ type: 'reloaded', seq: m.seq, ok, rules: judge.rules() }));
          break;
        case 'close':
          void writes.then(() => judge.close()).then(() => {
            outbox.flush();
            port.close();
          });
          break;
      }
    };
    const evaluate = (seq: number, wire: WireMessage, envelope: Envelope): void => {
      let source: ByteSource;
      try {
        source = 'bytes' in wire ? new BufferSource(Buffer.from(wire.bytes.buffer, wire.bytes.byteOffset, wire.bytes.byteLength)) : SpoolSource.open(wire.spool, Buffer.from(wire.key));
      } catch (err) {
        return send({ type: 'failed', seq, error: (err as Error).message });
      }
      judge
        .evaluate(source, envelope)
        .then(
          ({ message, ...j }) => send({ type: 'result', seq, ...j, shape: message.shape }),
          (err: Error) => send({ type: 'failed', seq, error: err.message }),
        )
        .finally(() => (source instanceof SpoolSource ? source.close() : undefined));
    };
    send({ type: 'ready', rules: judge.rules() });
  },
  (err: Error) => send({ type: 'init-failed', name: err.name, error: err.message }),
);
