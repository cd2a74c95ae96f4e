import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Authenticated encryption for data at rest (AES-256-GCM).
 *
 * Layout of a sealed blob:
 *
 *   version (1 byte, 0x01) | nonce (12 bytes, random) | ciphertext (same length as plaintext) | tag (16 bytes)
 *
 * The version byte and the optional `aad` string ("additional authenticated data", not stored)
 * are authenticated with the ciphertext. Callers pass as `aad` what the blob belongs to (e.g.
 * `outbox:<job id>`), so a blob copied into another row, or opened for another purpose, fails
 * to open just as a tampered one does.
 *
 * Random 96-bit nonces are safe for far more blobs per key than a gateway writes (the usual
 * bound is 2^32 per key).
 */

export const SEALED_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES;
/** Bytes a sealed blob adds to its plaintext. */
export const SEALED_OVERHEAD = HEADER_BYTES + TAG_BYTES;

/** A sealed blob could not be opened: wrong key, wrong `aad`, corrupted or tampered with. */
export class SealedDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedDataError';
  }
}

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== 32) {
    throw new TypeError(`the data-at-rest key must be 32 bytes, got ${Buffer.isBuffer(key) ? key.length : typeof key}`);
  }
}

function additionalData(version: number, aad: string | undefined): Buffer {
  return Buffer.concat([Buffer.of(version), Buffer.from(aad ?? '', 'utf8')]);
}

/** Encrypts and authenticates `plaintext` under `key` (32 bytes). */
export function seal(key: Buffer, plaintext: Buffer, aad?: string): Buffer {
  checkKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(SEALED_VERSION, aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(SEALED_VERSION), nonce, body, cipher.getAuthTag()]);
}

/** Verifies and decrypts a blob made by seal() with the same key and `aad`; throws SealedDataError otherwise. */
export function open(key: Buffer, sealed: Buffer, aad?: string): Buffer {
  checkKey(key);
  if (sealed.length < SEALED_OVERHEAD) {
    throw new SealedDataError(`sealed data is truncated: ${sealed.length} bytes, at least ${SEALED_OVERHEAD} expected`);
  }
  const version = sealed[0]!;
  if (version !== SEALED_VERSION) {
    throw new SealedDataError(`sealed data has unknown format version ${version} (this build reads version ${SEALED_VERSION})`);
  }
  const nonce = sealed.subarray(1, HEADER_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(additionalData(version, aad));
  decipher.setAuthTag(tag);
  const plain = decipher.update(body);
  try {
    return Buffer.concat([plain, decipher.final()]);
  } catch {
    plain.fill(0);
    throw new SealedDataError(
      'sealed data failed authentication: it was tampered with or corrupted, or it is opened with another key ' +
        '(OUTGUARD_SECRET or DATA_DIR/secret.key changed) or for another record',
    );
  }
}
