import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SealedDataError } from '../../src/store/sealed.js';
import { CHUNK_BYTES } from '../../src/store/sealed-chunks.js';
import { Spool, SpoolSource } from '../../src/store/spool.js';
import { tempDir } from '../support/gateway.js';

function spooled(data: Buffer): { spool: Spool; source: SpoolSource } {
  const spool = new Spool(tempDir());
  const writer = spool.create();
  for (let at = 0; at < data.length; at += 64 * 1024) writer.write(data.subarray(at, at + 64 * 1024));
  return { spool, source: writer.finish() };
}

describe('the spool', () => {
  it('keeps a message sealed on disk (0600) under a key of its own, and reads it back by offsets, here or after opening it again', () => {
    const data = Buffer.concat([Buffer.from('Subject: secret plans\r\n\r\n'), randomBytes(2 * CHUNK_BYTES + 777)]);
    const { source } = spooled(data);
    expect(source.length).toBe(data.length);
    expect(source.read(0, data.length).equals(data)).toBe(true);
    const file = fs.readFileSync(source.file);
    expect(file.includes('secret plans')).toBe(false);
    expect(fs.statSync(source.file).mode & 0o777).toBe(0o600);
    // another message's file has another key
    expect(spooled(data).source.key.equals(source.key)).toBe(false);
    const again = SpoolSource.open(source.file, source.key);
    expect(again.read(CHUNK_BYTES - 10, CHUNK_BYTES + 10).equals(data.subarray(CHUNK_BYTES - 10, CHUNK_BYTES + 10))).toBe(true);
    again.close();
    source.remove();
    expect(fs.existsSync(source.file)).toBe(false);
  });

  it('fails closed on a damaged file: a flipped byte, a cut inside or at a chunk, another key', () => {
    const data = randomBytes(3 * CHUNK_BYTES + 5);
    const { source } = spooled(data);
    source.close();
    const original = fs.readFileSync(source.file);
    const reopen = (bytes: Buffer, key = source.key) => {
      fs.writeFileSync(source.file, bytes);
      return () => SpoolSource.open(source.file, key).verify();
    };
    const flipped = Buffer.from(original);
    flipped[original.length - 100]! ^= 1;
    expect(reopen(flipped)).toThrow(SealedDataError);
    // cut at a chunk boundary: the last chunk left was not sealed as the last
    expect(reopen(original.subarray(0, original.length - 50))).toThrow(SealedDataError);
    expect(reopen(original.subarray(0, 8 + 3 * (CHUNK_BYTES + 29)))).toThrow(SealedDataError);
    expect(reopen(original.subarray(0, 5))).toThrow(SealedDataError);
    expect(reopen(original, randomBytes(32))).toThrow(SealedDataError);
    expect(reopen(original)().read(0, data.length).equals(data)).toBe(true);
  });

  it('removes what a crashed run left in the spool at start', () => {
    const spool = new Spool(tempDir());
    const left = spool.create();
    left.write(randomBytes(1000));
    expect(spool.clean()).toBe(1);
    expect(fs.readdirSync(spool.dir)).toEqual([]);
    expect(fs.existsSync(path.dirname(spool.dir))).toBe(true);
  });
});
