import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, ChunkSealer, SealedChunkSource, chunkCount } from '../../src/store/sealed-chunks.js';
import { SealedDataError } from '../../src/store/sealed.js';

const KEY = randomBytes(32);

/** Seals `data` written in pieces of `piece` bytes; returns the sealed chunks in order. */
function sealAll(data: Buffer, piece: number, aad = 'outbox:job-1'): Buffer[] {
  const chunks: Buffer[] = [];
  const sealer = new ChunkSealer(KEY, aad, (sealed, seq) => (chunks[seq] = sealed));
  for (let at = 0; at < data.length; at += piece) sealer.write(data.subarray(at, at + piece));
  expect(sealer.end()).toBe(data.length);
  return chunks;
}

const sourceOf = (chunks: (Buffer | undefined)[], length: number, aad = 'outbox:job-1') => new SealedChunkSource(length, KEY, aad, (seq) => chunks[seq] ?? null);

describe('messages sealed in chunks', () => {
  it('reads back any range, whatever the sizes it was written in', () => {
    const data = randomBytes(3 * CHUNK_BYTES + 12345);
    for (const piece of [1000, 65536, CHUNK_BYTES, 5 * CHUNK_BYTES]) {
      const chunks = sealAll(data, piece);
      expect(chunks).toHaveLength(chunkCount(data.length));
      const source = sourceOf(chunks, data.length);
      for (const [start, end] of [[0, data.length], [10, 20], [CHUNK_BYTES - 5, CHUNK_BYTES + 5], [2 * CHUNK_BYTES, 3 * CHUNK_BYTES + 100], [data.length - 3, data.length + 50]] as const) {
        expect(source.read(start, end).equals(data.subarray(start, end))).toBe(true);
      }
    }
  });

  it('seals an empty message as one empty chunk', () => {
    const chunks = sealAll(Buffer.alloc(0), 1);
    expect(chunks).toHaveLength(1);
    expect(sourceOf(chunks, 0).verify().read(0, 10).length).toBe(0);
  });

  it('never hands out bytes from a damaged record: changed, swapped, missing, cut short or another record\'s chunk', () => {
    const data = randomBytes(3 * CHUNK_BYTES + 10);
    const good = sealAll(data, 100_000);
    const fails = (chunks: (Buffer | undefined)[], length = data.length, aad?: string) => expect(() => sourceOf(chunks, length, aad).verify()).toThrow(SealedDataError);

    const changed = good.map((c) => Buffer.from(c));
    changed[1]![100]! ^= 1;
    fails(changed);
    fails([good[0], good[2], good[1], good[3]]);
    fails([good[0], undefined, good[2], good[3]]);
    // the last chunk dropped and the length made to fit: the new last chunk was not sealed as the last
    fails(good.slice(0, 3), 3 * CHUNK_BYTES);
    // a length that claims more, or less, than the last chunk holds
    fails(good, data.length + 1);
    fails(good, data.length - 1);
    // the same bytes under another record's name
    fails(good, data.length, 'outbox:job-2');
    fails([sealAll(data, 100_000, 'outbox:job-2')[0], ...good.slice(1)]);
    expect(sourceOf(good, data.length).verify().read(0, data.length).equals(data)).toBe(true);
  });
});
