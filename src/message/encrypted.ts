import { isEncryptedOffice } from './encrypted/office.js';
import { isEncryptedPdf } from './encrypted/pdf.js';
import { isEncrypted7z } from './encrypted/seven-zip.js';
import { isEncryptedZip } from './encrypted/zip.js';

const startsWith = (buf: Buffer, bytes: number[]) => buf.length >= bytes.length && bytes.every((b, i) => buf[i] === b);
const ZIP = [0x50, 0x4b, 0x03, 0x04];
const CFB = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const SEVEN_ZIP = [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c];

/**
 * Whether an attachment is provably protected by a password, and how: a ZIP whose every file is
 * encrypted, a PDF that does not open with the empty user password, an Office file encrypted into
 * an OLE container, or a 7z archive with encrypted headers (-mhe). Such files travel as they are,
 * so anything less certain (a flag, a magic string, a truncated or malformed file) is undefined
 * and gets zipped again. Never throws; linear in the size of the content.
 */
export function detectEncryption(content: Buffer): 'zip' | 'pdf' | 'office' | '7z' | undefined {
  try {
    if (startsWith(content, ZIP)) return isEncryptedZip(content) ? 'zip' : undefined;
    if (startsWith(content, CFB)) return isEncryptedOffice(content) ? 'office' : undefined;
    if (startsWith(content, SEVEN_ZIP)) return isEncrypted7z(content) ? '7z' : undefined;
    if (content.subarray(0, 1024).includes('%PDF-')) return isEncryptedPdf(content) ? 'pdf' : undefined;
  } catch {
    // a parser bug must not make the gateway fail the message: the file is then just a file
  }
  return undefined;
}
