import fs from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { SmtpHop } from '../src/delivery/smtp-hop.js';
import { DeliveryEvents } from '../src/delivery/events.js';
import { DeliveryPipeline } from '../src/delivery/pipeline.js';
import { Gateway } from '../src/gateway.js';
import { createLogger } from '../src/log.js';
import { LocalJudge } from '../src/policy/judge.js';
import { BufferSource } from '../src/message/source.js';
import type { Outbox } from '../src/delivery/outbox.js';
import type { OutboxStore } from '../src/store/outbox-store.js';
import type { NewAuditEvent } from '../src/audit/events.js';
import { Spool } from '../src/store/spool.js';
import { tempDir, writeConfig } from './support/gateway.js';
import { withAttachments } from './support/mime.js';
import { type Sink, startSink } from './support/sink.js';
import { defaultNoticeFrom } from '../src/message/mailbox.js';

describe('Gateway fails closed', () => {
  let sink: Sink;
  let gateway: Gateway;
  let judge: LocalJudge;
  let hop: SmtpHop;
  const logs: string[] = [];
  const events: NewAuditEvent[] = [];

  beforeAll(async () => {
    sink = await startSink();
    const config = loadConfig({ file: writeConfig({ organization: { internalDomains: ['example.co.jp'] } }), env: {} });
    const logger = createLogger('info', new Writable({ write: (c: Buffer, _e, cb) => (logs.push(c.toString()), cb()) }));
    judge = await LocalJudge.create(config, logger, { watch: false });
    hop = new SmtpHop({ kind: 'smtp', host: '127.0.0.1', port: sink.port, secure: false, url: `smtp://127.0.0.1:${sink.port}` }, { maxConnections: 1, timeoutMs: 5000, tls: 'off', auth: null }, 'test');
    // The one fault a real store cannot be made to show on demand: it refuses to store the notice.
    const brokenStore = { findByDigest: async () => null, enqueueAll: () => Promise.reject(new Error('disk full')) } as unknown as OutboxStore;
    const pipeline = new DeliveryPipeline({ nextHop: hop, store: brokenStore, outbox: { kick() {}, runnerId: 'test' } as unknown as Outbox, events: new DeliveryEvents(), logger, digestKey: Buffer.alloc(32), hostname: 'test' });
    // this policy holds nothing: the hold service is never asked
    gateway = new Gateway({
      judge,
      pipeline,
      holds: { hold: () => Promise.reject(new Error('no holds here')) },
      logger,
      noticeFrom: defaultNoticeFrom('test'),
      isInternal: (d) => d === 'example.co.jp',
      audit: { record: (e) => events.push(e), commit: async (e) => void events.push(e), urge: () => undefined },
    });
  });
  afterAll(async () => {
    await judge.close();
    await hop.close();
    await sink.close();
  });

  it('answers 451 and sends nothing when the password cannot be stored', async () => {
    const raw = withAttachments({ files: [{ name: '契約書.pdf', content: Buffer.from('%PDF-1.4 secret') }] });
    const outcome = await gateway.process({ source: new BufferSource(raw), envelope: { from: 'taro@example.co.jp', to: ['partner@partner.example'] }, client: { address: '127.0.0.1' } });
    expect(outcome.code).toBe(451);
    expect(outcome.text).toMatch(/^4\.3\.0 /);
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.messages).toHaveLength(0);
    expect(logs.join('')).toContain('disk full');
    expect(events.at(-1)).toMatchObject({ type: 'deferred', messageId: outcome.id, sender: 'taro@example.co.jp', recipients: ['partner@partner.example'] });
  });

  it('answers 451 and sends nothing when a spooled message cannot be read back whole (a damaged spool file)', async () => {
    const spool = new Spool(tempDir());
    const writer = spool.create();
    writer.write(Buffer.from('From: taro@example.co.jp\r\nTo: partner@partner.example\r\nSubject: spooled\r\n\r\n'));
    writer.write(Buffer.from('hello\r\n'.repeat(100_000)));
    const source = writer.finish();
    const file = fs.readFileSync(source.file);
    file[file.length - 5_000]! ^= 1;
    fs.writeFileSync(source.file, file);
    const before = sink.messages.length;
    const outcome = await gateway.process({ source, envelope: { from: 'taro@example.co.jp', to: ['partner@partner.example'] }, client: { address: '127.0.0.1' } });
    source.remove();
    expect(outcome.code).toBe(451);
    expect(logs.join('')).toContain('failed authentication');
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.messages).toHaveLength(before);
  });

  it('still delivers mail without attachments', async () => {
    const raw = Buffer.from('From: taro@example.co.jp\r\nTo: partner@partner.example\r\nSubject: hi\r\n\r\nhello\r\n');
    const outcome = await gateway.process({ source: new BufferSource(raw), envelope: { from: 'taro@example.co.jp', to: ['partner@partner.example'] }, client: { address: '127.0.0.1' } });
    expect(outcome.code).toBe(250);
  });
});
