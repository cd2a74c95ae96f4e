import { composeNotice } from '../message/compose.js';
import type { Envelope } from '../message/envelope.js';
import type { Mailbox } from '../message/mailbox.js';
import { oneLine } from '../message/one-line.js';

export interface PasswordNoticeInput {
  /** X-Outguard-Id of the encrypted message this password unlocks. */
  ref: string;
  subject: string;
  zipName: string;
  /** The recipients of the encrypted message. */
  recipients: string[];
  password: string;
  /** Who gets the notice, and as whom it is sent. */
  envelope: Envelope;
  from: string | Mailbox;
}

/**
 * The password notice (第6-2: never in the same mail). Japanese first, then English, with the
 * password on exactly one line `Password: <password>`. It is built from data: the subject, the
 * ZIP name and the addresses each stand on one line (src/message/one-line.ts), so nothing the
 * sender wrote can put another line, such as a second `Password:`, into the notice.
 */
export function composePasswordNotice(n: PasswordNoticeInput): Promise<Buffer> {
  const toSender = n.envelope.to.length === 1 && n.recipients.every((r) => r !== n.envelope.to[0]);
  const subject = oneLine(n.subject);
  const zipName = oneLine(n.zipName);
  const list = n.recipients.map((r) => oneLine(r)).join(', ');
  const text = [
    toSender
      ? '次のメールの添付ファイルは暗号化ZIPにまとめて送信されました。このパスワードは、メールとは別の方法（電話、チャットなど）で受信者にお伝えください。'
      : '先にお送りしたメールの添付ファイル（暗号化ZIP）のパスワードをお知らせします。',
    '',
    `件名: ${subject || '(件名なし)'}`,
    `ZIPファイル名: ${zipName}`,
    `宛先: ${list}`,
    '',
    'パスワード:',
    `Password: ${n.password}`,
    '',
    '----',
    toSender
      ? 'The attachments of the message below were sent inside an encrypted ZIP file. Pass this password to the recipients by another route (phone, chat).'
      : 'This is the password of the encrypted ZIP attached to the message sent to you before.',
    '',
    `Subject: ${subject || '(no subject)'}`,
    `ZIP file: ${zipName}`,
    `Recipients: ${list}`,
    `outguard ID: ${n.ref}`,
    '',
  ].join('\n');
  return composeNotice({
    from: n.from,
    to: n.envelope.to,
    subject: `パスワードのお知らせ / Password notice: ${oneLine(n.subject, 120)}`,
    text,
    headers: { 'X-Outguard-Notice': 'password', 'X-Outguard-Ref': n.ref, 'Auto-Submitted': 'auto-generated' },
  });
}
