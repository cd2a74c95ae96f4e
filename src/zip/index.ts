/** Encrypted ZIP building for 第6-2: attachments leave only inside a password-protected ZIP. */
export { generatePassword, PASSWORD_ALPHABET } from './password.js';
export { sanitizeEntryName, type NameEncoding } from './names.js';
export { createEncryptedZip, zipToBuffer, ZipLimitError, type ZipEntryInfo, type ZipEntryInput, type ZipOptions } from './writer.js';
