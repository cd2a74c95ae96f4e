/** Small readers of raw bytes shared by the parsers of mail encodings and file formats. */

/** Little-endian reads that answer -1 instead of throwing outside the buffer. */
export const u16 = (b: Buffer, p: number): number => (p >= 0 && p + 2 <= b.length ? b.readUInt16LE(p) : -1);
export const u32 = (b: Buffer, p: number): number => (p >= 0 && p + 4 <= b.length ? b.readUInt32LE(p) : -1);
/** A 64-bit value as a number; -1 outside the buffer or beyond 2^53 (no real file is that big). */
export const u64 = (b: Buffer, p: number): number => {
  if (p < 0 || p + 8 > b.length) return -1;
  const v = b.readBigUInt64LE(p);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
};

/** A base64 data character (A–Z a–z 0–9 + /), padding not included. */
export function isBase64Char(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
}

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** The value of a hex digit (either case); -1 for any other byte or none. */
export function hexValue(c: number | undefined): number {
  return c === undefined ? -1 : HEX[c]!;
}
