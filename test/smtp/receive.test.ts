import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { InboundMessage, Outcome } from '../../src/gateway.js';
import { SmtpListener } from '../../src/smtp/server.js';
import { Spool, SpoolSource } from '../../src/store/spool.js';
import { writeConfig } from '../support/gateway.js';

const MB = 1024 * 1024;

/** A message of about `bytes` bytes whose body is one recognisable line repeated. */
function message(bytes: number, marker = 'PLAINTEXT-MARKER'): Buffer {
  const line = `${marker} ${'x'.repeat(60)}\r\n`;
  return Buffer.from(`From: a@example.co.jp\r\nTo: b@example.com\r\nSubject: big\r\n\r\n${line.repeat(Math.ceil(bytes / line.length))}`);
}

/** The listener alone, in front of a handler the test controls, with its spool in a fresh data dir. */
async function listen(smtp: Record<string, unknown>, handle: (m: InboundMessage, spoolFiles: string[]) => Promise<Outcome>) {
  const config = loadConfig({ file: writeConfig({ smtp }), env: {} });
  const spool = new Spool(config.dataDir);
  const seen: { size: number; spooled: boolean; bytes: Buffer }[] = [];
  const listener = new SmtpListener(
    config,
    {
      async process(m) {
        seen.push({ size: m.source.length, spooled: m.source instanceof SpoolSource, bytes: Buffer.from(m.source.read(0, m.source.length)) });
        return handle(m, fs.readdirSync(spool.dir));
      },
    },
    pino({ level: 'silent' }),
    spool,
  );
  const address = await listener.listen();
  return { listener, port: address.port, spool, seen };
}

function connect(port: number): Promise<SMTPConnection> {
  const conn = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true, logger: false });
  return new Promise((resolve, reject) => {
    conn.once('error', reject);
    conn.connect((err) => (err ? reject(err) : resolve(conn)));
  });
}

/** Sends one message; resolves with the final reply, 250 or not. */
function send(conn: SMTPConnection, raw: Buffer, size?: number): Promise<string> {
  return new Promise((resolve) =>
    conn.send({ from: 'a@example.co.jp', to: ['b@example.com'], ...(size ? { size } : {}) }, raw, (err, info) =>
      resolve(err ? ((err as Error & { response?: string }).response ?? err.message) : info!.response),
    ),
  );
}

const accepted = async (): Promise<Outcome> => ({ id: 'x', code: 250, text: '2.0.0 Ok' });
const running: SmtpListener[] = [];
afterEach(async () => {
  for (const l of running.splice(0)) await l.close();
});

describe('receiving large mail', () => {
  it('keeps small mail in memory and spools larger mail, sealed, removing the file once answered', async () => {
    let during: string[] = [];
    let spoolBytes = Buffer.alloc(0);
    const { listener, port, spool, seen } = await listen({ spoolThreshold: MB }, async (_m, files) => {
      during = files;
      spoolBytes = Buffer.concat(files.map((f) => fs.readFileSync(path.join(spool.dir, f))));
      return accepted();
    });
    running.push(listener);
    const conn = await connect(port);
    const small = message(100_000);
    const large = message(3 * MB);
    expect(await send(conn, small)).toMatch(/^250/);
    expect(await send(conn, large)).toMatch(/^250/);
    conn.close();
    expect(seen.map((s) => s.spooled)).toEqual([false, true]);
    // what the handler reads is exactly what was sent (smtp-server undoes the dot-stuffing)
    expect(seen[1]!.bytes.equals(large)).toBe(true);
    expect(during).toHaveLength(1);
    // on disk it is sealed: the text sent is nowhere in the file
    expect(spoolBytes.length).toBeGreaterThan(large.length);
    expect(spoolBytes.includes('PLAINTEXT-MARKER')).toBe(false);
    expect(fs.readdirSync(spool.dir)).toEqual([]);
  });

  it('stops keeping a message once it passes maxSize: 552, nothing spooled, nothing handled', async () => {
    const { listener, port, spool, seen } = await listen({ maxSize: MB, spoolThreshold: 100_000 }, accepted);
    running.push(listener);
    const conn = await connect(port);
    expect(await send(conn, message(5 * MB))).toMatch(/^552 5\.3\.4/);
    conn.close();
    expect(seen).toEqual([]);
    expect(fs.readdirSync(spool.dir)).toEqual([]);
    expect(listener.budget.bytes).toBe(0);
  });

  it('answers 452 while the in-flight budget is full, before DATA when the size is declared, and takes mail again once it is free', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    let first = true;
    const { listener, port, seen } = await listen({ maxSize: 2 * MB, inFlightBytes: 3 * MB, spoolThreshold: MB }, async () => {
      if (first) {
        first = false;
        await blocked;
      }
      return accepted();
    });
    running.push(listener);
    const [a, b, c] = await Promise.all([connect(port), connect(port), connect(port)]);
    // the first message (1.8 MB) is being handled and holds its bytes
    const firstReply = send(a, message(1.8 * MB));
    await expect.poll(() => seen.length).toBe(1);
    expect(listener.budget.bytes).toBeGreaterThan(1.8 * MB);
    // a second one that does not fit: its DATA is read and dropped, then 452
    expect(await send(b, message(1.5 * MB))).toMatch(/^452 4\.3\.1/);
    // one that declares its size is refused at MAIL FROM
    expect(await send(c, message(1.5 * MB), 1.5 * MB)).toMatch(/^452 4\.3\.1/);
    expect(seen).toHaveLength(1);
    release();
    expect(await firstReply).toMatch(/^250/);
    expect(listener.budget.bytes).toBe(0);
    expect(await send(b, message(1.5 * MB))).toMatch(/^250/);
    for (const conn of [a, b, c]) conn.close();
  });

  it('answers 451 and keeps nothing when the spool cannot be written', async () => {
    const { listener, port, spool, seen } = await listen({ spoolThreshold: 100_000 }, accepted);
    running.push(listener);
    // the spool directory is gone (a full or broken disk looks the same to the writer)
    fs.rmSync(spool.dir, { recursive: true });
    const conn = await connect(port);
    expect(await send(conn, message(MB))).toMatch(/^451 4\.3\.0/);
    conn.close();
    expect(seen).toEqual([]);
    expect(listener.budget.bytes).toBe(0);
  });
});
