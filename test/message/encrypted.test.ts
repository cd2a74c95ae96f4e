/**
 * detectEncryption says a file is already password-protected only when it provably is: the
 * genuine files come from real tools (7-Zip, Info-ZIP, qpdf; compound files checked with olefile),
 * the fakes are what a sender could make to slip clear content past the gateway.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectEncryption } from '../../src/message/encrypted.js';
import { isEncryptedOffice } from '../../src/message/encrypted/office.js';
import { isEncryptedPdf } from '../../src/message/encrypted/pdf.js';
import { isEncrypted7z } from '../../src/message/encrypted/seven-zip.js';
import { isEncryptedZip } from '../../src/message/encrypted/zip.js';
import { readZipDirectory } from '../../src/message/zip-directory.js';
import { crc32 } from '../../src/zip/crc32.js';
import { zipToBuffer } from '../../src/zip/writer.js';
import { SEVEN_ZIP, sevenZip } from '../support/archives.js';
import { agileEncryptionInfo, compoundFile, encryptedPackage, readWithOlefile, requireOlefile } from '../support/cfb.js';
import { requireTool } from '../support/tools.js';
import { Rng } from '../fuzz/random.js';

type Kind = ReturnType<typeof detectEncryption>;

/** A seeded PRNG, so a failing mutation reproduces. */
function prng(seed: number): () => number {
  const g = new Rng(seed);
  return () => g.next();
}

const randomBytes = (n: number, seed: number) => {
  const r = prng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
};

/** Clear content: compressible text and incompressible bytes. */
const FILES = {
  'report.txt': 'Quarterly report: revenue, costs and the plan for next year.\n'.repeat(60),
  'data.bin': randomBytes(3000, 1),
  '見積書.txt': 'お見積もり\n'.repeat(20),
};

/** Runs every format's check directly (they must not throw either: detectEncryption's catch is a last resort) and the dispatcher. */
function verdict(buf: Buffer): Kind {
  isEncryptedZip(buf);
  isEncryptedPdf(buf);
  isEncryptedOffice(buf);
  isEncrypted7z(buf);
  return detectEncryption(buf);
}

/** Prefixes of a file: every length up to 300, then about 300 more spread over the rest, and the last 40. */
function cuts(buf: Buffer): number[] {
  const lengths = new Set<number>();
  for (let n = 0; n < Math.min(buf.length, 300); n++) lengths.add(n);
  for (let n = 300; n < buf.length; n += Math.max(1, Math.floor(buf.length / 300))) lengths.add(n);
  for (let n = Math.max(0, buf.length - 40); n < buf.length; n++) lengths.add(n);
  return [...lengths];
}

/** One to three random edits: flip a bit, set a byte to an edge value, insert, delete or duplicate a few bytes. */
function mutate(buf: Buffer, r: () => number): Buffer {
  let b = Buffer.from(buf);
  const at = () => Math.floor(r() * (b.length + 1));
  for (let edits = 1 + Math.floor(r() * 3); edits > 0; edits--) {
    const p = at();
    const n = 1 + Math.floor(r() * 8);
    switch (Math.floor(r() * 6)) {
      case 0:
        if (p < b.length) b[p]! ^= 1 << Math.floor(r() * 8);
        break;
      case 1:
        if (p < b.length) b[p] = [0, 0xff, 0x7f, 0x80, 1][Math.floor(r() * 5)]!;
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, p), randomBytes(n, Math.floor(r() * 2 ** 31)), b.subarray(p)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, p), b.subarray(p + n)]);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, p), b.subarray(p, p + n), b.subarray(p)]);
        break;
      default:
        // 4 bytes of 0xFF: saturated counts, sizes and offsets
        if (p + 4 <= b.length) b.writeUInt32LE(0xffffffff, p);
    }
  }
  return b;
}

/** No cut throws, and a cut shorter than `needed` (it loses what a reader needs at the end) is not encrypted. */
function expectTruncationsSafe(buf: Buffer, needed: number) {
  for (const n of cuts(buf)) {
    const kind = verdict(buf.subarray(0, n));
    if (n < needed) expect(kind, `cut at ${n} of ${buf.length}`).toBeUndefined();
  }
}

function expectMutationsSafe(buf: Buffer, seed: number, count = 1500) {
  const r = prng(seed);
  for (let i = 0; i < count; i++) {
    const m = mutate(buf, r);
    expect(() => verdict(m), `seed ${seed}, mutation ${i}`).not.toThrow();
  }
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-encrypted-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Runs a command in a fresh directory holding `tree` (a null value makes a directory); returns the named output. */
function make(tree: Record<string, Buffer | string | null>, command: string, args: string[], output: string): Buffer {
  const dir = fs.mkdtempSync(path.join(scratch, 'work-'));
  for (const [name, content] of Object.entries(tree)) {
    const file = path.join(dir, name);
    fs.mkdirSync(content === null ? file : path.dirname(file), { recursive: true });
    if (content !== null) fs.writeFileSync(file, content);
  }
  execFileSync(command, args, { cwd: dir, stdio: 'ignore' });
  return fs.readFileSync(path.join(dir, output));
}

/** The central directory records of a ZIP without a comment: [central record offset, local header offset]. */
function zipRecords(zip: Buffer): [number, number][] {
  const end = zip.length - 22;
  const out: [number, number][] = [];
  for (let p = zip.readUInt32LE(end + 16), n = zip.readUInt16LE(end + 10); n > 0; n--) {
    out.push([p, zip.readUInt32LE(p + 42)]);
    p += 46 + zip.readUInt16LE(p + 28) + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return out;
}

/** Sets or clears the encryption flag (bit 0) in the local headers, the central records, or both. */
function patchFlags(zip: Buffer, where: { local?: boolean; central?: boolean }, on: boolean, only?: number): Buffer {
  const out = Buffer.from(zip);
  zipRecords(zip).forEach(([central, local], i) => {
    if (only !== undefined && i !== only) return;
    for (const [p, use] of [[local + 6, where.local], [central + 8, where.central]] as const) {
      if (use) out.writeUInt16LE(on ? out.readUInt16LE(p) | 1 : out.readUInt16LE(p) & ~1, p);
    }
  });
  return out;
}

describe.skipIf(!requireTool(SEVEN_ZIP, '7zip'))('ZIP archives', () => {
  const genuine: Record<string, Buffer> = {};
  beforeAll(async () => {
    genuine.aes = sevenZip(FILES, ['-tzip', '-pSecret1', '-mem=AES256']);
    genuine.zipCrypto = sevenZip(FILES, ['-tzip', '-pSecret1', '-mem=ZipCrypto']);
    genuine.storedZipCrypto = sevenZip(FILES, ['-tzip', '-pSecret1', '-mem=ZipCrypto', '-mx=0']);
    genuine.withDirectory = make({ 'docs/a.txt': FILES['report.txt'], 'docs/empty': null, 'data.bin': FILES['data.bin'] }, SEVEN_ZIP, ['a', '-tzip', '-pSecret1', '-mem=AES256', 'out.zip', 'docs', 'data.bin'], 'out.zip');
    // from standard input: ZIP64 sizes in the local header
    genuine.streamed = make({ 'data.bin': FILES['data.bin'] }, 'sh', ['-c', `${SEVEN_ZIP} a -tzip -pSecret1 -mem=AES256 -sipiped.bin out.zip < data.bin`], 'out.zip');
    // the gateway's own writer: data descriptors after each entry
    for (const cipher of ['aes256', 'zipcrypto'] as const) {
      genuine[`writer-${cipher}`] = await zipToBuffer(
        Object.entries(FILES).map(([name, content]) => ({ name, content: Buffer.from(content) })),
        { password: 'Secret1', cipher, names: 'utf8' },
      );
    }
  });

  it('sees AES-256 and ZipCrypto ZIPs, with or without a directory entry, as encrypted', () => {
    for (const [name, zip] of Object.entries(genuine)) expect(detectEncryption(zip), name).toBe('zip');
    expect(readZipDirectory(genuine.withDirectory!)!.map((e) => [e.name, e.encrypted])).toContainEqual(['docs/', false]);
  });

  it('does not see a plain ZIP, or one holding only directories, as encrypted', () => {
    expect(detectEncryption(sevenZip(FILES, ['-tzip']))).toBeUndefined();
    expect(detectEncryption(make({ 'a/b': null }, SEVEN_ZIP, ['a', '-tzip', '-pSecret1', 'out.zip', 'a'], 'out.zip'))).toBeUndefined();
  });

  it('reads ZIP entry names, UTF-8 flagged or not', () => {
    const names = readZipDirectory(sevenZip(FILES, ['-tzip', '-mcu=on']))!.map((e) => e.name).sort();
    expect(names).toEqual(['data.bin', 'report.txt', '見積書.txt']);
  });

  it('refuses a ZIP with an encrypted entry and a clear one (7-Zip adding a file without -p)', () => {
    const mixed = make(
      { 'a.txt': FILES['report.txt'], 'b.txt': FILES['見積書.txt'] },
      'sh',
      ['-c', `${SEVEN_ZIP} a -tzip -pSecret1 -mem=AES256 out.zip a.txt && ${SEVEN_ZIP} a -tzip out.zip b.txt`],
      'out.zip',
    );
    expect(readZipDirectory(mixed)!.map((e) => e.encrypted)).toEqual([true, false]);
    expect(detectEncryption(mixed)).toBeUndefined();
  });

  it('refuses flags set in only the local header or only the central directory', () => {
    for (const zip of [genuine.aes!, genuine.zipCrypto!]) {
      expect(detectEncryption(patchFlags(zip, { local: true }, false))).toBeUndefined();
      expect(detectEncryption(patchFlags(zip, { central: true }, false))).toBeUndefined();
      expect(detectEncryption(patchFlags(zip, { local: true, central: true }, false, 1))).toBeUndefined();
    }
    const plain = sevenZip(FILES, ['-tzip', '-mx=0']);
    expect(detectEncryption(patchFlags(plain, { local: true }, true))).toBeUndefined();
    expect(detectEncryption(patchFlags(plain, { central: true }, true))).toBeUndefined();
  });

  it('refuses clear data under a fake flag: stored text, or DEFLATE data', () => {
    const stored = patchFlags(sevenZip(FILES, ['-tzip', '-mx=0']), { local: true, central: true }, true);
    expect(readZipDirectory(stored)!.every((e) => e.encrypted)).toBe(true);
    expect(detectEncryption(stored)).toBeUndefined();
    // DEFLATE output of random-ish bytes is as incompressible as ciphertext, but it inflates
    const random = { 'a.bin': randomBytes(5000, 7).toString('base64') };
    const deflated = patchFlags(sevenZip(random, ['-tzip', '-mm=Deflate']), { local: true, central: true }, true);
    expect(detectEncryption(deflated)).toBeUndefined();
  });

  it('refuses local headers the central directory does not list', () => {
    // drop the second central record: its local header (and clear or not, its data) stays
    const zip = genuine.aes!;
    const [[first], [second]] = zipRecords(zip) as [[number, number], [number, number]];
    const end = zip.length - 22;
    const cdStart = zip.readUInt32LE(end + 16);
    const third = zipRecords(zip)[2]![0];
    const eocd = Buffer.from(zip.subarray(end));
    eocd.writeUInt16LE(2, 8);
    eocd.writeUInt16LE(2, 10);
    eocd.writeUInt32LE(end - cdStart - (third - second), 12);
    const hidden = Buffer.concat([zip.subarray(0, second), zip.subarray(third, end), eocd]);
    expect(first).toBe(cdStart);
    expect(readZipDirectory(hidden)).toHaveLength(2);
    expect(detectEncryption(hidden)).toBeUndefined();
  });

  it('survives every truncation (never encrypted without the end record) and thousands of mutations', () => {
    expect(verdict(Buffer.from('PK\x03\x04\x00', 'latin1'))).toBeUndefined();
    expect(readZipDirectory(Buffer.from('PK\x03\x04\x00', 'latin1'))).toBeUndefined();
    Object.values(genuine).forEach((zip, i) => {
      expectTruncationsSafe(zip, zip.length);
      expectMutationsSafe(zip, 100 + i);
      for (const n of cuts(zip)) expect(() => readZipDirectory(zip.subarray(0, n))).not.toThrow();
    });
  });
});

describe.skipIf(!requireTool('zip', 'zip'))('ZIP64 archives made by Info-ZIP', () => {
  it('sees ZIP64 (forced, and streamed with data descriptors) and empty encrypted files as encrypted', () => {
    const files = { 'a.txt': FILES['report.txt'], 'b.bin': FILES['data.bin'], empty: '' };
    const zip64 = make(files, 'zip', ['-q', '-fz', '-PSecret1', 'out.zip', 'a.txt', 'b.bin', 'empty'], 'out.zip');
    const streamed = make(files, 'sh', ['-c', 'zip -q -fz -PSecret1 out.zip - < b.bin'], 'out.zip');
    expect(zip64.includes(Buffer.from('PK\x06\x06', 'latin1'))).toBe(true);
    expect(detectEncryption(zip64)).toBe('zip');
    expect(detectEncryption(streamed)).toBe('zip');
    expect(readZipDirectory(zip64)!.map((e) => e.name)).toEqual(['a.txt', 'b.bin', 'empty']);
    expect(detectEncryption(make(files, 'zip', ['-q', '-fz', 'out.zip', 'a.txt', 'b.bin'], 'out.zip'))).toBeUndefined();
    expectTruncationsSafe(zip64, zip64.length);
    expectMutationsSafe(zip64, 200);
  });
});

describe.skipIf(!requireTool(SEVEN_ZIP, '7zip'))('7z archives', () => {
  let headersEncrypted: Buffer;
  beforeAll(() => {
    headersEncrypted = sevenZip(FILES, ['-t7z', '-pSecret1', '-mhe=on'], 'out.7z');
  });

  it('sees a 7z archive with encrypted headers as encrypted', () => {
    expect(detectEncryption(headersEncrypted)).toBe('7z');
    expect(detectEncryption(sevenZip(FILES, ['-t7z', '-pSecret1', '-mhe=on', '-mx=0'], 'out.7z'))).toBe('7z');
  });

  // Content encrypted but the file list in the clear: zipped again, which is harmless.
  it('does not see a plain 7z, or one with clear headers, as encrypted', () => {
    expect(detectEncryption(sevenZip(FILES, ['-t7z'], 'out.7z'))).toBeUndefined();
    expect(detectEncryption(sevenZip(FILES, ['-t7z', '-pSecret1', '-mhe=off'], 'out.7z'))).toBeUndefined();
    // an uncompressed clear header names the AES coder for the content: not enough
    const clearHeader = sevenZip(FILES, ['-t7z', '-pSecret1', '-mhe=off', '-mhc=off'], 'out.7z');
    const next = 32 + Number(clearHeader.readBigUInt64LE(12));
    expect(clearHeader.subarray(next).includes(Buffer.from([0x06, 0xf1, 0x07, 0x01]))).toBe(true);
    expect(detectEncryption(clearHeader)).toBeUndefined();
  });

  it('refuses a damaged header and clear packed streams', () => {
    const badCrc = Buffer.from(headersEncrypted);
    badCrc[badCrc.length - 3]! ^= 1;
    expect(detectEncryption(badCrc)).toBeUndefined();
    const zeroed = Buffer.from(headersEncrypted);
    zeroed.fill(0, 32, 32 + Number(zeroed.readBigUInt64LE(12)));
    expect(detectEncryption(zeroed)).toBeUndefined();
  });

  it('survives every truncation and thousands of mutations, also of the header with its CRCs made right', () => {
    expectTruncationsSafe(headersEncrypted, headersEncrypted.length);
    expectMutationsSafe(headersEncrypted, 300);
    // CRCs stop almost every mutation before the header is parsed: fix them up to reach the parser
    const offset = 32 + Number(headersEncrypted.readBigUInt64LE(12));
    const r = prng(301);
    for (let i = 0; i < 3000; i++) {
      const header = mutate(headersEncrypted.subarray(offset), r);
      const start = Buffer.from(headersEncrypted.subarray(0, 32));
      start.writeBigUInt64LE(BigInt(header.length), 20);
      start.writeUInt32LE(crc32(header), 28);
      start.writeUInt32LE(crc32(start.subarray(12, 32)), 8);
      const archive = Buffer.concat([start, headersEncrypted.subarray(32, offset), header]);
      expect(() => verdict(archive), `seed 301, mutation ${i}`).not.toThrow();
    }
  });
});

/** A one-page PDF with a correct cross-reference table; `objects` are added after the five base ones. */
function simplePdf(options: { objects?: string[]; comment?: string; trailer?: string } = {}): Buffer {
  const content = 'BT /F1 12 Tf 20 100 Td (Hello, secret) Tj ET';
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    ...(options.objects ?? []),
  ];
  let out = `%PDF-1.4\n%\xe2\xe3\xcf\xd3\n${options.comment ?? ''}`;
  const offsets = objects.map((o, i) => {
    const at = out.length;
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
    return at;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R ${options.trailer ?? ''}>>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** qpdf with the given options (e.g. --encrypt user owner 256 --) on a PDF. */
function qpdf(pdf: Buffer, args: string[]): Buffer {
  const dir = fs.mkdtempSync(path.join(scratch, 'qpdf-'));
  fs.writeFileSync(path.join(dir, 'in.pdf'), pdf);
  execFileSync('qpdf', ['--warning-exit-0', ...args, 'in.pdf', 'out.pdf'], { cwd: dir, stdio: 'ignore' });
  return fs.readFileSync(path.join(dir, 'out.pdf'));
}

/** The trailer's Encrypt object number and the text of its dictionary. */
function encryptObject(pdf: Buffer): { num: number; dict: string } {
  const text = pdf.toString('latin1');
  const num = Number(/\/Encrypt (\d+) 0 R/.exec(text.slice(text.lastIndexOf('trailer')))?.[1] ?? /\/Encrypt (\d+) 0 R/.exec(text)![1]);
  const start = text.indexOf(`\n${num} 0 obj`) + `\n${num} 0 obj`.length;
  return { num, dict: text.slice(start, text.indexOf('endobj', start)).trim() };
}

/** Rewrites the hex /O and /U strings as literal strings with every kind of escape, then fixes startxref. */
function withLiteralStrings(pdf: Buffer): Buffer {
  const literal = (hex: string) => {
    let s = '';
    Buffer.from(hex, 'hex').forEach((b, i) => {
      if (b === 0x28 || b === 0x29 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
      else if (b === 0x0d) s += '\\r';
      else if (b === 0x0a) s += ['\\n', '\\012', '\n'][i % 3]; // a bare LF is read as LF
      else if (b < 0x20 || b > 0x7e) s += `\\${b.toString(8).padStart(3, '0')}`;
      else s += String.fromCharCode(b);
      if (i === 7) s += '\\\n'; // a backslash before an end of line continues the string
    });
    return `(${s})`;
  };
  let text = pdf.toString('latin1').replace(/\/([OU]) <([0-9a-f]+)>/g, (_, key: string, hex: string) => `/${key} ${literal(hex)}`);
  const xref = text.lastIndexOf('\nxref\n') + 1;
  text = text.replace(/startxref\n\d+/, `startxref\n${xref}`);
  return Buffer.from(text, 'latin1');
}

describe.skipIf(!requireTool('qpdf', 'qpdf'))('PDF documents encrypted by qpdf', () => {
  const clear = simplePdf();
  const needPassword: Record<string, Buffer> = {};
  const ownerOnly: Record<string, Buffer> = {};
  beforeAll(() => {
    const variants: Record<string, string[]> = {
      'R2 RC4 40': ['--allow-weak-crypto', '--encrypt', 'USER', 'owner', '40', '--'],
      'R3 RC4 128': ['--allow-weak-crypto', '--encrypt', 'USER', 'owner', '128', '--use-aes=n', '--'],
      'R4 AES-128': ['--encrypt', 'USER', 'owner', '128', '--use-aes=y', '--'],
      'R4 AES-128, clear metadata': ['--encrypt', 'USER', 'owner', '128', '--use-aes=y', '--cleartext-metadata', '--'],
      'R5 AES-256': ['--encrypt', 'USER', 'owner', '256', '--force-R5', '--'],
      'R6 AES-256': ['--encrypt', 'USER', 'owner', '256', '--'],
      'R6 AES-256, cross-reference stream': ['--object-streams=generate', '--encrypt', 'USER', 'owner', '256', '--'],
    };
    for (const [name, args] of Object.entries(variants)) {
      needPassword[name] = qpdf(clear, args.map((a) => (a === 'USER' ? 'user-secret' : a)));
      ownerOnly[name] = qpdf(clear, args.map((a) => (a === 'USER' ? '' : a)));
    }
  });

  it('sees a PDF that needs a user password as encrypted, for every revision', () => {
    for (const [name, pdf] of Object.entries(needPassword)) expect(detectEncryption(pdf), name).toBe('pdf');
  });

  it('does not see an owner-password-only PDF (opens without a password) as encrypted', () => {
    expect(detectEncryption(clear)).toBeUndefined();
    for (const [name, pdf] of Object.entries(ownerOnly)) expect(detectEncryption(pdf), name).toBeUndefined();
  });

  it('reads /O and /U written as literal strings with escapes', () => {
    for (const name of ['R3 RC4 128', 'R4 AES-128']) {
      const literal = withLiteralStrings(needPassword[name]!);
      expect(literal.toString('latin1')).toMatch(/\/O \(/);
      expect(detectEncryption(literal), name).toBe('pdf');
      expect(detectEncryption(withLiteralStrings(ownerOnly[name]!)), name).toBeUndefined();
    }
  });

  it('finds the trailer from startxref, also with bytes before the header', () => {
    const prefixed = Buffer.concat([Buffer.from('From a mail archive\r\n'.repeat(3)), needPassword['R4 AES-128']!]);
    expect(detectEncryption(prefixed)).toBe('pdf');
  });

  it('refuses /Encrypt outside the trailer, and an Encrypt dictionary with a crypt filter that does not encrypt', () => {
    const genuine = encryptObject(needPassword['R6 AES-256']!);
    const id = /\/ID \[<[0-9a-f]+><[0-9a-f]+>\]/.exec(needPassword['R6 AES-256']!.toString('latin1'))![0];
    // in a comment, in a content stream, an unreferenced Encrypt dictionary
    const text = '/Encrypt 6 0 R';
    const decoys = simplePdf({ comment: `% ${text}\n`, objects: [genuine.dict, `<< /Length ${text.length} >>\nstream\n${text}\nendstream`] });
    expect(detectEncryption(decoys)).toBeUndefined();
    // a trailer after %%EOF in a comment: startxref still leads to the real one
    const lateTrailer = Buffer.concat([simplePdf({ objects: [genuine.dict] }), Buffer.from(`%trailer\n%<< /Root 1 0 R /Encrypt 6 0 R ${id} >>\n`)]);
    expect(detectEncryption(lateTrailer)).toBeUndefined();
    // a trailer naming an object that does not exist
    expect(detectEncryption(simplePdf({ trailer: `/Encrypt 9 0 R ${id} ` }))).toBeUndefined();
    // control: referenced from the trailer, the same dictionary counts (its one stream is too short to judge)
    expect(detectEncryption(simplePdf({ objects: [genuine.dict], trailer: `/Encrypt 6 0 R ${id} ` }))).toBe('pdf');
    // but not on a clear document: a readable text stream, or a FlateDecode stream that inflates
    const page = 'BT /F1 12 Tf 20 100 Td (the whole contract, readable without any password) Tj ET\n'.repeat(20);
    const plain = `<< /Length ${page.length} >>\nstream\n${page}\nendstream`;
    const flate = zlib.deflateSync(Buffer.from(page)).toString('latin1');
    const deflated = `<< /Length ${flate.length} /Filter /FlateDecode >>\nstream\n${flate}\nendstream`;
    for (const stream of [plain, deflated]) {
      expect(detectEncryption(simplePdf({ objects: [genuine.dict, stream], trailer: `/Encrypt 6 0 R ${id} ` }))).toBeUndefined();
    }
    // CFM /None: nothing is encrypted, whatever the password
    const none = Buffer.from(needPassword['R4 AES-128']!.toString('latin1').replace('/CFM /AESV2', '/CFM /None '), 'latin1');
    expect(detectEncryption(none)).toBeUndefined();
  });

  it('refuses a second definition of the Encrypt object that disagrees', () => {
    const owner = ownerOnly['R6 AES-256']!;
    const fake = encryptObject(needPassword['R6 AES-256']!).dict;
    const { num } = encryptObject(owner);
    expect(detectEncryption(Buffer.concat([owner, Buffer.from(`${num} 0 obj\n${fake}\nendobj\n`)]))).toBeUndefined();
  });

  it('refuses text that merely mentions %PDF- and /Encrypt', () => {
    expect(detectEncryption(Buffer.from('id,note\n1,"%PDF-1.7 header"\n2,"trailer << /Encrypt 5 0 R >>"\nstartxref\n0\n'))).toBeUndefined();
    const pdf = (trailer: string) => Buffer.from(`%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<< /Root 1 0 R ${trailer}>>\n%%EOF\n`);
    expect(detectEncryption(pdf('/Encrypt 5 0 R '))).toBeUndefined();
    expect(detectEncryption(pdf(''))).toBeUndefined();
  });

  it('survives every truncation (never encrypted without startxref) and thousands of mutations', () => {
    Object.values(needPassword).forEach((pdf, i) => {
      expectTruncationsSafe(pdf, pdf.lastIndexOf('startxref'));
      expectMutationsSafe(pdf, 400 + i, 700);
    });
  });
});

describe('Office documents (OLE compound files)', () => {
  const python = requireOlefile();
  const standardInfo = (major: number, minor: number) => {
    const b = Buffer.alloc(200, 0x11);
    b.writeUInt16LE(major, 0);
    b.writeUInt16LE(minor, 2);
    return b;
  };
  const genuine: Record<string, Buffer> = {};
  beforeAll(() => {
    for (const version of [3, 4] as const) {
      // a package over 4096 bytes lives in regular sectors, a smaller one in the mini stream
      genuine[`v${version} agile`] = compoundFile({ EncryptionInfo: agileEncryptionInfo(), EncryptedPackage: encryptedPackage(randomBytes(20000, 10), 19990) }, version);
      genuine[`v${version} standard, small`] = compoundFile(
        { '\u0006DataSpaces': Buffer.from('x'), EncryptionInfo: standardInfo(3, 2), EncryptedPackage: encryptedPackage(randomBytes(2000, 11), 1990) },
        version,
      );
    }
  });

  it('sees EncryptionInfo and EncryptedPackage streams with ciphertext as encrypted', () => {
    for (const [name, cfb] of Object.entries(genuine)) expect(detectEncryption(cfb), name).toBe('office');
    expect(detectEncryption(compoundFile({ EncryptionInfo: standardInfo(4, 2), EncryptedPackage: encryptedPackage(randomBytes(5000, 12)) }))).toBe('office');
  });

  it('refuses compressible or clear packages, unknown versions and missing streams', () => {
    const cfb = (info: Buffer, pkg: Buffer) => detectEncryption(compoundFile({ EncryptionInfo: info, EncryptedPackage: pkg }));
    expect(cfb(agileEncryptionInfo(), encryptedPackage(Buffer.alloc(20000)))).toBeUndefined();
    expect(cfb(agileEncryptionInfo(), encryptedPackage(Buffer.from('<xml>clear</xml>'.repeat(100))))).toBeUndefined();
    expect(cfb(agileEncryptionInfo(), encryptedPackage(Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), randomBytes(20000, 13)])))).toBeUndefined();
    expect(cfb(agileEncryptionInfo(), encryptedPackage(Buffer.alloc(0)))).toBeUndefined();
    expect(cfb(standardInfo(1, 1), encryptedPackage(randomBytes(20000, 14)))).toBeUndefined();
    expect(detectEncryption(compoundFile({ EncryptedPackage: encryptedPackage(randomBytes(20000, 15)) }))).toBeUndefined();
    // the names in stream data, not in the directory
    const names = Buffer.concat([Buffer.from('EncryptionInfo', 'utf16le'), Buffer.from('EncryptedPackage', 'utf16le'), randomBytes(6000, 16)]);
    expect(detectEncryption(compoundFile({ WordDocument: names, Data: randomBytes(6000, 17) }))).toBeUndefined();
    // the old check: a signature and the name at the first directory entry's place
    const fake = Buffer.alloc(2048);
    Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(fake);
    Buffer.from('EncryptedPackage', 'utf16le').copy(fake, 1024 + 0x40);
    expect(detectEncryption(fake)).toBeUndefined();
  });

  it('refuses FAT chains that loop or leave the file', () => {
    const cfb = genuine['v3 agile']!;
    const fatAt = (cfb.readUInt32LE(76) + 1) * 512;
    for (const patch of [(i: number) => i, () => 0x7ffffff0]) {
      const bad = Buffer.from(cfb);
      for (let i = 0; i < 128; i++) if (bad.readUInt32LE(fatAt + 4 * i) === 0xfffffffe) bad.writeUInt32LE(patch(i), fatAt + 4 * i);
      expect(verdict(bad)).toBeUndefined();
    }
    const hugeCounts = Buffer.from(cfb);
    hugeCounts.writeUInt32LE(0xfffffff0, 44); // FAT sectors
    expect(verdict(hugeCounts)).toBeUndefined();
  });

  it('survives every truncation and thousands of mutations', () => {
    Object.values(genuine).forEach((cfb, i) => {
      expectTruncationsSafe(cfb, cfb.length);
      expectMutationsSafe(cfb, 500 + i, 1000);
    });
  });

  it('reads a FAT that continues in DIFAT sectors (over 109 FAT sectors: 7 MB with 512-byte sectors)', () => {
    const big = compoundFile({ EncryptionInfo: agileEncryptionInfo(), EncryptedPackage: encryptedPackage(crypto.randomBytes(8 << 20)) });
    expect(big.readUInt32LE(72)).toBeGreaterThan(0);
    expect(detectEncryption(big)).toBe('office');
    const noDifat = Buffer.from(big);
    noDifat.writeUInt32LE(0xfffffffe, 68); // FAT sectors past the 109th missing
    expect(verdict(noDifat)).toBeUndefined();
    const loop = Buffer.from(big);
    // a DIFAT sector pointing at itself, and more FAT sectors announced than it lists
    loop.writeUInt32LE(loop.readUInt32LE(68), (loop.readUInt32LE(68) + 1) * 512 + 508);
    loop.writeUInt32LE(loop.readUInt32LE(44) + 1, 44);
    expect(verdict(loop)).toBeUndefined();
    if (python) expect(readWithOlefile(python, big).EncryptedPackage!.length).toBe(8 + (8 << 20));
  });

  it.skipIf(!python)('writes compound files that olefile reads, strict about defects', () => {
    for (const [name, cfb] of Object.entries(genuine)) {
      const streams = readWithOlefile(python!, cfb);
      expect(Object.keys(streams).sort(), name).toEqual(expect.arrayContaining(['EncryptedPackage', 'EncryptionInfo']));
      expect(streams.EncryptedPackage!.subarray(8).equals(randomBytes(name.includes('small') ? 2000 : 20000, name.includes('small') ? 11 : 10)), name).toBe(true);
      expect(streams.EncryptionInfo!.readUInt16LE(0), name).toBeGreaterThanOrEqual(3);
    }
  });
});

describe('anything else', () => {
  it('is just a file: empty, tiny, random, text', () => {
    for (const buf of [Buffer.alloc(0), Buffer.from('P'), Buffer.from('PK\x03\x04\x00', 'latin1'), Buffer.from('7z\xbc\xaf\x27\x1c', 'latin1'), Buffer.from('just text'), randomBytes(10000, 20)]) {
      expect(verdict(buf)).toBeUndefined();
    }
  });

  it('is linear: 50 MB of random bytes or of repeated signatures finish', () => {
    const size = 50 * 1024 * 1024;
    const big = randomBytes(1 << 20, 21);
    const random = Buffer.alloc(size);
    for (let i = 0; i < size; i += big.length) big.copy(random, i);
    expect(verdict(random)).toBeUndefined();
    expect(verdict(Buffer.alloc(size, 'PK\x03\x04', 'latin1'))).toBeUndefined();
    // every local header pointing at the next one, an end record claiming all of them
    const zip = Buffer.alloc(size, 'PK\x03\x04', 'latin1');
    zip.write('PK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00', size - 22, 'latin1');
    expect(verdict(zip)).toBeUndefined();
    // a PDF made of object headers with unterminated dictionaries and strings
    const pdf = Buffer.alloc(size, '6 0 obj << /A (6 0 obj <', 'latin1');
    pdf.write('%PDF-1.7\n', 0, 'latin1');
    pdf.write(`\nxref\ntrailer << /Encrypt 6 0 R /ID [<00><00>] >>\nstartxref\n${size - 99}\n%%EOF\n`, size - 100, 'latin1');
    expect(verdict(pdf)).toBeUndefined();
    // a compound file header claiming every sector is a FAT sector
    const cfb = Buffer.alloc(size, 0xff);
    Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(cfb);
    cfb.writeUInt16LE(3, 26);
    cfb.writeUInt16LE(0xfffe, 28);
    cfb.writeUInt16LE(9, 30);
    cfb.writeUInt16LE(6, 32);
    cfb.writeUInt32LE(4096, 56);
    cfb.writeUInt32LE(size / 512 - 1, 44);
    for (let i = 0; i < 109; i++) cfb.writeUInt32LE(i, 76 + 4 * i);
    cfb.writeUInt32LE(200, 68);
    expect(verdict(cfb)).toBeUndefined();
  });
});
