import zlib from 'node:zlib';

/** The CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) byte table; ZipCrypto's key schedule uses it too. */
export const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Slicing-by-8 tables: T[k][n] is the CRC of byte n followed by k zero bytes. */
const SLICES: Uint32Array[] = (() => {
  const t = [CRC_TABLE];
  for (let k = 1; k < 8; k++) {
    const prev = t[k - 1];
    const next = new Uint32Array(256);
    for (let n = 0; n < 256; n++) next[n] = (CRC_TABLE[prev[n] & 0xff] ^ (prev[n] >>> 8)) >>> 0;
    t.push(next);
  }
  return t;
})();

/**
 * CRC-32 in JavaScript (slicing-by-8), continuing from `crc` (0 to start). Used where the
 * runtime has no zlib.crc32 (Node before 20.15); exported so tests can compare both.
 */
export function crc32Js(data: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = SLICES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  for (; i < end8; i += 8) {
    const a = (c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0;
    c =
      t7[a & 0xff] ^
      t6[(a >>> 8) & 0xff] ^
      t5[(a >>> 16) & 0xff] ^
      t4[a >>> 24] ^
      t3[data[i + 4]] ^
      t2[data[i + 5]] ^
      t1[data[i + 6]] ^
      t0[data[i + 7]];
  }
  for (; i < n; i++) c = t0[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `data` continuing from `crc` (0 to start): zlib's native one when the runtime has it. */
export const crc32: (data: Uint8Array, crc?: number) => number = typeof native === 'function' ? (data, crc = 0) => native(data, crc) >>> 0 : crc32Js;
