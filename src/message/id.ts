import { randomBytes } from 'node:crypto';

/**
 * A message id that sorts by arrival time and is unique without coordination:
 * 9 base-36 digits of milliseconds, then 10 random base-32 characters.
 */
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

export function newMessageId(now = Date.now()): string {
  const time = now.toString(36).padStart(9, '0');
  const bytes = randomBytes(10);
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b & 31];
  return `${time}-${rand}`;
}
