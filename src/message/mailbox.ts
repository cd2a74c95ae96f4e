/** An address with a display name, as outguard's notices are sent from (config `notices.from`). */
export interface Mailbox {
  name: string;
  address: string;
}

/**
 * The notices' sender unless `notices.from` says otherwise: outguard@<smtp.hostname>, named in
 * words (MAILER-DAEMON, used before, made a confirmation look like a bounce).
 */
export const defaultNoticeFrom = (hostname: string): Mailbox => ({ name: '送信確認 outguard', address: `outguard@${hostname}` });
