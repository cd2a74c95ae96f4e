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

/** What each byte is in base64: BASE64_DATA (A–Z a–z 0–9 + /), BASE64_PAD (=) or 0 (anything else). A table: base64 bodies are megabytes. */
export const BASE64_DATA = 1;
export const BASE64_PAD = 2;
export const BASE64_CLASS = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_CLASS[c.charCodeAt(0)] = BASE64_DATA;
BASE64_CLASS[0x3d] = BASE64_PAD;

/** A base64 data character (A–Z a–z 0–9 + /), padding not included. */
export function isBase64Char(c: number): boolean {
  return BASE64_CLASS[c] === BASE64_DATA;
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
