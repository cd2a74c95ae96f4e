import { createCipheriv, createHmac, pbkdf2, randomBytes, type Cipher, type Hmac } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** WinZip AES-256: 16-byte salt, 2-byte password verifier, 10-byte authentication code. */
export const AES_SALT_LENGTH = 16;
export const AES_VERIFIER_LENGTH = 2;
export const AES_MAC_LENGTH = 10;
/** Bytes an AES entry's data has besides the ciphertext. */
export const AES_OVERHEAD = AES_SALT_LENGTH + AES_VERIFIER_LENGTH + AES_MAC_LENGTH;

const KEY_LENGTH = 32;
const ITERATIONS = 1000;
/** Key stream generated per batch of counter blocks (a multiple of 16). */
const BATCH = 256 * 1024;

/**
 * WinZip AE-2 encryption of one entry's (compressed) data: PBKDF2-HMAC-SHA1 (1000 rounds) over
 * a random salt gives the AES-256 key, the HMAC-SHA1 key and the password verifier; the data is
 * encrypted in CTR mode with a little-endian counter in the block's first 8 bytes, starting
 * at 1 (Gladman's fileenc, which WinZip and 7-Zip use); the MAC is the first 10 bytes of
 * HMAC-SHA1 over the ciphertext.
 *
 * Node's 'aes-256-ctr' counts big-endian, so the key stream is made here: batches of counter
 * blocks encrypted with 'aes-256-ecb' (AES-NI through OpenSSL), then XORed into the data over
 * 32-bit words.
 */
export class AesEncryptor {
  private readonly ecb: Cipher;
  private readonly hmac: Hmac;
  /** Next counter value; below 2^28 for any entry under 4 GiB, so it fits the first word. */
  private counter = 1;
  private keystream: Buffer = Buffer.alloc(0);
  private ksPos = 0;
  private readonly counterBlocks = Buffer.alloc(BATCH);
  private readonly counterWords = new Uint32Array(this.counterBlocks.buffer, this.counterBlocks.byteOffset, BATCH / 4);

  private constructor(
    aesKey: Buffer,
    hmacKey: Buffer,
    /** Salt and password verifier, written before the ciphertext. */
    readonly header: Buffer,
  ) {
    this.ecb = createCipheriv('aes-256-ecb', aesKey, null).setAutoPadding(false);
    this.hmac = createHmac('sha1', hmacKey);
  }

  static async create(password: string): Promise<AesEncryptor> {
    const salt = randomBytes(AES_SALT_LENGTH);
    const derived = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, ITERATIONS, 2 * KEY_LENGTH + AES_VERIFIER_LENGTH, 'sha1');
    const verifier = derived.subarray(2 * KEY_LENGTH);
    return new AesEncryptor(derived.subarray(0, KEY_LENGTH), derived.subarray(KEY_LENGTH, 2 * KEY_LENGTH), Buffer.concat([salt, verifier]));
  }

  /** Encrypts the next piece of data (any length); returns a new buffer, the input is left alone. */
  update(data: Uint8Array): Buffer {
    const n = data.length;
    if (n === 0) return Buffer.alloc(0);
    // Give the output the same alignment mod 8 as the key stream position, so both can be
    // read as 32-bit words from the same index on.
    const phase = (this.keystream.byteOffset + this.ksPos) & 7;
    const out = Buffer.allocUnsafeSlow(n + 8).subarray(phase, phase + n);
    out.set(data);
    let done = 0;
    while (done < n) {
      if (this.ksPos === this.keystream.length) this.refill(n - done);
      const m = Math.min(n - done, this.keystream.length - this.ksPos);
      xorInto(out, done, this.keystream, this.ksPos, m);
      done += m;
      this.ksPos += m;
    }
    this.hmac.update(out);
    return out;
  }

  /** The 10-byte authentication code, after the last update. */
  final(): Buffer {
    this.ecb.final();
    return this.hmac.digest().subarray(0, AES_MAC_LENGTH);
  }

  private refill(wanted: number): void {
    const bytes = Math.min(BATCH, Math.max(4096, (wanted + 15) & ~15));
    const words = this.counterWords;
    const blocks = bytes >>> 4;
    let c = this.counter;
    for (let i = 0, w = 0; i < blocks; i++, w += 4) words[w] = c++;
    this.counter = c;
    this.keystream = this.ecb.update(this.counterBlocks.subarray(0, bytes));
    this.ksPos = 0;
  }
}

/** dst[d..d+n) ^= src[s..s+n), over 32-bit words where both line up, bytes elsewhere. */
function xorInto(dst: Buffer, d: number, src: Buffer, s: number, n: number): void {
  const dAddr = dst.byteOffset + d;
  const sAddr = src.byteOffset + s;
  let i = 0;
  if ((dAddr & 3) === (sAddr & 3) && n >= 16) {
    const head = (4 - (dAddr & 3)) & 3;
    for (; i < head; i++) dst[d + i] ^= src[s + i];
    const words = (n - head) >>> 2;
    const dw = new Int32Array(dst.buffer, dAddr + head, words);
    const sw = new Int32Array(src.buffer, sAddr + head, words);
    for (let w = 0; w < words; w++) dw[w] ^= sw[w];
    i = head + words * 4;
  }
  for (; i < n; i++) dst[d + i] ^= src[s + i];
}
