import MailComposer from 'nodemailer/lib/mail-composer';
import type { Mailbox } from './mailbox.js';
import { oneLine } from './one-line.js';

export interface NoticeContent {
  from: string | Mailbox;
  to: string[];
  subject: string;
  /** Plain text, Japanese first, English second. */
  text: string;
  /** Extra headers such as X-Outguard-Notice and X-Outguard-Ref. */
  headers: Record<string, string>;
}

/**
 * Builds a message the gateway itself sends (notices): UTF-8 text, MIME-encoded subject. The
 * callers build the text from data, each untrusted value through oneLine; the subject is made one
 * line here as well, whoever builds it.
 */
export function composeNotice(notice: NoticeContent): Promise<Buffer> {
  const mail = new MailComposer({
    from: notice.from,
    to: notice.to,
    subject: oneLine(notice.subject, 250),
    text: notice.text,
    headers: notice.headers,
    // quoted-printable keeps ASCII lines such as "Password: …" readable in the raw message
    textEncoding: 'quoted-printable',
    disableFileAccess: true,
    disableUrlAccess: true,
  }).compile();
  mail.keepBcc = false;
  return new Promise((resolve, reject) => mail.build((err, message) => (err ? reject(err) : resolve(message))));
}
