import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageModel } from '../../src/message/model.js';
import { BufferSource } from '../../src/message/source.js';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { type TestGateway, startGateway } from '../support/gateway.js';
import { freePort } from '../support/net.js';
import { type Sink, startSink } from '../support/sink.js';
import { SmtpHop } from '../../src/delivery/smtp-hop.js';
import { loadSecretKey } from '../../src/store/secret-key.js';
import { SqliteOutboxStore } from '../../src/store/sqlite-outbox.js';

describe('SMTP next hop failures', () => {
  it('answers 451 while the next hop is down, and delivers once it is back', async () => {
    const port = await freePort();
    const gw = await startGateway({ nextHop: `smtp://127.0.0.1:${port}`, delivery: { timeoutMs: 3000 } });
    const t = client(gw.smtp.port);
    const raw = sampleMessage({ subject: 'retry me' });
    try {
      const first = await sendRaw(t, 'taro@example.co.jp', ['x@partner.example'], raw);
      expect(first.code).toBe(451);
      expect(first.response).toMatch(/^451 4\.4\.\d /);
      expect(gw.logs.find((l) => l.msg === 'message')).toMatchObject({ action: 'tempfail' });

      const sink = await startSink({ port });
      try {
        const retry = await sendRaw(t, 'taro@example.co.jp', ['x@partner.example'], raw);
        expect(retry.ok).toBe(true);
        const got = await sink.waitFor(1);
        expect(got).toHaveLength(1);
        expect(got[0]!.raw.subarray(got[0]!.raw.indexOf('\r\n') + 2).equals(raw)).toBe(true);
      } finally {
        await sink.close();
      }
    } finally {
      t.close();
      await gw.stop();
    }
  });

  describe('when the next hop refuses', () => {
    let gw: TestGateway;
    let sink: Sink;
    beforeAll(async () => {
      sink = await startSink({ reject: { code: 554, text: 'content refused' }, refuseRecipients: ['nobody@partner.example'] });
      gw = await startGateway({ nextHop: `smtp://127.0.0.1:${sink.port}` });
    });
    afterAll(async () => {
      await gw.stop();
      await sink.close();
    });

    it('passes a refusal for good back as 554 with the next hop reply quoted, so the sending MTA bounces it now', async () => {
      const t = client(gw.smtp.port);
      const result = await sendRaw(t, 'taro@example.co.jp', ['x@partner.example'], sampleMessage());
      t.close();
      expect(result.code).toBe(554);
      expect(result.response).toMatch(/^554 5\.0\.0 Next hop refused the message \(.*554.*content refused/);
      expect(sink.messages).toHaveLength(0);
    });

    it('and when the next hop refuses every recipient', async () => {
      const t = client(gw.smtp.port);
      const result = await sendRaw(t, 'taro@example.co.jp', ['nobody@partner.example'], sampleMessage());
      t.close();
      expect(result.code).toBe(554);
      expect(result.response).toMatch(/no such user/);
    });
  });

  describe('when the next hop refuses some recipients', () => {
    let gw: TestGateway;
    let sink: Sink;
    beforeAll(async () => {
      sink = await startSink({ refuseRecipients: ['gone@partner.example'], deferRecipients: ['busy@partner.example'] });
      gw = await startGateway({ nextHop: `smtp://127.0.0.1:${sink.port}` });
    });
    afterAll(async () => {
      await gw.stop();
      await sink.close();
    });

    it('delivers to the others and tells the sender which recipient was refused for good', async () => {
      const t = client(gw.smtp.port);
      const result = await sendRaw(t, 'taro@example.co.jp', ['ok@partner.example', 'gone@partner.example'], sampleMessage({ subject: '契約書の件' }));
      t.close();
      expect(result.code).toBe(250);
      const got = await sink.waitFor(2);
      expect(got[0]!.to).toEqual(['ok@partner.example']);
      const notice = got[1]!;
      expect(notice.from).toBe('');
      expect(notice.to).toEqual(['taro@example.co.jp']);
      const text = notice.raw.toString();
      expect(text).toMatch(/^X-Outguard-Notice: non-delivery$/m);
      expect(text).toMatch(new RegExp(`^X-Outguard-Ref: ${/delivered as (\S+)/.exec(result.response)![1]}$`, 'm'));
      const body = MessageModel.parse(notice.raw).textParts.join('');
      expect(body).toContain('配信できなかった宛先');
      expect(body).toContain('gone@partner.example');
      expect(body).toContain('契約書の件');
    });

    it('queues the copy for a recipient that was only deferred, so nothing is lost and nobody gets it twice', async () => {
      const t = client(gw.smtp.port);
      const before = sink.messages.length;
      const result = await sendRaw(t, 'taro@example.co.jp', ['ok@partner.example', 'busy@partner.example'], sampleMessage());
      t.close();
      expect(result.code).toBe(250);
      expect(result.response).toContain('queued for a later try');
      const id = /delivered as (\S+)/.exec(result.response)![1]!.replace(/,$/, '');
      expect(sink.messages.slice(before).map((m) => m.to)).toEqual([['ok@partner.example']]);
      // the outbox keeps the same bytes for busy@ alone and tries again later
      const store = SqliteOutboxStore.open(gw.dataDir, loadSecretKey(gw.dataDir, {}).key);
      try {
        const jobs = await store.list({ ref: id });
        expect(jobs.map((j) => [j.kind, j.envelope.to, j.state])).toEqual([['message', ['busy@partner.example'], 'ready']]);
      } finally {
        await store.close();
      }
    });
  });
});

describe('SmtpHop', () => {
  let sink: Sink;
  let hop: SmtpHop;
  beforeAll(async () => {
    sink = await startSink();
    hop = new SmtpHop({ kind: 'smtp', host: '127.0.0.1', port: sink.port, secure: false, url: `smtp://127.0.0.1:${sink.port}` }, { maxConnections: 2, timeoutMs: 5000, tls: 'off', auth: null }, 'outguard.test');
  });
  afterAll(async () => {
    await hop.close();
    await sink.close();
  });

  it('keeps the envelope (the null sender too) and the bytes, adding only dot-stuffing on the wire', async () => {
    const raw = Buffer.from('Subject: dots\r\n\r\n.leading dot\r\n..two\r\nlast line without newline');
    const accepted = await hop.deliver({ id: 'a1', envelope: { from: '', to: ['b@partner.example', 'c@partner.example'] }, raw: new BufferSource(raw) });
    expect(accepted.accepted).toEqual(['b@partner.example', 'c@partner.example']);
    expect(accepted.reply).toMatch(/^250 /);
    const [got] = await sink.waitFor(1);
    expect(got!.from).toBe('');
    expect(got!.to).toEqual(['b@partner.example', 'c@partner.example']);
    expect(got!.raw.toString()).toBe(`${raw.toString()}\r\n`);
  });

  it('refuses for good an address SMTP cannot carry, instead of retrying it forever', async () => {
    const refused = hop.deliver({ id: 'a4', envelope: { from: 'a@example.co.jp', to: ['"><svg>@x.example'] }, raw: new BufferSource(Buffer.from('Subject: x\r\n\r\nx\r\n')) });
    await expect(refused).rejects.toMatchObject({ responseCode: 553 });
  });

  it('goes on over a new connection after the next hop dropped the pooled one', async () => {
    const before = sink.messages.length;
    await hop.deliver({ id: 'a2', envelope: { from: 'a@example.co.jp', to: ['b@partner.example'] }, raw: new BufferSource(Buffer.from('Subject: one\r\n\r\nx\r\n')) });
    await sink.dropConnections();
    await new Promise((r) => setTimeout(r, 50));
    await hop.deliver({ id: 'a3', envelope: { from: 'a@example.co.jp', to: ['b@partner.example'] }, raw: new BufferSource(Buffer.from('Subject: two\r\n\r\ny\r\n')) });
    expect(sink.messages.slice(before).map((m) => m.raw.toString())).toEqual(['Subject: one\r\n\r\nx\r\n', 'Subject: two\r\n\r\ny\r\n']);
  });

  it('sends a message read a chunk at a time, and cuts it off before the end of DATA when a chunk cannot be read', async () => {
    const before = sink.messages.length;
    const body = Buffer.from(`Subject: big\r\n\r\n${'0123456789abcdef'.repeat(64 * 1024)}\r\n`);
    // 1 MB read in 256 KiB pieces: arrives whole
    await hop.deliver({ id: 'a5', envelope: { from: 'a@example.co.jp', to: ['b@partner.example'] }, raw: new BufferSource(body) });
    expect(sink.messages.slice(before).map((m) => m.raw.equals(body))).toEqual([true]);
    // the same message whose third piece fails to open (a damaged sealed chunk): nothing is accepted
    const damaged = {
      length: body.length,
      read(start: number, end: number): Buffer {
        if (start >= 512 * 1024) throw new Error('sealed chunk 3 of 5 failed authentication');
        return body.subarray(start, end);
      },
    };
    await expect(hop.deliver({ id: 'a6', envelope: { from: 'a@example.co.jp', to: ['b@partner.example'] }, raw: damaged })).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.messages.length).toBe(before + 1);
  });
});
