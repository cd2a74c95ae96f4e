import type { SmtpUser } from '../config/schema.js';
import { verifyPassword } from '../crypto/password-hash.js';

// A hash to spend the same time on when the user does not exist, so timing does not reveal names.
const DUMMY = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export function userCheck(users: SmtpUser[]): (username: string, password: string) => Promise<boolean> {
  const byName = new Map(users.map((u) => [u.username, u.password]));
  return async (username, password) => {
    const hash = byName.get(username);
    const ok = await verifyPassword(password, hash ?? DUMMY);
    return ok && hash !== undefined;
  };
}
