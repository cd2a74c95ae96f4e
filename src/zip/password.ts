import { randomInt } from 'node:crypto';

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ'; // no I, O
const LOWER = 'abcdefghijkmnopqrstuvwxyz'; // no l
const DIGITS = '23456789'; // no 0, 1

/**
 * The characters a generated password is drawn from: ASCII letters and digits without the
 * look-alikes 0 O 1 l I (57 characters, about 5.8 bits each). No symbols: a password notice is
 * read aloud over the phone and typed on Japanese keyboards, where symbols move around and an
 * IME may turn them full-width.
 */
export const PASSWORD_ALPHABET = UPPER + LOWER + DIGITS;

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

/**
 * A random password for an encrypted ZIP, from node:crypto (randomInt draws without modulo
 * bias). It has at least one upper-case letter, one lower-case letter and one digit: passwords
 * lacking one are redrawn whole, so every password that qualifies is equally likely.
 * 12 characters give about 70 bits. Throws RangeError for a length below 8.
 */
export function generatePassword(length = 12): string {
  if (!Number.isInteger(length) || length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH) {
    throw new RangeError(`password length must be an integer from ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH}, got ${length}`);
  }
  for (;;) {
    let password = '';
    for (let i = 0; i < length; i++) password += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
    if (/[A-Z]/.test(password) && /[a-z]/.test(password) && /[0-9]/.test(password)) return password;
  }
}
