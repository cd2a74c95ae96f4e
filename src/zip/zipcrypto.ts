import { randomBytes } from 'node:crypto';
import { CRC_TABLE } from './crc32.js';

/** Length of the encryption header written before each ZipCrypto entry's data. */
export const ZIPCRYPTO_HEADER_LENGTH = 12;

/**
 * Traditional PKWARE encryption ("ZipCrypto", APPNOTE 6.1) of one entry's (compressed) data,
 * the one Windows Explorer opens. Weak by today's standards (known-plaintext attacks), which is
 * why AES is the default; offered for recipients who can only use Explorer.
 *
 * The 12-byte header is 11 random bytes and a check byte. The entry is streamed with a data
 * descriptor (flag bit 3), so its CRC is not known when the header is written: the check byte
 * is then the high byte of the DOS time in the local header, as Info-ZIP does and as every
 * reader (Info-ZIP unzip, 7-Zip, Python zipfile, Windows) expects when bit 3 is set.
 */
export class ZipCryptoEncryptor {
  private k0 = 0x12345678;
  private k1 = 0x23456789;
  private k2 = 0x34567890;
  /** The encrypted 12-byte header, written before the data. */
  readonly header: Buffer;

  constructor(password: string, checkByte: number) {
    for (const b of Buffer.from(password, 'latin1')) this.updateKeys(b);
    const plain = randomBytes(ZIPCRYPTO_HEADER_LENGTH);
    plain[ZIPCRYPTO_HEADER_LENGTH - 1] = checkByte & 0xff;
    this.header = this.update(plain);
  }

  /** Encrypts the next piece of data; returns a new buffer, the input is left alone. */
  update(data: Uint8Array): Buffer {
    const n = data.length;
    const out = Buffer.allocUnsafe(n);
    const table = CRC_TABLE;
    let k0 = this.k0;
    let k1 = this.k1;
    let k2 = this.k2;
    for (let i = 0; i < n; i++) {
      const p = data[i];
      const t = (k2 | 2) & 0xffff;
      out[i] = p ^ ((Math.imul(t, t ^ 1) >>> 8) & 0xff);
      k0 = table[(k0 ^ p) & 0xff] ^ (k0 >>> 8);
      k1 = (Math.imul(k1 + (k0 & 0xff), 134775813) + 1) | 0;
      k2 = table[(k2 ^ (k1 >>> 24)) & 0xff] ^ (k2 >>> 8);
    }
    this.k0 = k0;
    this.k1 = k1;
    this.k2 = k2;
    return out;
  }

  private updateKeys(p: number): void {
    this.k0 = CRC_TABLE[(this.k0 ^ p) & 0xff] ^ (this.k0 >>> 8);
    this.k1 = (Math.imul(this.k1 + (this.k0 & 0xff), 134775813) + 1) | 0;
    this.k2 = CRC_TABLE[(this.k2 ^ (this.k1 >>> 24)) & 0xff] ^ (this.k2 >>> 8);
  }
}
