import { createHash } from 'node:crypto';
import libmime from 'libmime';
import { detectEncryption } from '../message/encrypted.js';
import type { Attachment, ParsedMessage } from '../message/parse.js';
import { base64Lines, rewriteParts } from '../message/rewrite.js';
import type { EncryptionSettings, ZipProfile } from '../policy/encryption.js';
import { generatePassword } from './password.js';
import { zipToBuffer } from './writer.js';

export interface PackedFile {
  name: string;
  size: number;
  sha256: string;
}

export type Packing =
  /** Nothing to encrypt: no attachments (inline images stay inline). */
  | { kind: 'unchanged'; passedAsIs: string[] }
  | { kind: 'packed'; raw: Buffer; password: string; zipName: string; files: PackedFile[]; passedAsIs: string[] }
  /** The message cannot be encrypted as it is: the policy holds or rejects it. */
  | { kind: 'refused'; action: 'hold' | 'reject'; rule: 'signed-message' | 'already-encrypted'; reason: string; value: string };

const SIGNED = new Set(['multipart/signed', 'application/pkcs7-mime', 'application/x-pkcs7-mime']);

/**
 * 第6-2 for external recipients: every attachment goes into one encrypted ZIP that replaces them;
 * the text and HTML bodies, inline images and headers stay byte for byte, and a short note part
 * says the password follows separately. A forwarded message goes in as .eml.
 */
export async function packAttachments(message: ParsedMessage, settings: EncryptionSettings, profile: ZipProfile): Promise<Packing> {
  const files = message.attachments.filter((a) => !a.inline);
  if (files.length === 0) return { kind: 'unchanged', passedAsIs: [] };
  if (SIGNED.has(message.root.contentType)) {
    return {
      kind: 'refused',
      action: settings.signed,
      rule: 'signed-message',
      reason: 'signed message with attachments cannot be encrypted without breaking the signature',
      value: files.map((f) => f.filename).join(', '),
    };
  }
  const encrypted = files.filter((a) => detectEncryption(a.content()) !== undefined);
  if (encrypted.length > 0 && settings.alreadyEncrypted === 'hold') {
    return {
      kind: 'refused',
      action: 'hold',
      rule: 'already-encrypted',
      reason: 'attachment is already encrypted',
      value: encrypted.map((a) => a.filename).join(', '),
    };
  }
  // already protected files are not zipped a second time: they travel as they are
  const toPack = files.filter((a) => !encrypted.includes(a));
  const passedAsIs = encrypted.map((a) => a.filename);
  if (toPack.length === 0) return { kind: 'unchanged', passedAsIs };

  const password = generatePassword(settings.passwordLength);
  const entries = toPack.map((a) => ({ name: entryName(a), content: a.content() }));
  const zip = await zipToBuffer(entries, { password, cipher: profile.cipher, names: profile.names });
  const raw = rewriteParts(message.raw, message.root, new Set(toPack.map((a) => a.node)), [notePart(settings.zipName), zipPart(settings.zipName, zip)]);
  return {
    kind: 'packed',
    raw,
    password,
    zipName: settings.zipName,
    files: entries.map((e) => ({ name: e.name, size: e.content.length, sha256: createHash('sha256').update(e.content).digest('hex') })),
    passedAsIs,
  };
}

function entryName(a: Attachment): string {
  return a.contentType === 'message/rfc822' && !/\.eml$/i.test(a.filename) ? `${a.filename}.eml` : a.filename;
}

function notePart(zipName: string) {
  const text = [
    `このメールの添付ファイルは暗号化ZIP（${zipName}）にまとめて送信されました。パスワードは別途お知らせします。`,
    `The attachments of this message were packed into an encrypted ZIP file (${zipName}). The password will be sent separately.`,
    '',
  ].join('\r\n');
  return {
    headers: ['Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: base64', 'Content-Disposition: inline'],
    body: base64Lines(Buffer.from(text, 'utf8')),
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
