import { u32 } from '../util/bytes.js';
import { SIGNATURE as CFB, isEncryptedOffice } from './encrypted/office.js';
import { isEncryptedPdf } from './encrypted/pdf.js';
import { SIGNATURE as SEVEN_ZIP, isEncrypted7z } from './encrypted/seven-zip.js';
import { isEncryptedZip } from './encrypted/zip.js';
import { LOCAL_SIG } from './zip-directory.js';

const startsWith = (buf: Buffer, signature: Buffer) => buf.subarray(0, signature.length).equals(signature);

/** Bytes of a file's start that mayBeEncrypted() looks at. */
export const ENCRYPTION_SNIFF_BYTES = 1024;

/** Whether a file starting with `head` could be one detectEncryption() recognises (else it need not be read whole). */
export function mayBeEncrypted(head: Buffer): boolean {
  return u32(head, 0) === LOCAL_SIG || startsWith(head, CFB) || startsWith(head, SEVEN_ZIP) || head.subarray(0, ENCRYPTION_SNIFF_BYTES).includes('%PDF-');
}

/**
 * Whether an attachment is provably protected by a password, and how: a ZIP whose every file is
 * encrypted, a PDF that does not open with the empty user password, an Office file encrypted into
 * an OLE container, or a 7z archive with encrypted headers (-mhe). Such files travel as they are,
 * so anything less certain (a flag, a magic string, a truncated or malformed file) is undefined
 * and gets zipped again. Never throws; linear in the size of the content.
 */
export function detectEncryption(content: Buffer): 'zip' | 'pdf' | 'office' | '7z' | undefined {
  try {
    if (u32(content, 0) === LOCAL_SIG) return isEncryptedZip(content) ? 'zip' : undefined;
    if (startsWith(content, CFB)) return isEncryptedOffice(content) ? 'office' : undefined;
    if (startsWith(content, SEVEN_ZIP)) return isEncrypted7z(content) ? '7z' : undefined;
    if (content.subarray(0, 1024).includes('%PDF-')) return isEncryptedPdf(content) ? 'pdf' : undefined;
  } catch {
    // a parser bug must not make the gateway fail the message: the file is then just a file
  }
  return undefined;
}
