import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/crypto/password-hash.js';
import { client, run, sampleMessage, sendRaw } from '../support/client.js';
import { type TestGateway, startGateway, tempDir } from '../support/gateway.js';
import { type Sink, startSink } from '../support/sink.js';
import { requireTool } from '../support/tools.js';

const ID_LINE = /^X-Outguard-Id: ([0-9a-z]{9}-[a-z2-9]{10})\r\n/;

/** Strips the one header the gateway adds and returns [id, rest]. */
function splitId(raw: Buffer): [string, Buffer] {
  const m = ID_LINE.exec(raw.subarray(0, 200).toString('latin1'));
  if (!m) throw new Error(`no X-Outguard-Id first line in: ${raw.subarray(0, 80).toString('latin1')}`);
  return [m[1]!, raw.subarray(m[0].length)];
}

/** A minimal SMTP dialogue over a raw socket, for what client libraries refuse to send. */
async function dialogue(port: number, lines: (string | Buffer)[], localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    let transcript = '';
    let sent = false;
    socket.on('data', (d) => {
      transcript += d.toString('latin1');
      if (!sent && transcript.startsWith('220')) {
        sent = true;
        for (const l of lines) socket.write(l);
      }
      if (/^221 /m.test(transcript)) socket.end();
    });
    socket.on('close', () => resolve(transcript));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(transcript);
    }, 5000);
  });
}

describe('relay to an SMTP next hop', () => {
  let sink: Sink;
  let gw: TestGateway;
  let transport: ReturnType<typeof client>;

  beforeAll(async () => {
    sink = await startSink();
    gw = await startGateway({ nextHop: `smtp://127.0.0.1:${sink.port}`, smtp: { maxSize: 100000, maxRecipients: 3 } });
    transport = client(gw.smtp.port);
  });
  afterAll(async () => {
    transport.close();
    await gw.stop();
    await sink.close();
  });

  it('delivers the same bytes plus one X-Outguard-Id header, envelope kept exactly', async () => {
    const raw = sampleMessage();
    const before = sink.messages.length;
    const result = await sendRaw(transport, 'taro@example.co.jp', ['a@partner.example', 'B@Partner.Example'], raw);
    expect(result.ok).toBe(true);
    const got = (await sink.waitFor(before + 1))[before]!;
    const [id, rest] = splitId(got.raw);
    expect(rest.equals(raw)).toBe(true);
    expect(got.from).toBe('taro@example.co.jp');
    // local parts exactly; domains are case-insensitive (RFC 5321) and arrive lower-cased
    expect(got.to).toEqual(['a@partner.example', 'B@partner.example']);
    expect(result.response).toContain(id);
    const line = gw.logs.find((l) => l.id === id)!;
    expect(line).toMatchObject({ msg: 'message', action: 'deliver', client: '127.0.0.1', from: 'taro@example.co.jp', rcptCount: 2, size: raw.length });
    expect(typeof line.ms).toBe('number');
    expect(String(line.reply)).toMatch(/^250 /);
    expect(JSON.stringify(gw.logs)).not.toContain('お世話になっております');
  });

  it('keeps the null sender <> of bounces', async () => {
    const before = sink.messages.length;
    const result = await sendRaw(transport, '', ['postmaster@partner.example'], sampleMessage({ subject: 'Undelivered' }));
    expect(result.ok).toBe(true);
    expect((await sink.waitFor(before + 1))[before]!.from).toBe('');
  });

  it('delivers what Python smtplib sends, byte for byte', async () => {
    const before = sink.messages.length;
    const raw = sampleMessage({ subject: 'from python', body: 'line one\r\n.leading dot\r\n..two dots\r\n' });
    const script = [
      'import smtplib,sys',
      `s=smtplib.SMTP("127.0.0.1",${gw.smtp.port})`,
      'msg=sys.stdin.buffer.read()',
      'print(s.sendmail("py@example.co.jp",["x@partner.example"],msg))',
      's.quit()',
    ].join('\n');
    const out = await run('python3', ['-c', script], raw.toString('latin1'));
    expect(out.stderr).toBe('');
    const got = (await sink.waitFor(before + 1))[before]!;
    expect(splitId(got.raw)[1].equals(raw)).toBe(true);
  });

  it.skipIf(!requireTool('swaks', 'swaks'))('delivers what swaks sends', async () => {
    const before = sink.messages.length;
    const out = await run('swaks', ['--server', `127.0.0.1:${gw.smtp.port}`, '--from', 'sw@example.co.jp', '--to', 'y@partner.example', '--header', 'Subject: swaks test', '--body', 'hello from swaks']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/<- {2}250 2\.0\.0 Ok: delivered as /);
    const got = (await sink.waitFor(before + 1))[before]!;
    expect(got.raw.toString()).toContain('Subject: swaks test');
    expect(got.raw.toString()).toContain('hello from swaks');
  });

  it('answers 552 for a message over smtp.maxSize and delivers nothing', async () => {
    const before = sink.messages.length;
    const result = await sendRaw(transport, 'taro@example.co.jp', ['a@partner.example'], sampleMessage({ body: 'x'.repeat(120000) }));
    expect(result.code).toBe(552);
    expect(result.response).toMatch(/^552 5\.3\.4 /);
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.messages.length).toBe(before);
  });

  it('answers 452 beyond the recipient limit', async () => {
    const result = await sendRaw(transport, 'taro@example.co.jp', ['1@p.example', '2@p.example', '3@p.example', '4@p.example'], sampleMessage());
    expect(result.ok).toBe(true); // nodemailer sends to the accepted three
    const transcript = await dialogue(gw.smtp.port, [
      'EHLO t\r\nMAIL FROM:<a@example.co.jp>\r\nRCPT TO:<1@p.example>\r\nRCPT TO:<2@p.example>\r\nRCPT TO:<3@p.example>\r\nRCPT TO:<4@p.example>\r\nQUIT\r\n',
    ]);
    expect(transcript).toMatch(/^452 4\.5\.3 Too many recipients/m);
  });

  it('never splits a message at a bare-LF dot (SMTP smuggling)', async () => {
    const before = sink.messages.length;
    const smuggled =
      'From: a@example.co.jp\r\nTo: b@partner.example\r\nSubject: smuggle\r\n\r\nfirst\n.\nMAIL FROM:<evil@example.co.jp>\r\n' +
      'second\r\n.\nRCPT TO:<victim@partner.example>\r\nthird\n.\r\nDATA\r\nfourth\r.\r\nend\r\n';
    const transcript = await dialogue(gw.smtp.port, [
      'EHLO t\r\nMAIL FROM:<a@example.co.jp>\r\nRCPT TO:<b@partner.example>\r\nDATA\r\n',
      Buffer.from(smuggled + '.\r\nQUIT\r\n', 'latin1'),
    ]);
    expect(transcript.match(/^250 2\.0\.0 Ok: delivered/gm)?.length).toBe(1);
    const got = await sink.waitFor(before + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.messages.length).toBe(before + 1);
    const text = got[before]!.raw.toString('latin1');
    expect(got[before]!.to).toEqual(['b@partner.example']);
    expect(text).toContain('MAIL FROM:<evil@example.co.jp>');
    expect(text).toContain('RCPT TO:<victim@partner.example>');
    expect(text).toContain('fourth');
  });
});

describe('who may relay', () => {
  let sink: Sink;
  let gw: TestGateway;
  let certDir: string;

  beforeAll(async () => {
    certDir = tempDir();
    execFileSync(path.resolve('certs/make-self-signed.sh'), [certDir, 'localhost'], { stdio: 'ignore' });
    sink = await startSink();
    gw = await startGateway({
      nextHop: `smtp://127.0.0.1:${sink.port}`,
      smtp: {
        listen: '0.0.0.0:0',
        relayNetworks: ['127.0.0.1/32'],
        tls: { key: path.join(certDir, 'outguard.key'), cert: path.join(certDir, 'outguard.crt') },
        users: [
          { username: 'alice', password: await hashPassword('correct horse'), from: ['alice@example.co.jp'] },
          { username: 'carol', password: await hashPassword('battery staple') },
        ],
        maxAuthFailures: 3,
        stageTimeoutMs: 2000,
      },
      organization: { internalDomains: ['example.co.jp'] },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await sink.close();
  });

  const from127002 = (extra: Record<string, unknown>) =>
    client(gw.smtp.port, { localAddress: '127.0.0.2', ignoreTLS: false, tls: { rejectUnauthorized: false }, pool: false, ...extra });

  it('refuses a client outside relayNetworks without AUTH (no open relay)', async () => {
    const before = sink.messages.length;
    const t = from127002({ ignoreTLS: true });
    const result = await sendRaw(t, 'x@example.co.jp', ['y@partner.example'], sampleMessage());
    t.close();
    expect(result.code).toBe(530);
    expect(result.response).toMatch(/^530 5\.7\.0 Authentication required/);
    expect(sink.messages.length).toBe(before);
  });

  it('does not offer AUTH before STARTTLS', async () => {
    const transcript = await dialogue(gw.smtp.port, ['EHLO t\r\nAUTH PLAIN AGFsaWNlAGNvcnJlY3QgaG9yc2U=\r\nQUIT\r\n'], '127.0.0.2');
    expect(transcript).toMatch(/^250[ -]STARTTLS/m);
    expect(transcript).not.toMatch(/^250[ -]AUTH/m);
    expect(transcript).toMatch(/^5\d\d /m);
    expect(transcript).not.toMatch(/^235 /m);
  });

  it('relays for an authenticated user over STARTTLS', async () => {
    const before = sink.messages.length;
    const t = from127002({ requireTLS: true, auth: { user: 'alice', pass: 'correct horse' } });
    const result = await sendRaw(t, 'alice@example.co.jp', ['y@partner.example'], sampleMessage());
    t.close();
    expect(result.ok).toBe(true);
    await sink.waitFor(before + 1);
    const authLine = gw.logs.find((l) => l.msg === 'smtp auth' && l.ok === true);
    expect(authLine).toMatchObject({ username: 'alice' });
    expect(JSON.stringify(gw.logs)).not.toContain('correct horse');
  });

  it('refuses a wrong password with 535', async () => {
    const t = from127002({ requireTLS: true, auth: { user: 'alice', pass: 'wrong' } });
    const result = await sendRaw(t, 'alice@example.co.jp', ['y@partner.example'], sampleMessage());
    t.close();
    expect(result.code).toBe(535);
  });

  it('does not log a username that is no user (it may be a password typed into the wrong field)', async () => {
    const t = from127002({ requireTLS: true, auth: { user: 'correct horse 2', pass: 'alice' } });
    expect((await sendRaw(t, 'alice@example.co.jp', ['y@partner.example'], sampleMessage())).code).toBe(535);
    t.close();
    expect(gw.logs.filter((l) => l.msg === 'smtp auth').at(-1)).toMatchObject({ username: '(unknown user)', ok: false });
    expect(JSON.stringify(gw.logs)).not.toContain('correct horse 2');
  });

  it('refuses a sender address that is not the login\'s: alice cannot send as bob (553), carol may use any address of the organisation', async () => {
    const before = sink.messages.length;
    const alice = from127002({ requireTLS: true, auth: { user: 'alice', pass: 'correct horse' } });
    const asBob = await sendRaw(alice, 'bob@example.co.jp', ['y@partner.example'], sampleMessage());
    alice.close();
    expect(asBob.code).toBe(553);
    expect(asBob.response).toMatch(/^553 5\.7\.1 Sender address <bob@example\.co\.jp> is not allowed for this login/);
    const carol = from127002({ requireTLS: true, auth: { user: 'carol', pass: 'battery staple' } });
    expect((await sendRaw(carol, 'carol@sub.example.co.jp', ['y@partner.example'], sampleMessage())).ok).toBe(true);
    expect((await sendRaw(carol, 'carol@partner.example', ['y@partner.example'], sampleMessage())).code).toBe(553);
    carol.close();
    expect(sink.messages.length).toBe(before + 1);
  });

  it('locks a username and a client address out after repeated failed AUTH: 454, even with the right password, without trying it', async () => {
    const from127003 = (pass: string) => client(gw.smtp.port, { localAddress: '127.0.0.3', ignoreTLS: false, tls: { rejectUnauthorized: false }, pool: false, requireTLS: true, auth: { user: 'carol', pass } });
    for (let i = 0; i < 3; i++) {
      const t = from127003('wrong');
      expect((await sendRaw(t, 'carol@example.co.jp', ['y@partner.example'], sampleMessage())).code).toBe(535);
      t.close();
    }
    const t = from127003('battery staple');
    const locked = await sendRaw(t, 'carol@example.co.jp', ['y@partner.example'], sampleMessage());
    t.close();
    expect(locked.code).toBe(454);
    expect(locked.response).toMatch(/^454 4\.7\.0 /);
    expect(gw.logs.some((l) => l.msg === 'smtp auth locked out' && l.scope === 'user')).toBe(true);
    // the same user from another address is locked out too (the username is)
    const other = from127002({ requireTLS: true, auth: { user: 'carol', pass: 'battery staple' } });
    expect((await sendRaw(other, 'carol@example.co.jp', ['y@partner.example'], sampleMessage())).code).toBe(454);
    other.close();
  });

  it('gives a client outside relayNetworks smtp.stageTimeoutMs from the end of a message to its next MAIL FROM, then closes with 421', async () => {
    const conn = new SMTPConnection({ host: '127.0.0.1', port: gw.smtp.port, localAddress: '127.0.0.4', tls: { rejectUnauthorized: false }, requireTLS: true, logger: false });
    await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) => conn.login({ user: 'alice', pass: 'correct horse' }, (err) => (err ? reject(err) : resolve())));
    const info = await new Promise<{ response: string }>((resolve, reject) =>
      conn.send({ from: 'alice@example.co.jp', to: ['y@partner.example'] }, sampleMessage(), (err, i) => (err ? reject(err) : resolve(i!))),
    );
    expect(info.response).toMatch(/^250 /);
    const closed = new Promise<void>((resolve) => conn.once('end', () => resolve()));
    // the server's 421 surfaces as an error on the idle connection
    conn.on('error', () => undefined);
    const started = Date.now();
    await closed;
    // idle for the stage limit (2 s), far below the idle timeout (60 s)
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(gw.logs.some((l) => l.msg === 'connection closed: a stage took longer than smtp.stageTimeoutMs')).toBe(true);
  });

  it('lets a client inside relayNetworks relay without AUTH', async () => {
    const t = client(gw.smtp.port);
    const result = await sendRaw(t, 'x@example.co.jp', ['y@partner.example'], sampleMessage());
    t.close();
    expect(result.ok).toBe(true);
  });
});
