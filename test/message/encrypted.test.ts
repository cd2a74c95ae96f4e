import { describe, expect, it } from 'vitest';
import { detectEncryption } from '../../src/message/encrypted.js';
import { readZipDirectory } from '../../src/message/zip-directory.js';
import { sevenZip, SEVEN_ZIP } from '../support/archives.js';
import { requireTool } from '../support/tools.js';

describe.skipIf(!requireTool(SEVEN_ZIP, '7zip'))('detectEncryption on archives made by 7-Zip', () => {
  const files = { '見積書.txt': 'お見積もり\n', 'data.bin': Buffer.alloc(1000, 7) };

  it('sees an AES-256 ZIP and a ZipCrypto ZIP as encrypted, a plain ZIP as not', () => {
    expect(detectEncryption(sevenZip(files, ['-tzip', '-pSecret1', '-mem=AES256']))).toBe('zip');
    expect(detectEncryption(sevenZip(files, ['-tzip', '-pSecret1', '-mem=ZipCrypto']))).toBe('zip');
    expect(detectEncryption(sevenZip(files, ['-tzip']))).toBeUndefined();
  });

  it('reads ZIP entry names, UTF-8 flagged or not', () => {
    const names = readZipDirectory(sevenZip(files, ['-tzip', '-mcu=on']))!.map((e) => e.name).sort();
    expect(names).toEqual(['data.bin', '見積書.txt']);
  });

  // Without -mhe the coder list sits inside an LZMA-compressed header: such an archive is
  // zipped again (harmless), only 7z with encrypted headers is recognised.
  it('sees a 7z archive with encrypted headers as encrypted', () => {
    expect(detectEncryption(sevenZip(files, ['-t7z', '-pSecret1', '-mhe=on'], 'out.7z'))).toBe('7z');
    expect(detectEncryption(sevenZip(files, ['-t7z'], 'out.7z'))).toBeUndefined();
  });
});

describe('detectEncryption on documents', () => {
  it('sees a PDF with an /Encrypt dictionary', () => {
    const pdf = (trailer: string) => Buffer.from(`%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<< /Root 1 0 R ${trailer}>>\n%%EOF\n`);
    expect(detectEncryption(pdf('/Encrypt 5 0 R '))).toBe('pdf');
    expect(detectEncryption(pdf(''))).toBeUndefined();
  });

  it('sees an OLE container holding an EncryptedPackage (password-protected .docx/.xlsx)', () => {
    const cfb = Buffer.alloc(2048);
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(cfb);
    Buffer.from('EncryptedPackage', 'utf16le').copy(cfb, 1024 + 0x40);
    expect(detectEncryption(cfb)).toBe('office');
    expect(detectEncryption(Buffer.concat([cfb.subarray(0, 8), Buffer.alloc(2040)]))).toBeUndefined();
  });

  it('leaves other content alone', () => {
    expect(detectEncryption(Buffer.from('just text'))).toBeUndefined();
    expect(detectEncryption(Buffer.alloc(0))).toBeUndefined();
  });
});
