import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The data-at-rest key: 32 bytes that seal what the gateway stores (outbox messages, password
 * notices) with seal()/open() from sealed.ts.
 *
 * Where it comes from, first match wins:
 *
 * 1. `OUTGUARD_SECRET` in the environment. The value is a secret string of at least 32
 *    characters; the key is SHA-256 of its UTF-8 bytes. Every string is accepted the same way,
 *    so there is no guessing whether a value "looks like" base64 or hex: `openssl rand -base64 32`
 *    is a good value, and so is a long random passphrase. The same value always gives the same
 *    key, so several nodes sharing one database share one secret.
 * 2. `OUTGUARD_SECRET_FILE`: a key file elsewhere (32 raw bytes, mode 0600, never created) — a
 *    copy of an existing data dir's `secret.key`, so that other processes or nodes use the key
 *    that data is sealed with.
 * 3. The key file `DATA_DIR/secret.key`: 32 random bytes (binary), created on first use with
 *    mode 0600. An existing key file that the group or others may read or write is refused —
 *    the key is only as secret as that file.
 *
 * Losing the key (or changing OUTGUARD_SECRET) makes what was sealed with it unreadable: the
 * outbox then fails those jobs instead of sending them. Keep a backup of the key file apart
 * from the data backup.
 */

export const SECRET_ENV = 'OUTGUARD_SECRET';
export const SECRET_FILE_ENV = 'OUTGUARD_SECRET_FILE';
export const KEY_FILE_NAME = 'secret.key';
export const KEY_BYTES = 32;
/** The shortest OUTGUARD_SECRET accepted. */
export const MIN_SECRET_LENGTH = 32;

export interface SecretKey {
  key: Buffer;
  /** Where the key came from (never the key itself): safe to log. */
  source: 'env' | 'file';
  /** The key file, when source is 'file' (the data dir's, or OUTGUARD_SECRET_FILE's). */
  file?: string;
  /** True when the key file was created by this call. */
  created: boolean;
}

/** The data-at-rest key is missing, malformed or not protected well enough. */
export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

/** The key from OUTGUARD_SECRET, or OUTGUARD_SECRET_FILE, or else from (or into) DATA_DIR/secret.key. */
export function loadSecretKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): SecretKey {
  const secret = env[SECRET_ENV];
  const named = env[SECRET_FILE_ENV];
  if (secret !== undefined && named !== undefined && named !== '') throw new SecretKeyError(`both ${SECRET_ENV} and ${SECRET_FILE_ENV} are set: set one of them`);
  if (secret !== undefined) return { key: keyFromSecret(secret), source: 'env', created: false };
  if (named !== undefined && named !== '') {
    const given = path.resolve(named);
    const key = readKeyFile(given);
    if (!key) throw new SecretKeyError(`${SECRET_FILE_ENV} names ${given}, which does not exist (it is never created: copy the key file of the data dir whose key this process should use)`);
    return { key, source: 'file', file: given, created: false };
  }
  const file = path.join(dataDir, KEY_FILE_NAME);
  const existing = readKeyFile(file);
  if (existing) return { key: existing, source: 'file', file, created: false };
  return createKeyFile(file);
}

/** SHA-256 of the secret string (see loadSecretKey for the rules). */
export function keyFromSecret(secret: string): Buffer {
  if (secret.trim() === '') throw new SecretKeyError(`${SECRET_ENV} is set but empty; unset it to use DATA_DIR/${KEY_FILE_NAME}, or set a secret of at least ${MIN_SECRET_LENGTH} characters`);
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new SecretKeyError(`${SECRET_ENV} is too short: ${secret.length} characters, at least ${MIN_SECRET_LENGTH} expected (e.g. the output of "openssl rand -base64 32")`);
  }
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * A key for one purpose derived from the data-at-rest key (HKDF-SHA256), for modules that want
 * their own key rather than sharing one (e.g. 'hold-token', 'spool').
 */
export function deriveKey(key: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `outguard:${purpose}`, KEY_BYTES));
}

/** The key of message digests (message/digest.ts): the gateway, the holds and the CLI recognise a message alike. */
export function messageDigestKey(key: Buffer): Buffer {
  return deriveKey(key, 'message-digest');
}

/** The key in `file`, or null when there is no such file. */
function readKeyFile(file: string): Buffer | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new SecretKeyError(`key file ${file} is a symbolic link; refusing to use it (replace it with the key file itself, mode 0600)`);
    throw new SecretKeyError(`cannot read key file ${file}: ${(err as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new SecretKeyError(`key file ${file} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new SecretKeyError(
        `key file ${file} is readable or writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); ` +
          `refusing to use it: run "chmod 600 ${file}" (and consider the key exposed if others could read it)`,
      );
    }
    if (st.size !== KEY_BYTES) throw new SecretKeyError(`key file ${file} has ${st.size} bytes, ${KEY_BYTES} expected; it is not an outguard key file or it is damaged`);
    const key = Buffer.alloc(KEY_BYTES);
    const n = fs.readSync(fd, key, 0, KEY_BYTES, 0);
    if (n !== KEY_BYTES) throw new SecretKeyError(`key file ${file}: read ${n} bytes, ${KEY_BYTES} expected`);
    return key;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes a new key to a temporary file (0600, fsynced) and links it into place, so the key file
 * appears complete or not at all; when another process created one meanwhile, that one is used.
 */
function createKeyFile(file: string): SecretKey {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.fchmodSync(fd, 0o600); // whatever the umask
    fs.writeSync(fd, key, 0, KEY_BYTES, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      fs.rmSync(tmp, { force: true });
      throw new SecretKeyError(`cannot create key file ${file}: ${(err as Error).message}`);
    }
    fs.rmSync(tmp, { force: true });
    const other = readKeyFile(file);
    if (!other) throw new SecretKeyError(`key file ${file} vanished while it was being created`);
    return { key: other, source: 'file', file, created: false };
  }
  fs.rmSync(tmp, { force: true });
  fsyncDir(dir);
  return { key, source: 'file', file, created: true };
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // not every platform can fsync a directory; the key file itself is on disk
  }
}
