import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileHop } from '../../src/delivery/file-hop.js';
import { NextHopError } from '../../src/delivery/next-hop.js';
import { BufferSource } from '../../src/message/source.js';
import { client, sampleMessage, sendRaw } from '../support/client.js';
import { type TestGateway, startGateway, tempDir } from '../support/gateway.js';

describe('file: next hop', () => {
  it('never shows a partly written .eml: each appears whole, under its id', async () => {
    const dir = path.join(tempDir(), 'outbox');
    const hop = new FileHop(dir);
    const raw = Buffer.alloc(30 * 1024 * 1024, 'a');
    const seen: { name: string; size: number }[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        for (const name of fs.readdirSync(dir)) {
          if (name.endsWith('.eml')) seen.push({ name, size: fs.statSync(path.join(dir, name)).size });
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const accepted = await hop.deliver({ id: 'm1', envelope: { from: 'a@example.co.jp', to: ['b@partner.example'] }, raw: new BufferSource(raw) });
    polling = false;
    await poll;
    expect(accepted.reply).toContain('m1.eml');
    expect(fs.readdirSync(dir)).toEqual(['m1.eml']);
    expect(seen.every((s) => s.name === 'm1.eml' && s.size === raw.length)).toBe(true);
  });

  it('reports a folder it cannot write to as a next-hop failure, leaving no temp file', async () => {
    const dir = path.join(tempDir(), 'outbox');
    const hop = new FileHop(dir);
    fs.rmSync(dir, { recursive: true });
    fs.writeFileSync(dir, 'not a directory');
    await expect(hop.deliver({ id: 'm2', envelope: { from: '', to: ['b@partner.example'] }, raw: new BufferSource(Buffer.from('x')) })).rejects.toBeInstanceOf(NextHopError);
  });
});

describe('file: next hop through the gateway', () => {
  let gw: TestGateway;
  let outbox: string;
  beforeAll(async () => {
    outbox = path.join(tempDir(), 'out');
    gw = await startGateway({ nextHop: `file:${outbox}` });
  });
  afterAll(() => gw.stop());

  it('writes one .eml per accepted message: X-Outguard-Id, then the bytes as sent', async () => {
    const t = client(gw.smtp.port);
    const raw = sampleMessage({ subject: '見積書の件' });
    const result = await sendRaw(t, 'taro@example.co.jp', ['x@partner.example'], raw);
    t.close();
    expect(result.ok).toBe(true);
    const id = /delivered as (\S+)/.exec(result.response)![1]!;
    const written = fs.readFileSync(path.join(outbox, `${id}.eml`));
    expect(written.equals(Buffer.concat([Buffer.from(`X-Outguard-Id: ${id}\r\n`), raw]))).toBe(true);
    expect(fs.readdirSync(outbox).filter((n) => !n.endsWith('.eml'))).toEqual([]);
  });
});
