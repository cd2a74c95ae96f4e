/**
 * What kind of image the bytes are, when they are one whole image of a format every mail client
 * shows: the format is walked from its signature to its end marker, and that end must be the end
 * of the bytes (a picture with a file glued on behind it is not just a picture). Never throws;
 * the walks are bounded by the size.
 */
export function imageKind(bytes: Buffer): 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp' | undefined {
  const n = bytes.length;
  if (n >= 20 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a) return pngEnd(bytes) === n ? 'png' : undefined;
  if (n >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    // line breaks and NUL padding that transports and encoders leave behind are no data
    const end = jpegEnd(bytes);
    return end > 0 && /^[\r\n\0]*$/.test(bytes.toString('latin1', end)) ? 'jpeg' : undefined;
  }
  if (n >= 14 && /^GIF8[79]a$/.test(bytes.toString('latin1', 0, 6))) return gifEnd(bytes) === n ? 'gif' : undefined;
  if (n >= 16 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') {
    // the RIFF size counts everything after its first 8 bytes (an odd size is padded by one)
    const size = bytes.readUInt32LE(4) + 8;
    return size === n || size + 1 === n ? 'webp' : undefined;
  }
  if (n >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d) return bytes.readUInt32LE(2) === n ? 'bmp' : undefined;
  return undefined;
}

/** The offset just after the IEND chunk, walking chunk by chunk; -1 when the chunks do not add up. */
function pngEnd(b: Buffer): number {
  for (let at = 8; at + 12 <= b.length; ) {
    const length = b.readUInt32BE(at);
    const next = at + 12 + length;
    if (length > 0x7fffffff || next > b.length) return -1;
    if (b.toString('latin1', at + 4, at + 8) === 'IEND') return next;
    at = next;
  }
  return -1;
}

/** The offset just after the EOI marker: segments by their lengths, entropy-coded data byte-stuffed; -1 otherwise. */
function jpegEnd(b: Buffer): number {
  let at = 2;
  while (at + 2 <= b.length) {
    if (b[at] !== 0xff) return -1;
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd9) return at + 2;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (at + 4 > b.length) return -1;
    const next = at + 2 + b.readUInt16BE(at + 2);
    if (next > b.length) return -1;
    at = next;
    if (marker === 0xda) {
      // entropy-coded data up to the next marker that is not stuffing (FF00) or a restart (FFD0–D7)
      while (at + 1 < b.length && !(b[at] === 0xff && b[at + 1] !== 0x00 && !(b[at + 1]! >= 0xd0 && b[at + 1]! <= 0xd7))) at++;
    }
  }
  return -1;
}

/** The offset just after the trailer (3B), walking the blocks; -1 when they do not add up. */
function gifEnd(b: Buffer): number {
  let at = 13;
  const flags = b[10]!;
  if (flags & 0x80) at += 3 * (1 << ((flags & 7) + 1)); // global colour table
  const subBlocks = (from: number): number => {
    let p = from;
    while (p < b.length && b[p] !== 0) p += b[p]! + 1;
    return p < b.length ? p + 1 : -1;
  };
  while (at < b.length) {
    const kind = b[at];
    if (kind === 0x3b) return at + 1;
    if (kind === 0x21) at = subBlocks(at + 2);
    else if (kind === 0x2c) {
      if (at + 10 > b.length) return -1;
      const local = b[at + 9]!;
      at += 10 + (local & 0x80 ? 3 * (1 << ((local & 7) + 1)) : 0);
      at = subBlocks(at + 1); // after the LZW minimum code size
    } else return -1;
    if (at < 0) return -1;
  }
  return -1;
}
