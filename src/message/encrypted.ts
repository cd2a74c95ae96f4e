import { readZipDirectory } from './zip-directory.js';

const startsWith = (buf: Buffer, bytes: number[]) => bytes.every((b, i) => buf[i] === b);
const CFB = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const SEVEN_ZIP = [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c];
const AES_CODER = Buffer.from([0x06, 0xf1, 0x07, 0x01]);

/**
 * Whether an attachment is already protected by a password, and how: an encrypted ZIP, a PDF
 * with an /Encrypt dictionary, a password-protected Office file (an OLE container holding an
 * EncryptedPackage), or a 7z archive with encrypted headers (-mhe). undefined when not encrypted.
 * (A 7z with only its content encrypted hides the coder list in an LZMA-compressed header and is
 * not recognised; it is then simply zipped again.)
 */
export function detectEncryption(content: Buffer): 'zip' | 'pdf' | 'office' | '7z' | undefined {
  if (startsWith(content, [0x50, 0x4b, 0x03, 0x04])) {
    const entries = readZipDirectory(content);
    const encrypted = entries ? entries.some((e) => e.encrypted) : (content.readUInt16LE(6) & 1) === 1;
    return encrypted ? 'zip' : undefined;
  }
  if (content.subarray(0, 1024).includes('%PDF-')) {
    return content.includes('/Encrypt') ? 'pdf' : undefined;
  }
  if (startsWith(content, CFB)) {
    return content.includes(Buffer.from('EncryptedPackage', 'utf16le')) || content.includes(Buffer.from('EncryptionInfo', 'utf16le')) ? 'office' : undefined;
  }
  if (startsWith(content, SEVEN_ZIP) && content.length >= 32) {
    // The coder list lives in the (possibly encoded) header at the end of the archive.
    const next = 32 + Number(content.readBigUInt64LE(12));
    return next < content.length && content.subarray(next).includes(AES_CODER) ? '7z' : undefined;
  }
  return undefined;
}
