/**
 * "A 2,000-character line reaches a strict Postfix next hop."
 *
 * RFC 5322 allows at most 998 characters on a line. outguard re-encodes every part with a longer
 * line in the copies it sends (src/message/long-lines.ts: quoted-printable for text, base64 for
 * anything else). This test checks that against a real Postfix as outguard's next hop, set up to
 * be strict about line length:
 *
 *   nodemailer → outguard → Postfix smtpd 127.0.0.1:smtpPort (strict) → Postfix smtp client → sink
 *
 * What makes this Postfix (3.7, Debian bookworm) strict:
 * - Postfix has no setting that refuses long lines: smtpd takes lines of any length (it only
 *   stores them in `line_length_limit` pieces and joins them again), and the smtp client breaks
 *   a line longer than `smtp_line_length_limit` (998) by inserting CRLF SPACE, which quietly
 *   changes the content. So its smtpd is given `body_checks` that refuse, at the end of DATA,
 *   any body line of 999 characters or more (checks apply to this smtpd: only the return port of
 *   test/support/postfix.ts turns them off). The first test checks that the refusal works, by
 *   sending the same messages to Postfix directly.
 * - `smtpd_forbid_bare_newline = reject` with no exclusions (the default excludes $mynetworks;
 *   `yes` only normalizes): a line ending in a bare LF is refused as well (550).
 * - `content_filter` is emptied: here Postfix is outguard's next hop, not its front MTA, so mail
 *   goes straight on to the relayhost, a sink that also refuses a line over 998
 *   (`maxLineLength`). Were a long line to get past body_checks, Postfix's smtp client would
 *   break it and the decoded text would no longer match.
 *
 * Every copy that reaches the sink is checked: no line over 998 octets (nor a bare LF), the
 * re-encoded part says quoted-printable, and what a reader decodes is the original text byte for
 * byte — by Python's email package (exact bytes, CRLFs kept) and by mailparser (which gives
 * LF line ends).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, run, sendRaw } from '../support/client.js';
import { type TestGateway, startGateway } from '../support/gateway.js';
import { type Postfix, freePort, startPostfix } from '../support/postfix.js';
import { type Received, type Sink, startSink } from '../support/sink.js';
import { requirePythonModule, requireRoot, requireTool } from '../support/tools.js';
import { until } from '../support/wait.js';

const python = requirePythonModule('email', 'python3');
const canRun = requireTool('postfix', 'postfix') && requireTool('swaks', 'swaks') && python !== undefined && requireRoot('a private Postfix instance');

const CRLF = '\r\n';
/** A body line the strict Postfix refuses for good (body_checks), whatever outguard does to the message. */
const REFUSED_MARK = 'REFUSE-THIS-MESSAGE-FOR-GOOD';
const MAX_LINE = 998;
const SENDER = 'taro@agency.example.jp';
const PARTNER = 'alice@partner.example.com';

/** Exactly `n` characters (code points) of `pattern`, repeated. */
const chars = (pattern: string, n: number) => [...pattern.repeat(Math.ceil(n / [...pattern].length))].slice(0, n).join('');

// '=' and a space at the end: quoted-printable must escape the first and keep the second.
const ASCII_LINE = `${chars('The quick brown fox jumps over the lazy dog; 1+1=2, 100% sure. ', 1999)} `;
const JAPANESE_LINE = chars('お世話になっております。月次報告（第3四半期）をお送りします。Total=¥1,234,567 ', 2000);
const HTML_LINE = `<p>${chars('受託者向け情報セキュリティ遵守事項 第6-2 <b>添付ファイル</b> ', 1993)}</p>`;

interface Case {
  name: string;
  /** The message's Content-Type; a multipart one gets each of `bodies` as a part (8bit, UTF-8). */
  contentType: string;
  /** The message's Content-Transfer-Encoding, if any (none: 7bit). */
  transferEncoding?: string;
  /** The text bodies as sent, in walk() order; each case has one line of 2,000 characters. */
  bodies: { contentType: string; text: string }[];
}

const CASES: Case[] = [
  {
    name: 'ascii',
    contentType: 'text/plain; charset=us-ascii',
    bodies: [{ contentType: 'text/plain', text: ['Dear Alice,', '', ASCII_LINE, '', 'Regards,', 'Taro', ''].join(CRLF) }],
  },
  {
    name: 'japanese',
    contentType: 'text/plain; charset=UTF-8',
    transferEncoding: '8bit',
    bodies: [{ contentType: 'text/plain', text: ['山田様', '', JAPANESE_LINE, '以上、よろしくお願いいたします。', ''].join(CRLF) }],
  },
  {
    name: 'alternative',
    contentType: 'multipart/alternative; boundary="=_alt"',
    bodies: [
      { contentType: 'text/plain', text: ['山田様', JAPANESE_LINE, '以上'].join(CRLF) },
      { contentType: 'text/html', text: ['<html><body>', HTML_LINE, '</body></html>'].join(CRLF) },
    ],
  },
];

function writeMessage(c: Case): { raw: Buffer; messageId: string } {
  const messageId = `<long-lines.${c.name}.${randomBytes(6).toString('hex')}@agency.example.jp>`;
  const head = [
    'Date: Thu, 26 Nov 2026 12:00:00 +0900',
    `From: Taro <${SENDER}>`,
    `To: Alice <${PARTNER}>`,
    `Subject: long lines (${c.name})`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    `Content-Type: ${c.contentType}`,
    ...(c.transferEncoding ? [`Content-Transfer-Encoding: ${c.transferEncoding}`] : []),
  ];
  let body: string;
  if (c.contentType.startsWith('multipart/')) {
    const boundary = /boundary="([^"]+)"/.exec(c.contentType)![1]!;
    body = `${c.bodies.map((b) => `--${boundary}${CRLF}Content-Type: ${b.contentType}; charset=UTF-8${CRLF}Content-Transfer-Encoding: 8bit${CRLF}${CRLF}${b.text}${CRLF}`).join('')}--${boundary}--${CRLF}`;
  } else {
    body = c.bodies[0]!.text;
  }
  return { raw: Buffer.from(`${head.join(CRLF)}${CRLF}${CRLF}${body}`, 'utf8'), messageId };
}

/**
 * One SMTP transaction written to the socket byte for byte (no client rewrites line ends); the
 * server's reply to the end of DATA, or the first reply that is not the one expected.
 */
function rawSmtp(port: number, from: string, to: string, data: string): Promise<string> {
  const steps: [expected: string, send: string][] = [
    ['220', 'EHLO client.pfx-test.invalid\r\n'],
    ['250', `MAIL FROM:<${from}>\r\n`],
    ['250', `RCPT TO:<${to}>\r\n`],
    ['250', 'DATA\r\n'],
    ['354', `${data}.\r\n`],
  ];
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buffer = '';
    const finish = (reply: string) => {
      socket.end('QUIT\r\n');
      resolve(reply);
    };
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error(`no SMTP reply; so far: ${buffer}`));
    });
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let eol = buffer.indexOf('\r\n'); eol >= 0; eol = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        if (line[3] === '-') continue; // a multi-line reply goes on
        const step = steps.shift();
        if (!step) return finish(line);
        if (!line.startsWith(step[0])) return finish(line);
        socket.write(step[1]);
      }
    });
  });
}

/** The longest line of raw, in octets (its CRLF not counted). */
const longestLine = (raw: Buffer) => Math.max(...raw.toString('latin1').split(CRLF).map((l) => l.length));

/** Every non-multipart part as Python's email package decodes it (compat32: get_payload(decode=True), exact bytes). */
function pythonLeaves(raw: Buffer): { contentType: string; transferEncoding: string; content: Buffer }[] {
  const script = [
    'import base64, email, json, sys',
    "msg = email.message_from_bytes(sys.stdin.buffer.read())  # from a file object, CRLFs would be read as LF",
    'print(json.dumps([{"contentType": p.get_content_type(), "transferEncoding": str(p.get("Content-Transfer-Encoding", "")).strip().lower(),',
    '  "content": base64.b64encode(p.get_payload(decode=True)).decode()} for p in msg.walk() if not p.is_multipart()]))',
  ].join('\n');
  const out = execFileSync(python!, ['-c', script], { input: raw, encoding: 'utf8', timeout: 10_000 });
  return (JSON.parse(out) as { contentType: string; transferEncoding: string; content: string }[]).map((l) => ({ ...l, content: Buffer.from(l.content, 'base64') }));
}

/** mailparser gives text with LF line ends. */
const asMailparserReads = (text: string) => text.split(CRLF).join('\n');

describe.skipIf(!canRun)('a 2,000-character line reaches a strict Postfix next hop', () => {
  let sink: Sink;
  let postfix: Postfix;
  let gateway: TestGateway;
  let workDir: string;

  beforeAll(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-e2e-'));
    fs.chmodSync(workDir, 0o755);
    const bodyChecks = path.join(workDir, 'body_checks');
    fs.writeFileSync(bodyChecks, `/^.{${MAX_LINE + 1}}/ REJECT 5.5.2 line longer than ${MAX_LINE} characters\n/${REFUSED_MARK}/ REJECT 5.7.1 content refused by the next hop's policy\n`, { mode: 0o644 });
    sink = await startSink({ maxLineLength: MAX_LINE });
    postfix = await startPostfix({
      // not used: content_filter is emptied below (here Postfix is the next hop, not the front MTA)
      filterPort: await freePort(),
      relayPort: sink.port,
      mainCf: {
        content_filter: '',
        body_checks: `regexp:${bodyChecks}`,
        smtpd_forbid_bare_newline: 'reject',
        smtpd_forbid_bare_newline_exclusions: '',
      },
    });
    gateway = await startGateway({
      nextHop: `smtp://127.0.0.1:${postfix.smtpPort}`,
      smtp: { listen: '127.0.0.1:0', hostname: 'outguard.pfx-test.invalid', shutdownTimeoutMs: 2000 },
      delivery: { timeoutMs: 5000 },
      organization: { internalDomains: ['agency.example.jp'] },
    });
  });

  afterAll(async () => {
    // Each step on its own: one failing must not leave the others running.
    const steps: (() => Promise<unknown> | undefined)[] = [() => gateway?.stop(), () => postfix?.stop(), () => sink?.close()];
    for (const step of steps) await Promise.resolve().then(step).catch((err) => console.error('cleanup:', err));
    for (const dir of [workDir, gateway && path.dirname(gateway.config.source)]) {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the next hop is strict: Postfix itself refuses each original message with its 2,000-character line', async () => {
    for (const c of CASES) {
      const { raw, messageId } = writeMessage(c);
      expect(longestLine(raw)).toBeGreaterThan(MAX_LINE);
      const file = path.join(workDir, `${c.name}.eml`);
      // swaks adds the final CRLF before ".": drop ours so the message stays the same
      fs.writeFileSync(file, raw.subarray(0, raw.length - 2));
      await expect(postfix.submit({ from: SENDER, to: [PARTNER], dataFile: file })).rejects.toThrow(/<\*\*\s+550 5\.5\.2 .*line longer than 998 characters/);
      expect(sink.messages.filter((m) => m.raw.includes(messageId))).toHaveLength(0);
    }
    await postfix.waitForLog(/reject: body .* 5\.5\.2 line longer than 998 characters/);
    // and a bare LF is refused too (swaks would turn it into CRLF: written to the socket as it is)
    const bareLf = await rawSmtp(postfix.smtpPort, SENDER, PARTNER, `From: ${SENDER}\r\nTo: ${PARTNER}\r\nSubject: bare LF\r\n\r\none\ntwo\r\n`);
    expect(bareLf).toMatch(/^550 .*bare <LF>/i);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s: outguard answers 250 and the copy arrives, no line over 998 octets, the text decoded byte for byte', async (_name, c) => {
    const { raw, messageId } = writeMessage(c);
    expect(c.bodies.some((b) => b.text.split(CRLF).some((l) => [...l].length === 2000))).toBe(true);

    const transport = client(gateway.smtp.port);
    const result = await sendRaw(transport, SENDER, [PARTNER], raw);
    transport.close();
    // 250 only once the strict Postfix accepted the copy
    expect(result, result.response).toMatchObject({ ok: true, code: 250 });
    expect(result.response).toMatch(/^250 /);

    const copies = await until(
      () => {
        const got = sink.messages.filter((m) => m.raw.includes(messageId));
        return got.length > 0 ? got : undefined;
      },
      10_000,
      () => `the sink never got ${messageId}; postfix log:\n${postfix.readLog().split('\n').slice(-15).join('\n')}`,
    );
    await postfix.waitForEmptyQueue();
    expect(copies).toHaveLength(1);
    const got: Received = copies[0]!;
    expect(got.from).toBe(SENDER);
    expect(got.to).toEqual([PARTNER]);

    // what reached the final hop: every line within the limit, CRLF only
    const text = got.raw.toString('latin1');
    expect(longestLine(got.raw)).toBeLessThanOrEqual(MAX_LINE);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);

    // Python's email: every text part re-encoded as quoted-printable, decoded exactly as written
    const leaves = pythonLeaves(got.raw);
    expect(leaves.map((l) => l.contentType)).toEqual(c.bodies.map((b) => b.contentType));
    for (const [i, leaf] of leaves.entries()) {
      expect(leaf.transferEncoding).toBe('quoted-printable');
      const want = Buffer.from(c.bodies[i]!.text, 'utf8');
      expect(leaf.content.equals(want), `part ${i} decoded by Python differs from what was sent`).toBe(true);
    }

    // mailparser: the same text (with LF line ends, as it gives them)
    const parsed = await simpleParser(got.raw, { skipHtmlToText: true, skipTextToHtml: true });
    const plain = c.bodies.find((b) => b.contentType === 'text/plain')!;
    expect(parsed.text?.replace(/\n$/, '')).toBe(asMailparserReads(plain.text).replace(/\n$/, ''));
    const html = c.bodies.find((b) => b.contentType === 'text/html');
    if (html) expect(parsed.html).toBe(asMailparserReads(html.text));
  });

  it('a permanent refusal by the next hop is passed back (554 with its reply), not 451 forever; the audit log says so', async () => {
    const transport = client(gateway.smtp.port);
    const raw = Buffer.from(`From: ${SENDER}\r\nTo: ${PARTNER}\r\nSubject: refused\r\n\r\nhello\r\n${REFUSED_MARK}\r\n`);
    const result = await sendRaw(transport, SENDER, [PARTNER], raw);
    transport.close();
    expect(result.code).toBe(554);
    expect(result.response).toMatch(/^554 5\.7\.1 Next hop refused the message \(550 5\.7\.1 .*content refused by the next hop's policy/);
    const id = gateway.logs.find((l) => l.msg === 'message' && l.action === 'refused')?.id as string;
    expect(id).toBeDefined();
    const events = await until(async () => {
      const out = await run('node', [path.resolve('bin/outguard.js'), 'audit', 'export', '--format', 'json', '--config', gateway.config.source]);
      const list = (JSON.parse(out.stdout) as { type: string; messageId?: string }[]).filter((e) => e.messageId === id).map((e) => e.type);
      return list.includes('next-hop-refused') ? list : undefined;
    });
    // the decision's event was written before the end of DATA; the refusal follows it
    expect(events).toEqual(['delivered', 'next-hop-refused']);
  });
});
