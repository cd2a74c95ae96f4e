import zlib from 'node:zlib';

/** Bytes of an encrypted payload that are tried. */
export const SAMPLE = 64 * 1024;
/** Below this, DEFLATE's own overhead says nothing. */
const MIN_SAMPLE = 256;

/**
 * Whether the start of a payload compresses: ciphertext never does (DEFLATE level 1 adds a few
 * bytes to it), clear text or zeros labelled "encrypted" do. Short payloads pass.
 */
export function compressible(data: Uint8Array): boolean {
  const sample = data.subarray(0, SAMPLE);
  if (sample.length < MIN_SAMPLE) return false;
  return zlib.deflateRawSync(sample, { level: 1 }).length < sample.length * 0.98;
}

/**
 * Whether the start of a payload is raw DEFLATE: clear compressed data under a fake "encrypted"
 * label is incompressible too, but it inflates, through (nearly) all of the sample, to at least
 * about its own size. Random bytes soon hit an invalid code or distance, or an early final block.
 * Short payloads pass.
 */
export function inflates(data: Uint8Array): boolean {
  const sample = data.subarray(0, SAMPLE);
  if (sample.length < MIN_SAMPLE) return false;
  try {
    // a truncated stream is fine (SYNC_FLUSH); output is capped, and hitting the cap means it inflates
    const { buffer, engine } = zlib.inflateRawSync(sample, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: 1 << 20, info: true }) as unknown as {
      buffer: Buffer;
      engine: zlib.InflateRaw;
    };
    // what may follow the stream within the data: an AES authentication code (10 bytes)
    return buffer.length >= sample.length / 2 && engine.bytesWritten >= sample.length - 16;
  } catch (e) {
    return (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
  }
}
