import libmime from 'libmime';
import type { Attachment, MessageModel } from '../message/model.js';
import { assemble, base64Lines, base64LinesStream, rewriteParts, wrapWhole } from '../message/rewrite.js';
import { type Replacement, substitute } from '../message/long-lines.js';
import { type ByteStream, rangeChunks } from '../message/source.js';
import type { EncryptionSettings, ZipProfile } from '../policy/encryption.js';
import { generatePassword } from './password.js';
import { type ZipEntryInput, createEncryptedZip } from './writer.js';

export interface PackedFile {
  name: string;
  size: number;
  sha256: string;
}

/** One copy of a message with its files in an encrypted ZIP (第6-2). */
export interface Packing {
  /** The copy, made as it is read (read it once: each reading would be a new archive). */
  raw: ByteStream;
  password: string;
  zipName: string;
  /** What went into the ZIP, as the sender attached it (sizes and digests known once `raw` was read, or worked out when asked). */
  files: PackedFile[];
  /** 'attachments': the files replaced by the ZIP, the rest byte for byte; 'whole': the message itself is the ZIP's one file. */
  form: 'attachments' | 'whole';
}

/**
 * Replaces `files` with one encrypted ZIP: the text and HTML bodies, inline images and headers
 * stay byte for byte (but for `replacements`: parts re-encoded for lines too long to send), and a
 * short note part says the password follows separately. A forwarded message goes in as .eml.
 */
export function packAttachments(message: MessageModel, files: Attachment[], settings: EncryptionSettings, profile: ZipProfile, replacements: Replacement[] = []): Packing {
  const password = generatePassword(settings.passwordLength);
  const entries = (): ZipEntryInput[] => files.map((a) => ({ name: entryName(a), content: streamOf(a.chunks()) }));
  const zip = zipPart(settings.zipName, zipStream(entries, password, profile));
  const pieces = substitute(rewriteParts(message.source, message.root, new Set(files.map((a) => a.node)), [notePart(settings.zipName, 'attachments'), zip]), replacements);
  // size and digest are read once the copy was made: zipping measured each file on the way
  const packed = files.map((a): PackedFile => ({
    name: entryName(a),
    get size() {
      return a.size;
    },
    get sha256() {
      return a.sha256;
    },
  }));
  return { raw: assemble(message.source, pieces), password, zipName: settings.zipName, files: packed, form: 'attachments' };
}

/**
 * The safe form for a message that cannot be taken apart as it is — ambiguous, signed over its
 * files, or carrying files inside its text: the original message, whole, is the ZIP's one file
 * (`<subject>.eml`), and the copy keeps only the original's ordinary headers.
 */
export function packWhole(message: MessageModel, settings: EncryptionSettings, profile: ZipProfile): Packing {
  const password = generatePassword(settings.passwordLength);
  const name = `${fileSafe(message.subject) || 'message'}.eml`;
  const zip = zipPart(settings.zipName, zipStream(() => [{ name, content: streamOf(rangeChunks(message.source)) }], password, profile));
  const files = message.files.map((a) => ({ name: a.filename, size: a.size, sha256: a.sha256 }));
  return {
    raw: assemble(message.source, wrapWhole(message.source, message.root, [notePart(settings.zipName, 'whole'), zip])),
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

/** The encrypted ZIP of some entries, base64 in MIME lines, made as it is read. */
function zipStream(entries: () => ZipEntryInput[], password: string, profile: ZipProfile): (eol: string) => ByteStream {
  return (eol) => base64LinesStream(() => createEncryptedZip(entries(), { password, cipher: profile.cipher, names: profile.names }), eol);
}

/** Pieces made on this thread, a piece at a time, as the writer asks for them. */
async function* streamOf(pieces: Iterable<Buffer>): AsyncGenerator<Buffer> {
  yield* pieces;
}

function zipPart(zipName: string, zip: (eol: string) => ByteStream) {
  const ascii = /^[\x20-\x7e]+$/.test(zipName) && !/["\\]/.test(zipName);
  // RFC 2231 for Content-Disposition, and the RFC 2047 form in name= that Outlook reads
  const name = ascii ? `"${zipName}"` : `"${libmime.encodeWord(zipName, 'B')}"`;
  const filename = ascii ? `filename="${zipName}"` : `filename*=UTF-8''${encodeURIComponent(zipName)}`;
  return {
    headers: [`Content-Type: application/zip; name=${name}`, 'Content-Transfer-Encoding: base64', `Content-Disposition: attachment; ${filename}`],
    body: zip,
  };
}
