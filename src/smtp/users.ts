import type { SmtpUser } from '../config/schema.js';
import { verifyPassword } from '../crypto/password-hash.js';
import { asciiDomain } from '../message/address.js';

// A hash to spend the same time on when the user does not exist, so timing does not reveal names.
const DUMMY = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

/**
 * Checks AUTH passwords, one at a time: each check is an scrypt on libuv's thread pool, which ZIP
 * key derivation and file I/O share, so a flood of AUTH tries waits in line instead of taking
 * every thread.
 */
export function userCheck(users: SmtpUser[]): (username: string, password: string) => Promise<boolean> {
  const byName = new Map(users.map((u) => [u.username, u.password]));
  let line: Promise<unknown> = Promise.resolve();
  return (username, password) => {
    const hash = byName.get(username);
    const turn = line.then(() => verifyPassword(password, hash ?? DUMMY)).then((ok) => ok && hash !== undefined);
    line = turn.catch(() => undefined);
    return turn;
  };
}

/**
 * Whether an authenticated user may use an envelope sender: one of the user's `from` addresses or
 * domains (subdomains included), or, without `from`, an address of the organisation's own domains.
 * The null sender is nobody's: a login sends as someone.
 */
export function senderCheck(users: SmtpUser[], internalDomains: string[]): (username: string, sender: string) => boolean {
  const allowed = new Map(users.map((u) => [u.username, u.from ?? internalDomains.map((d) => d.toLowerCase())]));
  return (username, sender) => {
    if (sender === '') return false;
    const address = asciiDomain(sender).toLowerCase();
    const domain = address.slice(address.lastIndexOf('@') + 1);
    return (allowed.get(username) ?? []).some((entry) => (entry.includes('@') ? entry === address : domain === entry || domain.endsWith(`.${entry}`)));
  };
}
