import libmime from 'libmime';
import type { Attachment, MessageModel } from '../message/model.js';
import { base64Lines, rewriteParts, wrapWhole } from '../message/rewrite.js';
import type { EncryptionSettings, ZipProfile } from '../policy/encryption.js';
import { generatePassword } from './password.js';
import { zipToBuffer } from './writer.js';

export interface PackedFile {
  name: string;
  size: number;
  sha256: string;
}

/** One copy of a message with its files in an encrypted ZIP (第6-2). */
export interface Packing {
  raw: Buffer;
  password: string;
  zipName: string;
  /** What went into the ZIP, as the sender attached it. */
  files: PackedFile[];
  /** 'attachments': the files replaced by the ZIP, the rest byte for byte; 'whole': the message itself is the ZIP's one file. */
  form: 'attachments' | 'whole';
}

/**
 * Replaces `files` with one encrypted ZIP: the text and HTML bodies, inline images and headers
 * stay byte for byte, and a short note part says the password follows separately. A forwarded
 * message goes in as .eml.
 */
export async function packAttachments(message: MessageModel, files: Attachment[], settings: EncryptionSettings, profile: ZipProfile): Promise<Packing> {
  const password = generatePassword(settings.passwordLength);
  const entries = files.map((a) => ({ name: entryName(a), content: a.content(), size: a.size, sha256: a.sha256 }));
  const zip = await zipToBuffer(entries, { password, cipher: profile.cipher, names: profile.names });
  const raw = rewriteParts(message.raw, message.root, new Set(files.map((a) => a.node)), [notePart(settings.zipName, 'attachments'), zipPart(settings.zipName, zip)]);
  return { raw, password, zipName: settings.zipName, files: entries.map(({ name, size, sha256 }) => ({ name, size, sha256 })), form: 'attachments' };
}

/**
 * The safe form for a message that cannot be taken apart as it is — ambiguous, signed over its
 * files, or carrying files inside its text: the original message, whole, is the ZIP's one file
 * (`<subject>.eml`), and the copy keeps only the original's ordinary headers.
 */
export async function packWhole(message: MessageModel, settings: EncryptionSettings, profile: ZipProfile): Promise<Packing> {
  const password = generatePassword(settings.passwordLength);
  const raw = message.raw;
  const name = `${fileSafe(message.subject) || 'message'}.eml`;
  const zip = await zipToBuffer([{ name, content: raw }], { password, cipher: profile.cipher, names: profile.names });
  const files = message.files.map((a) => ({ name: a.filename, size: a.size, sha256: a.sha256 }));
  return {
    raw: wrapWhole(message.raw, message.root, [notePart(settings.zipName, 'whole'), zipPart(settings.zipName, zip)]),
    password,
    zipName: settings.zipName,
    files,
    form: 'whole',
  };
}

function entryName(a: Attachment): string {
  return a.contentType === 'message/rfc822' && !/\.eml$/i.test(a.filename) ? `${a.filename}.eml` : a.filename;
}

const fileSafe = (s: string) => s.replace(/[\\/:*?"<>|\x00-\x1f\x7f]/g, '_').trim().slice(0, 100);

function notePart(zipName: string, form: Packing['form']) {
  const text =
    form === 'attachments'
      ? [
          `このメールの添付ファイルは暗号化ZIP（${zipName}）にまとめて送信されました。パスワードは別途お知らせします。`,
          `The attachments of this message were packed into an encrypted ZIP file (${zipName}). The password will be sent separately.`,
          '',
        ]
      : [
          `このメールは、本文と添付ファイルを含めて全体を暗号化ZIP（${zipName}）に入れて送信されました。ZIP内の .eml ファイルをメールソフトで開いてください。パスワードは別途お知らせします。`,
          `This message was sent whole, body and attachments, inside an encrypted ZIP file (${zipName}). Open the .eml file in it with your mail program. The password will be sent separately.`,
          '',
        ];
  return {
    headers: ['Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: base64', 'Content-Disposition: inline'],
    body: base64Lines(Buffer.from(text.join('\r\n'), 'utf8')),
  };
}

function zipPart(zipName: string, zip: Buffer) {
  const ascii = /^[\x20-\x7e]+$/.test(zipName) && !/["\\]/.test(zipName);
  // RFC 2231 for Content-Disposition, and the RFC 2047 form in name= that Outlook reads
  const name = ascii ? `"${zipName}"` : `"${libmime.encodeWord(zipName, 'B')}"`;
  const filename = ascii ? `filename="${zipName}"` : `filename*=UTF-8''${encodeURIComponent(zipName)}`;
  return {
    headers: [`Content-Type: application/zip; name=${name}`, 'Content-Transfer-Encoding: base64', `Content-Disposition: attachment; ${filename}`],
    body: base64Lines(zip),
  };
}
