/**
 * "Fail closed by construction" (遵守事項 第6-2): no attachment reaches an outside recipient
 * readable, whatever shape the message has. Every case goes end to end: a real SMTP session to
 * the gateway (started in this process), the file next hop (each delivered message is
 * OUTBOX/<id>.eml, notices too), an empty policy (`rules: []`), so only the built-in encryption
 * gate decides. What each case must end as:
 *
 * - held as ambiguous: 250 "held for confirmation", nothing to the partner, a confirmation to the
 *   sender, the log line names `ambiguous-mime` (第6-2), the hold's finding says what was ambiguous;
 *   a released copy carries the whole original as one .eml inside the encrypted ZIP;
 * - whole message zipped (files inside the body text): the ZIP's one file is the original .eml;
 * - attachments zipped: the ZIP holds exactly the files, the bodies stay byte for byte;
 * - stays inline: a genuine image the HTML shows by cid:;
 * - already encrypted, provably: sent as it is, with an `already-encrypted` monitor finding.
 *
 * Messages are written out by hand below. Files come from real tools where there are some (7-Zip,
 * qpdf, Debian's uuencode and macutils' binhex) and otherwise from the fuzz generator's builders
 * (test/fuzz/files.ts: PNG, crafted ZIP/CFB/7z headers that only look encrypted, yEnc). Every
 * outside copy is read back by mailparser and by Python's email package (test/fuzz/oracles.ts),
 * and its ZIP is opened with 7-Zip. Released holds are released with `outguard held release`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEVEN_ZIP, sevenZip, sevenZipEntries, sevenZipExtract } from '../support/archives.js';
import { client, run, sendRaw } from '../support/client.js';
import { type TestGateway, startGateway, tempDir } from '../support/gateway.js';
import { headerOf } from '../support/notices.js';
import { hasCommand, macutilsBinhex, requireTool, sharutilsUuencode } from '../support/tools.js';
import { until } from '../support/wait.js';
import { base64Lines, binhex, fakeEncrypted7z, fakeEncryptedOffice, png, xlsx, yencode, zip } from '../fuzz/files.js';
import { extractEmbedded } from '../fuzz/embedded.js';
import { PythonOracle, decodeCopy } from '../fuzz/oracles.js';
import { Rng } from '../fuzz/random.js';

const SENDER = 'taro@example.co.jp';
const PARTNER = 'partner@partner.example';
const COLLEAGUE = 'colleague@example.co.jp';
const CLAUSE = '遵守事項 第6-2';
const BIN = path.resolve('bin/outguard.js');

const hasSevenZip = requireTool(SEVEN_ZIP, '7zip');
const hasQpdf = requireTool('qpdf', 'qpdf');
const hasPython = requireTool('python3', 'python3');

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// ---- writing messages by hand (latin1 strings: one char = one byte, CRLF line ends) ------------

const CRLF = '\r\n';
let serial = 0;
const unique = () => `${Date.now().toString(36)}-${++serial}`;
/** UTF-8 text as the latin1 string of its bytes. */
const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

/** A header block, the blank line, the body. */
const part = (headers: string[], body: string) => `${headers.join(CRLF)}${CRLF}${CRLF}${body}`;

const text = (body = 'いつもお世話になっております。資料をお送りします。') =>
  part(['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'], `${utf8(body)}${CRLF}`);

const html = (inner = '') =>
  part(['Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: 8bit'], `<html><body><p>${utf8('資料をお送りします。')}</p>${inner}</body></html>${CRLF}`);

/** The bodies of the messages that are delivered: each must reach the partner byte for byte. */
const BODY = text('いつもお世話になっております。資料を添付いたします。ご確認ください。');
const BODY_HTML = html('<p>Please see the attached file.</p>');

/** A base64 file part: name= and filename= when named, Content-ID when given. */
function file(name: string | undefined, type: string, content: Buffer, o: { cid?: string; disposition?: string | null } = {}): string {
  const disposition = o.disposition === undefined ? 'attachment' : o.disposition;
  const quoted = name === undefined ? undefined : `"${utf8(name)}"`; // raw UTF-8, as many clients write it
  const headers = [`Content-Type: ${type}${quoted ? `; name=${quoted}` : ''}`, 'Content-Transfer-Encoding: base64'];
  if (disposition !== null) headers.push(`Content-Disposition: ${disposition}${quoted ? `; filename=${quoted}` : ''}`);
  if (o.cid) headers.push(`Content-ID: <${o.cid}>`);
  return part(headers, base64Lines(content));
}

/** A multipart: `param` replaces `boundary="…"`, `delimiter` is what the -- lines use. */
function multipart(subtype: string, parts: string[], o: { boundary?: string; param?: string; delimiter?: string; preamble?: string; epilogue?: string } = {}): string {
  const boundary = o.boundary ?? `=_fc_${unique()}`;
  const d = o.delimiter ?? boundary;
  let body = o.preamble !== undefined ? `${o.preamble}${CRLF}` : '';
  for (const p of parts) body += `--${d}${CRLF}${p}${CRLF}`;
  body += `--${d}--${CRLF}`;
  if (o.epilogue !== undefined) body += o.epilogue;
  return part([`Content-Type: multipart/${subtype}; ${o.param ?? `boundary="${boundary}"`}`], body);
}

/** A whole message: the envelope headers, then the top part's header block and body. */
function mail(subject: string, top: string, o: { to?: string; before?: string } = {}): Buffer {
  const headers = [
    'From: Taro Yamada <taro@example.co.jp>',
    `To: ${o.to ?? PARTNER}`,
    `Subject: ${subject}`,
    'Date: Thu, 26 Nov 2026 10:00:00 +0900',
    `Message-ID: <${unique()}@example.co.jp>`,
    'MIME-Version: 1.0',
  ];
  const raw = `${o.before ?? ''}${headers.join(CRLF)}${CRLF}${top}`;
  return Buffer.from(raw.endsWith(CRLF) ? raw : `${raw}${CRLF}`, 'latin1');
}

/** A small PDF-shaped file whose bytes appear nowhere else. */
const pdf = (tag: string, extra = '') =>
  Buffer.from(`%PDF-1.4\n%${tag}-${unique()}\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n${extra}trailer\n<< /Root 1 0 R >>\n%%EOF\n`, 'latin1');
const csv = (tag: string) => Buffer.from(`id,name,amount\r\n1,${tag},120000\r\n2,${unique()},98000\r\n`);

/** A valid one-page PDF (qpdf rewrites it, fixing the offsets). */
const VALID_PDF =
  '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n' +
  '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\nxref\n0 4\n0000000000 65535 f \n' +
  '0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \ntrailer << /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n';

/** uuencode as Debian's sharutils writes it (python's binascii when that is not installed), CRLF. */
function uuencoded(name: string, data: Buffer): string {
  const out = hasCommand('uuencode')
    ? sharutilsUuencode(name, data).toString('latin1')
    : execFileSync('python3', ['-c', 'import binascii,sys\nd=sys.stdin.buffer.read()\nsys.stdout.write("begin 644 %s\\n" % sys.argv[1])\nfor i in range(0,len(d),45): sys.stdout.write(binascii.b2a_uu(d[i:i+45]).decode())\nsys.stdout.write("`\\nend\\n")', name], { input: data }).toString('latin1');
  return out.replace(/\r?\n/g, CRLF).trimEnd();
}

/** BinHex 4.0 as Debian's macutils writes it (`binhex -d`), else the fuzz generator's encoder; CRLF. */
function binhexed(name: string, data: Buffer): string {
  if (!hasCommand('binhex')) return binhex(name, data);
  return macutilsBinhex(name, data).toString('latin1').replace(/\r?\n/g, CRLF).trimEnd();
}

/** Encrypts VALID_PDF with qpdf (AES-256); an empty user password opens without one. */
function qpdfEncrypted(user: string, owner: string): Buffer {
  const dir = tempDir('outguard-fail-closed-pdf-');
  fs.writeFileSync(path.join(dir, 'in.pdf'), VALID_PDF);
  try {
    execFileSync('qpdf', ['--encrypt', user, owner, '256', '--', path.join(dir, 'in.pdf'), path.join(dir, 'out.pdf')], { stdio: 'ignore' });
  } catch (err) {
    if ((err as { status?: number }).status !== 3) throw err; // 3: written, with warnings (the hand-made xref)
  }
  return fs.readFileSync(path.join(dir, 'out.pdf'));
}

// ---- the gateway and its file outbox ----------------------------------------------------------

describe('fail closed by construction: no attachment reaches an outside recipient readable (遵守事項 第6-2)', () => {
  let gw: TestGateway;
  let outbox: string;
  let transport: ReturnType<typeof client>;
  /** Python's email package (both policies), the second reader of every outside copy. */
  const python = new PythonOracle();
  const cache = new Map<string, Buffer>();

  beforeAll(async () => {
    outbox = path.join(tempDir('outguard-fail-closed-'), 'outbox');
    gw = await startGateway({ nextHop: `file:${outbox}`, organization: { internalDomains: ['example.co.jp'], partnerDomains: ['partner.example'] } });
    transport = client(gw.smtp.port);
  });
  afterAll(async () => {
    transport?.close();
    python.close();
    await gw?.stop();
  });

  /** Every message in the outbox so far, by file name (files are written once, atomically). */
  function outboxMessages(): Map<string, Buffer> {
    for (const name of fs.existsSync(outbox) ? fs.readdirSync(outbox) : []) {
      if (name.endsWith('.eml') && !name.startsWith('.') && !cache.has(name)) cache.set(name, fs.readFileSync(path.join(outbox, name)));
    }
    return cache;
  }
  const copyOf = (id: string, timeoutMs = 15_000) => until(() => outboxMessages().get(`${id}.eml`), timeoutMs, `${id}.eml in the outbox`);
  const noticeFor = (kind: string, ref: string, timeoutMs = 15_000) =>
    until(() => [...outboxMessages().values()].find((m) => headerOf(m, 'X-Outguard-Notice') === kind && headerOf(m, 'X-Outguard-Ref') === ref), timeoutMs, `the ${kind} notice for ${ref}`);
  const logOf = (id: string) => until(() => gw.logs.find((l) => l.msg === 'message' && l.id === id), 5000, `the log line of ${id}`);

  async function send(raw: Buffer, to = [PARTNER]): Promise<{ id: string; response: string }> {
    const result = await sendRaw(transport, SENDER, to, raw);
    expect(result.code, result.response).toBe(250);
    return { id: /as ([^\s,]+)/.exec(result.response)![1]!, response: result.response };
  }

  /** The outbox polls every 10 s; a message whose ZIP copy is sent right away kicks it now. */
  async function kickOutbox(): Promise<void> {
    const kick = mail(`kick ${unique()}`, multipart('mixed', [text('kick'), file('kick.txt', 'text/plain', Buffer.from(unique()))]));
    await send(kick);
  }

  async function textOf(raw: Buffer): Promise<string> {
    return (await simpleParser(raw)).text ?? '';
  }

  /** Opens a ZIP with 7-Zip: every entry must be encrypted; returns name → bytes. */
  function openZip(zipBytes: Buffer, password: string): Map<string, Buffer> {
    const entries = sevenZipEntries(zipBytes, password);
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) expect(e.encrypted, `every entry encrypted (${e.path})`).toBe(true);
    return sevenZipExtract(zipBytes, password);
  }

  /**
   * What the outside recipient can read in a copy: only attachments.zip (and the inline images
   * named in `keptInline`) as files, and none of `secrets` in any decoded part or body-text block.
   * Returns the ZIP's entries (name → bytes) opened with the password from the notice.
   */
  async function readableCopy(copyId: string, copy: Buffer, secrets: Buffer[], keptInline: string[] = []): Promise<Map<string, Buffer> | undefined> {
    const parsed = await simpleParser(copy, { skipHtmlToText: true, skipTextToHtml: true, keepCidLinks: true });
    expect(parsed.from?.value[0]?.address, 'the copy keeps its From').toBe(SENDER);
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value.map((v) => v.address) : [], 'the copy keeps its To').toContain(PARTNER);
    expect(parsed.attachments.map((a) => a.filename ?? '(no name)').sort()).toEqual(['attachments.zip', ...keptInline].sort());
    // every part as mailparser and (when python3 is there) Python's email package decode it, the
    // files inside body text, and any base64 run in the raw copy
    const readable: { label: string; content: Buffer }[] = hasPython
      ? (await decodeCopy(copy, python)).parts
      : [Buffer.from(parsed.text ?? ''), Buffer.from(typeof parsed.html === 'string' ? parsed.html : ''), ...parsed.attachments.map((a) => a.content)].flatMap((content) => [
          { label: 'mailparser', content },
          ...extractEmbedded(content).map((e) => ({ label: e.kind, content: e.content })),
        ]);
    for (const secret of secrets) {
      expect(copy.includes(secret), 'the raw copy carries a file').toBe(false);
      expect(readable.filter((r) => r.content.includes(secret)).map((r) => r.label), `parts of the copy that carry a file (${secret.length} bytes)`).toEqual([]);
    }
    const zipPart = parsed.attachments.find((a) => a.filename === 'attachments.zip')!;
    const notice = await noticeFor('password', copyId);
    expect(headerOf(notice, 'To')).toContain(SENDER);
    const password = /^Password: (\S+)$/m.exec(await textOf(notice))![1]!;
    if (!hasSevenZip) return undefined;
    return openZip(zipPart.content, password);
  }

  // ---- the outcomes ----------------------------------------------------------------------------

  /** Held as ambiguous: the finding, what it says, the confirmation, and nothing to the partner. */
  async function expectHeldAmbiguous(raw: Buffer, code: string, what: RegExp): Promise<string> {
    const { id, response } = await send(raw);
    expect(response).toMatch(/^250 2\.0\.0 Ok: held for confirmation as /);
    const log = await logOf(id);
    expect(log).toMatchObject({ action: 'hold', rules: expect.arrayContaining(['ambiguous-mime']), clauses: expect.arrayContaining([CLAUSE]) });
    const finding = (log.findings as { rule: string; value: string; severity: string }[]).find((f) => f.rule === 'ambiguous-mime')!;
    expect(finding.severity).toBe('hold');
    expect(finding.value.split(', ')).toContain(code);
    // the confirmation to the sender, listing why
    const confirm = await noticeFor('confirm', id);
    expect(headerOf(confirm, 'To')).toContain(SENDER);
    const confirmText = await textOf(confirm);
    expect(confirmText).toContain('message structure is ambiguous');
    expect(confirmText).toContain(CLAUSE);
    // the hold's finding says what was ambiguous: Japanese first, then the English in parentheses
    const token = /\/hold\/(\S+)/.exec(confirmText)![1]!;
    const api = await fetch(`http://127.0.0.1:${gw.web.port}/api/holds/${token}`);
    expect(api.status).toBe(200);
    const { hold } = (await api.json()) as { hold: { findings: { rule: string; clause: string; detailJa?: string }[] } };
    const detail = hold.findings.find((f) => f.rule === 'ambiguous-mime')?.detailJa ?? '';
    expect(detail.split('; ')[0]).toMatch(/^(?=[^（]*[\u3040-\u30ff\u4e00-\u9fff]).*（[A-Za-z][\x20-\x7e]*）$/);
    expect(detail).toMatch(what);
    // nothing for the partner
    expect([...outboxMessages().keys()].filter((n) => n === `${id}.eml` || n.startsWith(`${id}-`))).toEqual([]);
    return id;
  }

  /** Releases a hold with the CLI; the copy must carry the original whole, as one .eml in the ZIP. */
  async function releaseAndExpectWhole(id: string, raw: Buffer, secrets: Buffer[], subject: string): Promise<void> {
    const out = await run('node', [BIN, 'held', 'release', id, '--config', gw.config.source]);
    expect(out.code, out.stderr).toBe(0);
    await kickOutbox();
    const copy = await copyOf(id);
    expect(headerOf(copy, 'Subject')).toBe(subject);
    const entries = await readableCopy(id, copy, secrets);
    if (entries) expect([...entries].map(([n, b]) => [n, sha256(b)])).toEqual([[`${subject}.eml`, sha256(raw)]]);
  }

  /** Delivered with the files of the body text: the whole original is the ZIP's one file. */
  async function expectWholeZipped(raw: Buffer, subject: string, hidden: Buffer, marker: string): Promise<void> {
    const { id, response } = await send(raw);
    expect(response).toMatch(/^250 2\.0\.0 Ok: delivered as /);
    expect(await logOf(id)).toMatchObject({ rules: expect.arrayContaining(['embedded-file']) });
    const copy = await copyOf(id);
    expect(copy.toString('latin1')).not.toContain(marker);
    const entries = await readableCopy(id, copy, [hidden]);
    if (entries) expect([...entries].map(([n, b]) => [n, b.equals(raw)])).toEqual([[`${subject}.eml`, true]]);
  }

  /** Delivered with the files in the ZIP (names and SHA-256), the bodies byte for byte. */
  async function expectAttachmentsZipped(raw: Buffer, files: Record<string, Buffer>, bodies: string[], keptInline: { name: string; part: string }[] = []): Promise<void> {
    const { id, response } = await send(raw);
    expect(response).toMatch(/^250 2\.0\.0 Ok: delivered as /);
    expect((await logOf(id)).rules ?? []).not.toContain('ambiguous-mime');
    const copy = await copyOf(id);
    const copyText = copy.toString('latin1');
    for (const b of [...bodies, ...keptInline.map((k) => k.part)]) expect(copyText.includes(b), `unchanged in the copy: ${b.slice(0, 80)}`).toBe(true);
    const entries = await readableCopy(id, copy, Object.values(files).filter((f) => f.length >= 8), keptInline.map((k) => k.name));
    if (entries) expect(Object.fromEntries([...entries].map(([n, b]) => [n, sha256(b)]))).toEqual(Object.fromEntries(Object.entries(files).map(([n, b]) => [n, sha256(b)])));
  }

  /** Delivered as it was: the copy is the original with one X-Outguard-Id line. */
  async function expectUnchanged(raw: Buffer): Promise<{ id: string; log: Record<string, unknown> }> {
    const { id, response } = await send(raw);
    expect(response).toMatch(/^250 2\.0\.0 Ok: delivered as /);
    const copy = await copyOf(id);
    expect(copy.equals(Buffer.concat([Buffer.from(`X-Outguard-Id: ${id}\r\n`), raw])), 'the copy is the original byte for byte').toBe(true);
    return { id, log: await logOf(id) };
  }

  async function expectPassedAsEncrypted(raw: Buffer, name: string): Promise<void> {
    const { log } = await expectUnchanged(raw);
    expect(log.findings).toEqual(expect.arrayContaining([expect.objectContaining({ rule: 'already-encrypted', severity: 'monitor', clause: CLAUSE, value: name })]));
  }

  // ---- 1. multipart/related -------------------------------------------------------------------

  describe('1. files inside multipart/related', () => {
    /** HTML showing the given cids, then the related parts. */
    const related = (shown: string[], parts: string[]) => multipart('related', [shown.length ? html(shown.map((c) => `<img src="cid:${c}">`).join('')) : BODY_HTML, ...parts]);

    it('a PDF with a Content-ID that the HTML shows by cid: → attachments zipped', async () => {
      const content = pdf('related');
      const body = html('<img src="cid:doc1@example.co.jp">');
      const raw = mail('related pdf', multipart('related', [body, file('見積書.pdf', 'application/pdf', content, { cid: 'doc1@example.co.jp', disposition: 'inline' })]));
      await expectAttachmentsZipped(raw, { '見積書.pdf': content }, [body]);
    });

    it('an .xlsx with a Content-ID → attachments zipped', async () => {
      const content = xlsx(new Rng(11));
      const raw = mail('related xlsx', related([], [file('budget.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', content, { cid: 'x1@example.co.jp', disposition: null })]));
      await expectAttachmentsZipped(raw, { 'budget.xlsx': content }, [BODY_HTML]);
    });

    it('a CSV with a Content-ID → attachments zipped', async () => {
      const content = csv('related-csv');
      const raw = mail('related csv', related([], [file('list.csv', 'text/csv', content, { cid: 'c1@example.co.jp', disposition: 'inline' })]));
      await expectAttachmentsZipped(raw, { 'list.csv': content }, [BODY_HTML]);
    });

    it('passport-scan.png that the HTML never shows → zipped; the logo it shows stays inline', async () => {
      const logo = png(new Rng(21));
      const scan = png(new Rng(22));
      const logoPart = file('logo.png', 'image/png', logo, { cid: 'logo@example.co.jp', disposition: 'inline' });
      const body = html('<img src="cid:logo@example.co.jp">');
      const raw = mail('related unreferenced png', multipart('related', [body, logoPart, file('passport-scan.png', 'image/png', scan, { cid: 'scan@example.co.jp', disposition: 'inline' })]));
      await expectAttachmentsZipped(raw, { 'passport-scan.png': scan }, [body], [{ name: 'logo.png', part: logoPart }]);
    });

    it('a multipart/related whose only part is a PDF → attachments zipped', async () => {
      const content = pdf('only-part');
      const raw = mail('related only pdf', multipart('mixed', [BODY, multipart('related', [file('contract.pdf', 'application/pdf', content, { cid: 'only@example.co.jp', disposition: null })])]));
      await expectAttachmentsZipped(raw, { 'contract.pdf': content }, [BODY]);
    });

    it('an image/png part whose bytes are a PDF, shown by cid: → attachments zipped', async () => {
      const content = pdf('png-typed');
      const body = html('<img src="cid:fake@example.co.jp">');
      const raw = mail('related png typed pdf', multipart('related', [body, file('photo.png', 'image/png', content, { cid: 'fake@example.co.jp', disposition: 'inline' })]));
      await expectAttachmentsZipped(raw, { 'photo.png': content }, [body]);
    });

    it('a genuine PNG (IEND at its end) the HTML shows by cid: → stays inline, the message as it was', async () => {
      const image = png(new Rng(31));
      expect(image.subarray(-8, -4).toString('latin1')).toBe('IEND');
      const raw = mail('related genuine png', multipart('alternative', [text(), related(['img1@example.co.jp'], [file('chart.png', 'image/png', image, { cid: 'img1@example.co.jp', disposition: 'inline' })])]));
      await expectUnchanged(raw);
    });
  });

  // ---- 2. files that look encrypted -------------------------------------------------------------

  describe('2. "already encrypted" only when it is provable', () => {
    const withFile = (subject: string, name: string, type: string, content: Buffer) => mail(subject, multipart('mixed', [multipart('alternative', [BODY, BODY_HTML]), file(name, type, content)]));

    it('a ZIP with one encrypted dummy entry and one plain entry → attachments zipped', async () => {
      const content = zip([
        { name: 'dummy.txt', data: new Rng(41).bytes(64), encrypted: true },
        { name: 'meibo.csv', data: csv('plain-entry'), encrypted: false },
      ]);
      await expectAttachmentsZipped(withFile('zip mixed encryption', 'files.zip', 'application/zip', content), { 'files.zip': content }, [BODY, BODY_HTML]);
    });

    it('a ZIP whose central directory says encrypted while its local header does not → attachments zipped', async () => {
      const content = zip([{ name: 'notes.txt', data: Buffer.from(`plain text ${unique()}\r\n`.repeat(20)), encrypted: true, localEncrypted: false }]);
      await expectAttachmentsZipped(withFile('zip lying central directory', 'notes.zip', 'application/zip', content), { 'notes.zip': content }, [BODY, BODY_HTML]);
    });

    it('a PDF that merely contains /Encrypt → attachments zipped', async () => {
      const content = pdf('fake-encrypt', '5 0 obj << /Filter /Standard >> endobj\ntrailer << /Encrypt 5 0 R >>\n');
      await expectAttachmentsZipped(withFile('pdf fake encrypt', 'report.pdf', 'application/pdf', content), { 'report.pdf': content }, [BODY, BODY_HTML]);
    });

    it('a CSV whose first line holds %PDF- and /Encrypt → attachments zipped', async () => {
      const content = Buffer.from(`%PDF-1.4,${unique()},/Encrypt\r\n1,tanaka,100\r\n/Encrypt\r\n`);
      await expectAttachmentsZipped(withFile('csv pdf marker', 'sales.csv', 'text/csv', content), { 'sales.csv': content }, [BODY, BODY_HTML]);
    });

    it('an Office (CFB) file naming an EncryptedPackage whose content is clear → attachments zipped', async () => {
      const content = fakeEncryptedOffice(new Rng(42));
      await expectAttachmentsZipped(withFile('ole fake encrypted', 'book.xls', 'application/vnd.ms-excel', content), { 'book.xls': content }, [BODY, BODY_HTML]);
    });

    it('a 7z listing the AES coder id over clear content → attachments zipped', async () => {
      const content = fakeEncrypted7z(new Rng(43));
      await expectAttachmentsZipped(withFile('7z fake aes', 'archive.7z', 'application/x-7z-compressed', content), { 'archive.7z': content }, [BODY, BODY_HTML]);
    });

    it('a 5-byte attachment "PK\\x03\\x04\\x00" → attachments zipped, not 451', async () => {
      const content = Buffer.from('PK\x03\x04\x00', 'latin1');
      await expectAttachmentsZipped(withFile('truncated zip', 'tiny.zip', 'application/zip', content), { 'tiny.zip': content }, [BODY, BODY_HTML]);
    });

    it.skipIf(!hasSevenZip)('a genuine AES-256 ZIP made by 7-Zip → sent as it is (already-encrypted, monitor)', async () => {
      const content = sevenZip({ 'meibo.csv': csv('aes-zip') }, ['-tzip', '-pOuter-Secret-1', '-mem=AES256'], 'meibo.zip');
      await expectPassedAsEncrypted(withFile('genuine aes zip', 'meibo.zip', 'application/zip', content), 'meibo.zip');
    });

    it.skipIf(!hasSevenZip)('a genuine 7z with encrypted headers (-mhe=on) → sent as it is (already-encrypted, monitor)', async () => {
      const content = sevenZip({ 'keiyaku.txt': Buffer.from(`契約書 ${unique()}\n`) }, ['-t7z', '-pOuter-Secret-2', '-mhe=on'], 'keiyaku.7z');
      await expectPassedAsEncrypted(withFile('genuine 7z', 'keiyaku.7z', 'application/x-7z-compressed', content), 'keiyaku.7z');
    });

    it.skipIf(!hasQpdf)('a PDF encrypted by qpdf with a user password → sent as it is (already-encrypted, monitor)', async () => {
      const content = qpdfEncrypted('user-Secret-3', 'owner-Secret-3');
      await expectPassedAsEncrypted(withFile('genuine qpdf', 'secret.pdf', 'application/pdf', content), 'secret.pdf');
    });

    it.skipIf(!hasQpdf)('a PDF encrypted by qpdf with only an owner password (anyone can open it) → attachments zipped', async () => {
      const content = qpdfEncrypted('', 'owner-Secret-4');
      await expectAttachmentsZipped(withFile('owner password only', 'open.pdf', 'application/pdf', content), { 'open.pdf': content }, [BODY, BODY_HTML]);
    });
  });

  // ---- 3. nesting ------------------------------------------------------------------------------

  describe('3. multipart nesting (encryption.maxDepth, default 32)', () => {
    /** `depth` levels of multipart, the attachment in the innermost one. */
    function nested(depth: number, content: Buffer): { raw: Buffer; subject: string } {
      let p = multipart('mixed', [BODY, file('deep.pdf', 'application/pdf', content)]);
      for (let i = 1; i < depth; i++) p = multipart(['mixed', 'alternative', 'related'][i % 3]!, [p]);
      const subject = `nested ${depth}`;
      return { raw: mail(subject, p), subject };
    }

    it('41 levels with an attachment at the bottom → held as ambiguous (too deep); released → the whole message zipped', async () => {
      const content = pdf('nest-41');
      const { raw, subject } = nested(41, content);
      const id = await expectHeldAmbiguous(raw, 'too-deep', /deeper than 32 levels/);
      await releaseAndExpectWhole(id, raw, [content], subject);
    });

    it('60 levels with an attachment at the bottom → held as ambiguous (too deep)', async () => {
      await expectHeldAmbiguous(nested(60, pdf('nest-60')).raw, 'too-deep', /deeper than 32 levels/);
    });

    it('20 levels → attachments zipped', async () => {
      const content = pdf('nest-20');
      await expectAttachmentsZipped(nested(20, content).raw, { 'deep.pdf': content }, [BODY]);
    });
  });

  // ---- 4. boundaries ---------------------------------------------------------------------------

  describe('4. boundaries clients read differently → held as ambiguous', () => {
    it('boundary="abc " declared, "--abc" delimiters → held; released → the whole message zipped', async () => {
      const content = pdf('boundary-space');
      const subject = 'boundary trailing space';
      const raw = mail(subject, multipart('mixed', [text(), file('a.pdf', 'application/pdf', content)], { param: 'boundary="abc "', delimiter: 'abc' }));
      const id = await expectHeldAmbiguous(raw, 'boundary-whitespace', /declared with spaces/);
      await releaseAndExpectWhole(id, raw, [content], subject);
    });

    it('boundary="" → held', async () => {
      const raw = mail('boundary empty', multipart('mixed', [text(), file('a.pdf', 'application/pdf', pdf('boundary-empty'))], { param: 'boundary=""', delimiter: '' }));
      await expectHeldAmbiguous(raw, 'no-boundary', /without a boundary/);
    });

    it('a part typed multipart without a boundary, with Content-Disposition: attachment; filename=x.pdf → held', async () => {
      const inner = part(['Content-Type: multipart/mixed', 'Content-Disposition: attachment; filename=x.pdf', 'Content-Transfer-Encoding: base64'], base64Lines(pdf('no-boundary')));
      await expectHeldAmbiguous(mail('multipart without boundary', multipart('mixed', [text(), inner])), 'no-boundary', /without a boundary/);
    });

    it("a nested part reusing its parent's boundary, an attachment after the first close delimiter (CPython msg_15.txt) → held", async () => {
      const b = 'reused-boundary';
      const inner = `Content-Type: multipart/alternative; boundary="${b}"${CRLF}${CRLF}--${b}${CRLF}${text('inner')}${CRLF}--${b}--${CRLF}`;
      const body = `--${b}${CRLF}${text()}${CRLF}--${b}${CRLF}${inner}${CRLF}--${b}${CRLF}${file('after-close.pdf', 'application/pdf', pdf('reused'))}${CRLF}--${b}--${CRLF}`;
      await expectHeldAmbiguous(mail('boundary reused', part([`Content-Type: multipart/mixed; boundary="${b}"`], body)), 'boundary-reused', /reuses the boundary/);
    });

    it('two boundary= parameters → held', async () => {
      const [a, b] = ['first-boundary', 'second-boundary'];
      const body = `--${a}${CRLF}${text()}${CRLF}--${b}${CRLF}${file('b.pdf', 'application/pdf', pdf('dup-b'))}${CRLF}--${a}${CRLF}${file('a.pdf', 'application/pdf', pdf('dup-a'))}${CRLF}--${b}--${CRLF}--${a}--${CRLF}`;
      await expectHeldAmbiguous(mail('boundary duplicate param', part([`Content-Type: multipart/mixed; boundary="${a}"; boundary="${b}"`], body)), 'boundary-conflict', /two different boundaries/);
    });

    it('a part in the preamble → held', async () => {
      const raw = mail('part in preamble', multipart('mixed', [text()], { preamble: file('hidden.pdf', 'application/pdf', pdf('preamble')) }));
      await expectHeldAmbiguous(raw, 'content-outside-parts', /preamble/);
    });

    it('a part in the epilogue → held', async () => {
      const raw = mail('part in epilogue', multipart('mixed', [text()], { epilogue: `${file('hidden.pdf', 'application/pdf', pdf('epilogue'))}${CRLF}` }));
      await expectHeldAmbiguous(raw, 'content-outside-parts', /epilogue/);
    });
  });

  // ---- 5. header blocks ------------------------------------------------------------------------

  describe('5. header blocks', () => {
    it('a UTF-8 BOM before the first header → tolerated: attachments zipped', async () => {
      const content = pdf('bom');
      const body = text();
      const raw = mail('bom before headers', multipart('mixed', [body, file('bom.pdf', 'application/pdf', content)]), { before: '\xef\xbb\xbf' });
      await expectAttachmentsZipped(raw, { 'bom.pdf': content }, [body]);
    });

    const BAD_LINES: [string, string][] = [
      ['a line without a colon', 'Memo this is not a header'],
      ['a header name with a space', 'X Memo: hello'],
      ['8-bit bytes in a header name', 'X-M\xe9mo\xff: hello'],
      ['a raw Shift_JIS line', '\x83e\x83X\x83g'], // テスト
    ];
    /** Puts `line` right before the Content-Type header of the top header block or of the attachment's. */
    function withBadLine(where: 'top' | 'part', line: string): Buffer {
      const attachment = file('target.pdf', 'application/pdf', pdf(`bad-line-${where}`));
      const edited = where === 'part' ? `${line}${CRLF}${attachment}` : attachment;
      const top = multipart('mixed', [text(), edited]);
      return mail(`header block ${where}`, where === 'top' ? `${line}${CRLF}${top}` : top);
    }
    for (const where of ['top', 'part'] as const) {
      for (const [what, line] of BAD_LINES) {
        it(`${what} before Content-Type, in the ${where === 'top' ? 'top header block' : "attachment's header block"} → held as ambiguous`, async () => {
          await expectHeldAmbiguous(withBadLine(where, line), 'header-not-a-header', where === 'top' ? /not a header in the header block of the message/ : /not a header in the header block of part 2/);
        });
      }
    }
  });

  // ---- 6. Content-Disposition ------------------------------------------------------------------

  describe('6. Content-Disposition variants → attachments zipped, the entry named x.csv', () => {
    for (const [what, header] of [
      ['attachment (comment)', 'Content-Disposition: attachment (comment); filename=x.csv'],
      ['attachment filename=x.csv (no semicolon)', 'Content-Disposition: attachment filename=x.csv'],
    ] as const) {
      it(`Content-Disposition: ${what}`, async () => {
        const content = csv(what);
        const raw = mail(`disposition ${what}`, multipart('mixed', [BODY, part(['Content-Type: text/csv', header, 'Content-Transfer-Encoding: base64'], base64Lines(content))]));
        await expectAttachmentsZipped(raw, { 'x.csv': content }, [BODY]);
      });
    }
  });

  // ---- 7. files inside the body text -----------------------------------------------------------

  describe('7. files hidden in the body text → the whole message zipped', () => {
    /** A text body with the block between two paragraphs. */
    const body = (block: string, charset = 'us-ascii', cte = '7bit') =>
      part([`Content-Type: text/plain; charset=${charset}`, `Content-Transfer-Encoding: ${cte}`], `Please find the file below.${CRLF}${CRLF}${block}${CRLF}${CRLF}Regards,${CRLF}Taro${CRLF}`);

    it('uuencode (begin 644 name … end)', async () => {
      const hidden = pdf('uuencode');
      const block = uuencoded('mitsumori.pdf', hidden);
      expect(block).toMatch(/^begin 6[46]4 mitsumori\.pdf\r\n/);
      await expectWholeZipped(mail('uuencode in body', body(block)), 'uuencode in body', hidden, 'begin 6');
    });

    it('BinHex 4.0', async () => {
      const hidden = Buffer.concat([pdf('binhex'), new Rng(72).bytes(400)]);
      const block = binhexed('mitsumori.pdf', hidden);
      expect(block).toMatch(/^\(This file must be converted[^)]*\)\r\n(\r\n)?:/);
      await expectWholeZipped(mail('binhex in body', body(block)), 'binhex in body', hidden, 'This file must be converted');
    });

    it('yEnc', async () => {
      const hidden = new Rng(71).bytes(1500);
      await expectWholeZipped(mail('yenc in body', body(yencode('data.bin', hidden).toString('latin1'), 'iso-8859-1', '8bit')), 'yenc in body', hidden, '=ybegin');
    });

    it('data:application/pdf;base64,… in HTML', async () => {
      const hidden = pdf('data-uri');
      const raw = mail('data uri in html', multipart('alternative', [text(), html(`<a href="data:application/pdf;base64,${hidden.toString('base64')}" download="doc.pdf">doc</a>`)]));
      await expectWholeZipped(raw, 'data uri in html', hidden, 'data:application/pdf');
    });
  });

  // ---- 8. duplicated MIME headers --------------------------------------------------------------

  describe('8. the same MIME header twice → held as ambiguous', () => {
    const withHeaders = (subject: string, headers: string[], content: Buffer) => mail(subject, multipart('mixed', [text(), part(headers, base64Lines(content))]));

    it('Content-Type text/plain, then application/pdf → held; released → the whole message zipped', async () => {
      const content = pdf('dup-ct-1');
      const subject = 'two content types text first';
      const raw = withHeaders(subject, ['Content-Type: text/plain; charset=us-ascii', 'Content-Type: application/pdf; name="a.pdf"', 'Content-Transfer-Encoding: base64'], content);
      const id = await expectHeldAmbiguous(raw, 'duplicate-header', /two different Content-Type headers/);
      await releaseAndExpectWhole(id, raw, [content], subject);
    });

    it('Content-Type application/pdf, then text/plain → held', async () => {
      const raw = withHeaders('two content types pdf first', ['Content-Type: application/pdf; name="a.pdf"', 'Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: base64'], pdf('dup-ct-2'));
      await expectHeldAmbiguous(raw, 'duplicate-header', /two different Content-Type headers/);
    });

    it('two Content-Transfer-Encoding headers → held', async () => {
      const raw = withHeaders('two transfer encodings', ['Content-Type: application/pdf; name="a.pdf"', 'Content-Transfer-Encoding: 7bit', 'Content-Transfer-Encoding: base64'], pdf('dup-cte'));
      await expectHeldAmbiguous(raw, 'duplicate-header', /two different Content-Transfer-Encoding headers/);
    });

    it('two Content-Disposition headers → held', async () => {
      const raw = withHeaders('two dispositions', ['Content-Type: application/pdf', 'Content-Disposition: inline', 'Content-Disposition: attachment; filename="a.pdf"', 'Content-Transfer-Encoding: base64'], pdf('dup-cd'));
      await expectHeldAmbiguous(raw, 'duplicate-header', /two different Content-Disposition headers/);
    });
  });

  // ---- 9. signed mail --------------------------------------------------------------------------

  describe('9. signed mail', () => {
    const smime = (content: string) =>
      multipart('signed', [content, file('smime.p7s', 'application/pkcs7-signature', new Rng(91).bytes(600))], {
        param: 'protocol="application/pkcs7-signature"; micalg=sha-256; boundary="signed-boundary-1"',
        boundary: 'signed-boundary-1',
      });

    it('multipart/signed (S/MIME) with an attachment inside, in multipart/mixed → held (signed-message), never repacked; released → whole, the signature intact', async () => {
      const content = pdf('signed');
      const subject = 'signed with attachment';
      const raw = mail(subject, multipart('mixed', [smime(multipart('mixed', [text(), file('signed.pdf', 'application/pdf', content)]))]));
      const { id, response } = await send(raw);
      expect(response).toMatch(/^250 2\.0\.0 Ok: held for confirmation as /);
      expect(await logOf(id)).toMatchObject({ action: 'hold', rules: expect.arrayContaining(['signed-message']), clauses: expect.arrayContaining([CLAUSE]) });
      await noticeFor('confirm', id);
      expect([...outboxMessages().keys()].filter((n) => n.startsWith(id))).toEqual([]);
      // the .eml in the ZIP is the original byte for byte: its signature verifies as before
      await releaseAndExpectWhole(id, raw, [content], subject);
    });

    it('a signed plain mail (S/MIME) without attachments → delivered byte for byte', async () => {
      await expectUnchanged(mail('signed plain smime', smime(text())));
    });

    it('a PGP/MIME signed mail without attachments → delivered byte for byte', async () => {
      const signature = part(['Content-Type: application/pgp-signature; name="signature.asc"', 'Content-Description: OpenPGP digital signature'], `-----BEGIN PGP SIGNATURE-----${CRLF}${CRLF}${base64Lines(new Rng(92).bytes(120), 64)}${CRLF}-----END PGP SIGNATURE-----${CRLF}`);
      const raw = mail('signed plain pgp', multipart('signed', [text(), signature], { param: 'protocol="application/pgp-signature"; micalg=pgp-sha256; boundary="pgp-boundary-1"', boundary: 'pgp-boundary-1' }));
      await expectUnchanged(raw);
    });
  });

  // ---- 10. many parts --------------------------------------------------------------------------

  it('10. 5,000 tiny parts → a definite answer: held as ambiguous (too many parts, encryption.maxParts 1000)', async () => {
    const parts = [text()];
    for (let i = 0; i < 5000; i++) parts.push(part([`Content-Type: text/csv; name="p${i}.csv"`, 'Content-Disposition: attachment', 'Content-Transfer-Encoding: 7bit'], `${i},${unique()}`));
    const raw = mail('many parts', multipart('mixed', parts));
    const started = performance.now();
    await expectHeldAmbiguous(raw, 'too-many-parts', /more than 1000 MIME parts/);
    console.log(`5,000 parts (${raw.length.toLocaleString('en-US')} bytes): held in ${Math.round(performance.now() - started)} ms, confirmation included`);
  });

  // ---- 11. inside and outside ------------------------------------------------------------------

  it('11. the same message to a colleague and a partner: the internal copy is the original byte for byte, only the outside copy changes', async () => {
    const content = pdf('split');
    const body = text();
    const raw = mail('to both', multipart('mixed', [body, file('both.pdf', 'application/pdf', content)]), { to: `${PARTNER}, ${COLLEAGUE}` });
    const { id, response } = await send(raw, [COLLEAGUE, PARTNER]);
    expect(response).toMatch(new RegExp(`^250 2\\.0\\.0 Ok: delivered as ${id}, ${id}-2$`));
    const copies = [await copyOf(id), await copyOf(`${id}-2`)];
    const internal = copies.filter((c) => c.subarray(c.indexOf('\r\n') + 2).equals(raw));
    expect(internal).toHaveLength(1);
    const outside = copies.find((c) => c !== internal[0])!;
    const outsideId = headerOf(outside, 'X-Outguard-Id')!;
    expect(outside.toString('latin1')).toContain(body);
    const entries = await readableCopy(outsideId, outside, [content]);
    if (entries) expect([...entries].map(([n, b]) => [n, sha256(b)])).toEqual([['both.pdf', sha256(content)]]);
  });
});
