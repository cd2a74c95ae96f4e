/**
 * What kind of image the bytes are, when they are a whole image of a format every mail client
 * shows: the right magic bytes at the start and the format's end marker at the end (a picture
 * with a file glued on behind it is not just a picture).
 */
export function imageKind(bytes: Buffer): 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp' | undefined {
  const n = bytes.length;
  if (n >= 20 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a) {
    // the IEND chunk: length 0, "IEND", CRC ae426082
    return bytes.toString('latin1', n - 8, n - 4) === 'IEND' ? 'png' : undefined;
  }
  if (n >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    let end = n;
    while (end > 2 && (bytes[end - 1] === 0x00 || bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
    return bytes[end - 2] === 0xff && bytes[end - 1] === 0xd9 ? 'jpeg' : undefined;
  }
  if (n >= 14 && /^GIF8[79]a$/.test(bytes.toString('latin1', 0, 6))) {
    return bytes[n - 1] === 0x3b ? 'gif' : undefined;
  }
  if (n >= 16 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') {
    // the RIFF size counts everything after its first 8 bytes
    return bytes.readUInt32LE(4) + 8 === n + (n % 2) || bytes.readUInt32LE(4) + 8 === n ? 'webp' : undefined;
  }
  if (n >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d) {
    return bytes.readUInt32LE(2) === n ? 'bmp' : undefined;
  }
  return undefined;
}
