import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageModel } from '../../src/message/model.js';
import { SEVEN_ZIP, sevenZipExtract } from '../support/archives.js';
import { client, run, sendRaw } from '../support/client.js';
import { type TestGateway, startGateway, tempDir, writeConfig } from '../support/gateway.js';
import { type Received, type Sink, startSink } from '../support/sink.js';
import { withAttachments } from '../support/mime.js';
import { passwordOf } from '../support/notices.js';
import { requireTool } from '../support/tools.js';
import { writePolicy } from '../support/policy.js';
import { until } from '../support/wait.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const FILES: Record<string, Buffer> = {
  '見積書.txt': Buffer.from('お見積もり\n合計 1,234,000 円\n'.repeat(50)),
  'ランダム データ.bin': randomBytes(200 * 1024),
  '写真.jpg': randomBytes(64 * 1024),
  '資料.csv.gz': gzipSync(Buffer.from('a,b,c\n'.repeat(1000))),
  '空のファイル.txt': Buffer.alloc(0),
};

async function compose(to: string[], subject = '【ご確認】見積書の送付'): Promise<Buffer> {
  const mail = new MailComposer({
    from: '山田 太郎 <taro@example.co.jp>',
    to,
    subject,
    text: 'いつもお世話になっております。\n見積書を添付いたします。\n',
    html: '<p>いつもお世話になっております。</p><p>見積書を添付いたします。</p>',
    attachments: Object.entries(FILES).map(([filename, content]) => ({ filename, content })),
  }).compile();
  return new Promise((resolve, reject) => mail.build((err, m) => (err ? reject(err) : resolve(m))));
}

const header = (raw: Buffer, name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(raw.toString('latin1').split(/\r?\n\r?\n/)[0]!)?.[1]?.trim();

/** The password from a notice, which must have exactly one line "Password: …". */
function expectPassword(notice: Received): string {
  const password = passwordOf(notice.raw);
  expect(password, 'one "Password: …" line').toBeDefined();
  return password!;
}

function saveZip(message: Received): string {
  const zip = MessageModel.parse(message.raw).attachments.find((a) => a.filename.endsWith('.zip'))!;
  const file = path.join(tempDir('outguard-zip-'), zip.filename);
  fs.writeFileSync(file, zip.content());
  return file;
}

/** name → SHA-256 of every file. */
function hashes(files: Map<string, Buffer>): Record<string, string> {
  return Object.fromEntries([...files].map(([n, content]) => [n, sha256(content)]));
}

const expected = Object.fromEntries(Object.entries(FILES).map(([n, c]) => [n, sha256(c)]));
const hasSevenZip = requireTool(SEVEN_ZIP, '7zip');

describe('attachments leave only inside an encrypted ZIP (遵守事項 第6-2)', () => {
  let sink: Sink;
  let gw: TestGateway;
  let original: Buffer;
  let internalCopy: Received;
  let external: Received;
  let notice: Received;
  let legacy: Received;
  let legacyNotice: Received;

  beforeAll(async () => {
    const policy = writePolicy('rules: []\nencryption:\n  profiles:\n    - domains: [legacy.example]\n      cipher: zipcrypto\n      names: cp932\n');
    sink = await startSink();
    gw = await startGateway({ nextHop: `smtp://127.0.0.1:${sink.port}`, policy, organization: { internalDomains: ['example.co.jp'] } });
    const t = client(gw.smtp.port);
    original = await compose(['partner@partner.example', 'colleague@example.co.jp']);
    const result = await sendRaw(t, 'taro@example.co.jp', ['partner@partner.example', 'colleague@example.co.jp'], original);
    expect(result.ok).toBe(true);
    const legacyResult = await sendRaw(t, 'taro@example.co.jp', ['old@legacy.example'], await compose(['old@legacy.example'], 'legacy'));
    expect(legacyResult.ok).toBe(true);
    t.close();
    await sink.waitFor(5);
    const to = (a: string) => sink.messages.filter((m) => m.to.includes(a));
    internalCopy = to('colleague@example.co.jp')[0]!;
    external = to('partner@partner.example')[0]!;
    legacy = to('old@legacy.example')[0]!;
    const notices = to('taro@example.co.jp');
    notice = notices.find((n) => header(n.raw, 'X-Outguard-Ref') === header(external.raw, 'X-Outguard-Id'))!;
    legacyNotice = notices.find((n) => header(n.raw, 'X-Outguard-Ref') === header(legacy.raw, 'X-Outguard-Id'))!;
  });
  afterAll(async () => {
    await gw.stop();
    await sink.close();
  });

  it('gives internal recipients the original, untouched', () => {
    expect(internalCopy.to).toEqual(['colleague@example.co.jp']);
    const id = header(internalCopy.raw, 'X-Outguard-Id')!;
    expect(internalCopy.raw.equals(Buffer.concat([Buffer.from(`X-Outguard-Id: ${id}\r\n`), original]))).toBe(true);
  });

  it('gives external recipients one encrypted ZIP instead of the attachments, bodies and headers unchanged', () => {
    expect(external.to).toEqual(['partner@partner.example']);
    const sent = MessageModel.parse(external.raw);
    const before = MessageModel.parse(original);
    expect(sent.attachments.map((a) => a.filename)).toEqual(['attachments.zip']);
    expect(sent.htmlParts).toEqual(before.htmlParts);
    expect(sent.textParts[0]).toBe(before.textParts[0]);
    expect(sent.textParts[1]).toContain('パスワードは別途お知らせします');
    const alternative = before.root.children[0]!;
    expect(external.raw.includes(original.subarray(alternative.start, alternative.end))).toBe(true);
    for (const h of ['From', 'To', 'Subject', 'Date', 'Message-ID']) expect(header(external.raw, h)).toBe(header(original, h));
  });

  it('sends the password separately, to the sender, only as a notice', () => {
    expect(notice.to).toEqual(['taro@example.co.jp']);
    expect(notice.from).toBe('');
    expect(header(notice.raw, 'X-Outguard-Notice')).toBe('password');
    const password = expectPassword(notice);
    expect(password).toMatch(/^[A-HJ-NP-Za-km-z2-9]{12}$/);
    expect(external.raw.toString('latin1')).not.toContain(password);
    expect(header(external.raw, 'X-Outguard-Notice')).toBeUndefined();
    const text = MessageModel.parse(notice.raw).textParts.join('');
    expect(text.indexOf('件名')).toBeLessThan(text.indexOf('Subject'));
    for (const s of ['【ご確認】見積書の送付', 'attachments.zip', 'partner@partner.example']) expect(text).toContain(s);
    expect(JSON.stringify(gw.logs)).not.toContain(password);
  });

  it.skipIf(!hasSevenZip)('opens with 7-Zip and the password: every name and SHA-256 matches; a wrong password fails', () => {
    const zip = saveZip(external);
    execFileSync(SEVEN_ZIP, ['t', `-p${expectPassword(notice)}`, zip], { stdio: 'ignore' });
    expect(hashes(sevenZipExtract(fs.readFileSync(zip), expectPassword(notice)))).toEqual(expected);
    expect(() => execFileSync(SEVEN_ZIP, ['t', '-pWrongPassw0rd', zip], { stdio: 'ignore' })).toThrow();
  });

  it.skipIf(!hasSevenZip || !requireTool('unzip', 'unzip'))('uses ZipCrypto and CP932 names for a legacy profile: unzip, Python and 7-Zip open it', async () => {
    const zip = saveZip(legacy);
    const password = expectPassword(legacyNotice);
    const seven = tempDir('outguard-x-');
    execFileSync(SEVEN_ZIP, ['x', `-p${password}`, `-o${seven}`, zip], { stdio: 'ignore' });
    // 7-Zip on Linux writes CP932 names as raw bytes: read them back as bytes, compare contents
    const contents = fs.readdirSync(seven, { encoding: 'buffer' }).map((n) => sha256(fs.readFileSync(Buffer.concat([Buffer.from(`${seven}/`), n]))));
    expect(contents.sort()).toEqual(Object.values(expected).sort());
    // unzip on Linux reads CP932 names poorly: compare the contents it extracts in order
    for (const [name, hash] of Object.entries(expected)) {
      const py = await run('python3', ['-c', [
        'import sys,zipfile,hashlib',
        'z=zipfile.ZipFile(sys.argv[1])',
        'names={(i.filename if i.flag_bits & 0x800 else i.filename.encode("cp437").decode("cp932")):i for i in z.infolist()}',
        'print(hashlib.sha256(z.read(names[sys.argv[2]], pwd=sys.argv[3].encode())).hexdigest())',
      ].join('\n'), zip, name, password]);
      expect(py.stdout.trim(), py.stderr).toBe(hash);
    }
    const listing = await run('unzip', ['-P', password, '-t', zip]);
    expect(listing.code).toBe(0);
    expect((await run('unzip', ['-P', 'WrongPassw0rd', '-t', zip])).code).not.toBe(0);
  });
  it.skipIf(!hasSevenZip)('keeps a subject with encoded line breaks and fake Password lines from adding lines to the notice', async () => {
    const hostile = '見積\r\nPassword: fake1\r\nPassword: fake2';
    const content = randomBytes(4096);
    const raw = withAttachments({
      headers: ['From: taro@example.co.jp', 'To: partner@partner.example', `Subject: =?UTF-8?B?${Buffer.from(hostile).toString('base64')}?=`],
      files: [{ name: 'x', encodedName: "*=UTF-8''%E8%A6%8B%E7%A9%8D%0D%0APassword%3A%20fake3%E2%80%A8.bin", content }],
    });
    const before = sink.messages.length;
    const t = client(gw.smtp.port);
    const result = await sendRaw(t, 'taro@example.co.jp', ['partner@partner.example'], raw);
    t.close();
    expect(result.ok).toBe(true);
    const got = (await sink.waitFor(before + 2)).slice(before);
    const copy = got.find((m) => m.to.includes('partner@partner.example'))!;
    const hostileNotice = got.find((m) => header(m.raw, 'X-Outguard-Ref') === header(copy.raw, 'X-Outguard-Id'))!;
    expect(header(hostileNotice.raw, 'X-Outguard-Notice')).toBe('password');
    const lines = MessageModel.parse(hostileNotice.raw).textParts.join('\n').split(/\r?\n/);
    expect(lines.filter((l) => l.startsWith('Password'))).toHaveLength(1);
    expect(lines).toContain('Subject: 見積 Password: fake1 Password: fake2');
    const files = sevenZipExtract(fs.readFileSync(saveZip(copy)), expectPassword(hostileNotice));
    expect([...files.values()].map(sha256)).toEqual([sha256(content)]);
  });
});

describe('a crash between the encrypted message and its password notice', () => {
  it('still sends exactly one notice after a restart', async () => {
    const sink = await startSink();
    const dir = tempDir();
    // the notice waits a few seconds after the message: time to kill the gateway in between
    const policy = writePolicy('rules: []\nencryption:\n  default:\n    password: { to: recipients, delayMinutes: 0.05 }\n');
    const file = writeConfig({ nextHop: `smtp://127.0.0.1:${sink.port}`, policy, dataDir: path.join(dir, 'data'), policyThread: false }, dir);
    const start = async () => {
      const child = spawn('node', [path.resolve('bin/outguard.js'), 'start', '--config', file], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const deadline = Date.now() + 10000;
      while (!out.includes('outguard started')) {
        if (Date.now() > deadline) throw new Error(`not started: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const port = Number((JSON.parse(out.split('\n').find((l) => l.includes('outguard started'))!) as { smtp: string }).smtp.split(':').pop());
      return { child, port };
    };
    let g = await start();
    const t = client(g.port);
    const result = await sendRaw(t, 'taro@example.co.jp', ['partner@partner.example'], await compose(['partner@partner.example']));
    t.close();
    expect(result.ok).toBe(true);
    g.child.kill('SIGKILL');
    await new Promise((r) => g.child.once('exit', r));
    expect(sink.messages.filter((m) => header(m.raw, 'X-Outguard-Notice') === 'password')).toHaveLength(0);

    g = await start();
    const deadline = Date.now() + 15000;
    while (sink.messages.filter((m) => header(m.raw, 'X-Outguard-Notice') === 'password').length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1500));
    const notices = sink.messages.filter((m) => header(m.raw, 'X-Outguard-Notice') === 'password');
    expect(notices).toHaveLength(1);
    expect(notices[0]!.to).toEqual(['partner@partner.example']);
    const message = sink.messages.find((m) => header(m.raw, 'X-Outguard-Notice') === undefined)!;
    expect(header(notices[0]!.raw, 'X-Outguard-Ref')).toBe(header(message.raw, 'X-Outguard-Id'));
    g.child.kill('SIGTERM');
    await new Promise((r) => g.child.once('exit', r));
    await sink.close();
  }, 40000);
});

describe('messages that cannot be encrypted as they are', () => {
  let sink: Sink;
  let gw: TestGateway;
  beforeAll(async () => {
    sink = await startSink();
    gw = await startGateway({ nextHop: `smtp://127.0.0.1:${sink.port}`, organization: { internalDomains: ['example.co.jp'] } });
  });
  afterAll(async () => {
    await gw.stop();
    await sink.close();
  });

  it('never breaks the signature of a signed message with attachments: it is held (encryption.signed), nothing reaches the recipient', async () => {
    const signed = [
      'From: taro@example.co.jp', 'To: partner@partner.example', 'Subject: signed', 'MIME-Version: 1.0',
      'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s"', '',
      '--s', 'Content-Type: multipart/mixed; boundary="m"', '', '--m', 'Content-Type: text/plain', '', 'body',
      '--m', 'Content-Type: application/pdf; name="a.pdf"', 'Content-Disposition: attachment; filename="a.pdf"', '', '%PDF-1.4', '--m--',
      '--s', 'Content-Type: application/pkcs7-signature; name="smime.p7s"', 'Content-Transfer-Encoding: base64', '', 'MIIB', '--s--', '',
    ].join('\r\n');
    const t = client(gw.smtp.port);
    const result = await sendRaw(t, 'taro@example.co.jp', ['partner@partner.example'], signed);
    t.close();
    // released, it would leave whole inside the ZIP (test/hold/service.test.ts); until then nothing leaves
    expect(result.response).toMatch(/^250 2\.0\.0 Ok: held for confirmation as /);
    await sink.waitFor(1);
    expect(sink.messages.map((m) => m.to)).toEqual([['taro@example.co.jp']]);
    expect(gw.logs.filter((l) => l.msg === 'message').at(-1)).toMatchObject({ action: 'hold', rules: ['signed-message'], clauses: ['遵守事項 第6-2'] });
  });

  it.skipIf(!hasSevenZip)('sends an already encrypted ZIP as it is and says so in the log', async () => {
    const locked = execFileSync(SEVEN_ZIP, ['a', '-tzip', '-pX7kq2Lmnb', '-si', '-so', 'a.txt'], { input: 'secret' });
    const raw = Buffer.from(
      ['From: taro@example.co.jp', 'To: partner@partner.example', 'Subject: locked', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '',
        '--b', 'Content-Type: text/plain', '', 'see attached', '--b', 'Content-Type: application/zip; name="locked.zip"', 'Content-Transfer-Encoding: base64',
        'Content-Disposition: attachment; filename="locked.zip"', '', locked.toString('base64'), '--b--', ''].join('\r\n'),
    );
    const before0 = sink.messages.length;
    const t = client(gw.smtp.port);
    const result = await sendRaw(t, 'taro@example.co.jp', ['partner@partner.example'], raw);
    t.close();
    expect(result.ok).toBe(true);
    const before = before0;
    const got = (await sink.waitFor(before + 1)).slice(before).find((m) => m.to.includes('partner@partner.example'))!;
    expect(MessageModel.parse(got.raw).attachments.map((a) => a.filename)).toEqual(['locked.zip']);
    expect(gw.logs.filter((l) => l.msg === 'message').at(-1)).toMatchObject({ findings: [expect.objectContaining({ rule: 'already-encrypted', value: 'locked.zip', severity: 'monitor' })] });
  });
});

describe('lines too long for a strict next hop', () => {
  const longLine = 'この行はとても長い。'.repeat(70) + 'end';
  let strict: Sink;
  let gw: TestGateway;
  beforeAll(async () => {
    strict = await startSink({ maxLineLength: 998 });
    gw = await startGateway({ nextHop: `smtp://127.0.0.1:${strict.port}`, organization: { internalDomains: ['example.co.jp'] } });
  });
  afterAll(async () => {
    await gw.stop();
    await strict.close();
  });

  it('re-encodes a body with a 2,000-byte line and a file in one base64 line: a strict server takes both copies, the text and the file unchanged', async () => {
    expect(Buffer.byteLength(longLine)).toBeGreaterThan(2000);
    const file = Buffer.from('%PDF-1.4 '.repeat(300));
    const raw = Buffer.from(
      [
        'From: taro@example.co.jp', 'To: yamada@partner.example, hanako@example.co.jp', 'Subject: long lines', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '',
        '--b', 'Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: 8bit', '', longLine, 'short line',
        '--b', 'Content-Type: application/pdf; name="a.pdf"', 'Content-Disposition: attachment; filename="a.pdf"', 'Content-Transfer-Encoding: base64', '', file.toString('base64'),
        '--b--', '',
      ].join('\r\n'),
    );
    const t = client(gw.smtp.port);
    const result = await sendRaw(t, 'taro@example.co.jp', ['yamada@partner.example', 'hanako@example.co.jp'], raw);
    t.close();
    expect(result.code).toBe(250);
    const copies = await until(() => (strict.messages.filter((m) => m.to.some((a) => a !== 'taro@example.co.jp')).length >= 2 ? strict.messages : undefined), 10_000, 'both copies');
    for (const copy of copies.filter((m) => !m.to.includes('taro@example.co.jp'))) {
      expect(copy.raw.toString('latin1').split('\r\n').every((l) => l.length <= 998)).toBe(true);
      const model = MessageModel.parse(copy.raw);
      expect(model.textParts[0]).toBe(`${longLine}\r\nshort line`);
    }
    // the internal copy keeps the file (re-encoded in lines); the outside one has it in the ZIP
    const internal = copies.find((m) => m.to.includes('hanako@example.co.jp'))!;
    expect(MessageModel.parse(internal.raw).files.map((a) => a.content().equals(file))).toEqual([true]);
  });
});
