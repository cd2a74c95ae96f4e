/**
 * The writer's own guarantees, checked without external programs: record layout (against
 * APPNOTE and the WinZip AE-2 spec), an independent AES decryption, streaming with
 * backpressure, fail-closed errors and limits. test/zip/interop.test.ts opens the archives with
 * 7-Zip, unzip and Python.
 */
import { createCipheriv, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { detectEncryption } from '../../src/message/encrypted.js';
import { readZipDirectory } from '../../src/message/zip-directory.js';
import { crc32, crc32Js } from '../../src/zip/crc32.js';
import { createEncryptedZip, dosDateTime, type ZipEntryInfo, type ZipEntryInput, ZipLimitError, zipToBuffer } from '../../src/zip/writer.js';
import { type CentralRecord, centralDirectory, japaneseText } from './fixtures.js';

const password = 'Pw4-test-Secret';

/** The entry's raw data (after the local header) and the data descriptor that follows it. */
function entryData(zip: Buffer, rec: CentralRecord): { data: Buffer; local: Buffer; descriptor: Buffer } {
  const o = rec.offset;
  expect(zip.readUInt32LE(o)).toBe(0x04034b50);
  const start = o + 30 + zip.readUInt16LE(o + 26) + zip.readUInt16LE(o + 28);
  return {
    local: zip.subarray(o, start),
    data: zip.subarray(start, start + rec.compressedSize),
    descriptor: zip.subarray(start + rec.compressedSize, start + rec.compressedSize + 16),
  };
}

/** WinZip AES-256 decryption written straight from the spec (one ECB call over all counter blocks). */
function decryptAes(zip: Buffer, rec: CentralRecord, pw: string): Buffer {
  const { data } = entryData(zip, rec);
  const salt = data.subarray(0, 16);
  const verifier = data.subarray(16, 18);
  const ciphertext = data.subarray(18, data.length - 10);
  const mac = data.subarray(data.length - 10);
  const keys = pbkdf2Sync(pw, salt, 1000, 66, 'sha1');
  if (!keys.subarray(64).equals(verifier)) throw new Error('password verifier mismatch');
  const expectedMac = createHmac('sha1', keys.subarray(32, 64)).update(ciphertext).digest().subarray(0, 10);
  if (!expectedMac.equals(mac)) throw new Error('authentication code mismatch');
  const blocks = Math.ceil(ciphertext.length / 16);
  const counters = Buffer.alloc(blocks * 16);
  for (let i = 0; i < blocks; i++) counters.writeBigUInt64LE(BigInt(i + 1), i * 16);
  const ecb = createCipheriv('aes-256-ecb', keys.subarray(0, 32), null).setAutoPadding(false);
  const keystream = ecb.update(counters);
  const plain = Buffer.alloc(ciphertext.length);
  for (let i = 0; i < plain.length; i++) plain[i] = ciphertext[i]! ^ keystream[i]!;
  const method = rec.extra.get(0x9901)!.readUInt16LE(5);
  return method === 8 ? zlib.inflateRawSync(plain) : plain;
}

/** A Buffer fed in pieces of awkward sizes, to cross every alignment of the key stream. */
function oddChunks(buf: Buffer): Readable {
  const sizes = [1, 7, 33, 4096, 3, 65_537, 15, 16, 17, 100_003];
  const parts: Buffer[] = [];
  for (let pos = 0, i = 0; pos < buf.length; i++) {
    const n = sizes[i % sizes.length]!;
    parts.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  return Readable.from(parts);
}

describe('AES-256 (WinZip AE-2) entries', () => {
  const text = japaneseText(300_000);
  const random = randomBytes(500_000);
  const entries = (): ZipEntryInput[] => [
    { name: '見積書.txt', content: oddChunks(text) },
    { name: 'data.bin', content: oddChunks(random) },
    { name: 'small.txt', content: Buffer.from('短い本文\n') },
    { name: 'empty.txt', content: Buffer.alloc(0) },
  ];

  it('have method 99, the 0x9901 extra (AE-2, "AE", AES-256, real method), no CRC, version 5.1', async () => {
    const zip = await zipToBuffer(entries(), { password, cipher: 'aes256', names: 'utf8' });
    const recs = centralDirectory(zip);
    expect(recs.map((r) => r.nameBytes.toString())).toEqual(['見積書.txt', 'data.bin', 'small.txt', 'empty.txt']);
    for (const r of recs) {
      expect(r.method).toBe(99);
      expect(r.flags).toBe(0x0809); // encrypted, data descriptor, UTF-8
      expect(r.versionNeeded).toBe(51);
      expect(r.versionMadeBy).toBe(63);
      expect(r.crc).toBe(0);
      const aes = r.extra.get(0x9901)!;
      expect(aes.length).toBe(7);
      expect(aes.readUInt16LE(0)).toBe(2);
      expect(aes.subarray(2, 4).toString('latin1')).toBe('AE');
      expect(aes[4]).toBe(3);
    }
    expect(recs.map((r) => r.extra.get(0x9901)!.readUInt16LE(5))).toEqual([8, 0, 0, 0]); // 13 bytes do not shrink: stored
    expect(recs[1]!.compressedSize).toBe(500_000 + 28);
    expect(recs[3]!.compressedSize).toBe(28); // salt, verifier, MAC: an empty entry is still a valid one
    expect(recs[3]!.size).toBe(0);
  });

  it('decrypt, by an independent implementation of the spec, to the original bytes (key stream across odd chunk sizes)', async () => {
    const zip = await zipToBuffer(entries(), { password, cipher: 'aes256', names: 'utf8' });
    const recs = centralDirectory(zip);
    expect(decryptAes(zip, recs[0]!, password).equals(text)).toBe(true);
    expect(decryptAes(zip, recs[1]!, password).equals(random)).toBe(true);
    expect(decryptAes(zip, recs[2]!, password).toString()).toBe('短い本文\n');
    expect(decryptAes(zip, recs[3]!, password).length).toBe(0);
    expect(() => decryptAes(zip, recs[0]!, 'wrong password')).toThrow(/verifier|authentication/);
  });

  it('use a fresh salt per entry and per archive', async () => {
    const a = await zipToBuffer([{ name: 'a.txt', content: Buffer.from('x') }, { name: 'b.txt', content: Buffer.from('x') }], { password, cipher: 'aes256', names: 'utf8' });
    const b = await zipToBuffer([{ name: 'a.txt', content: Buffer.from('x') }], { password, cipher: 'aes256', names: 'utf8' });
    const [ra, rb] = centralDirectory(a);
    const salts = [entryData(a, ra!).data, entryData(a, rb!).data, entryData(b, centralDirectory(b)[0]!).data].map((d) => d.subarray(0, 16).toString('hex'));
    expect(new Set(salts).size).toBe(3);
  });
});

describe('ZipCrypto entries', () => {
  it('have the real method, the CRC-32, flag bit 3 with a data descriptor, version 2.0; local headers leave CRC and sizes to the descriptor', async () => {
    const text = japaneseText(100_000);
    const zip = await zipToBuffer(
      [
        { name: '見積書.txt', content: text },
        { name: 'photo.JPG', content: Buffer.from('not really a jpeg, stored by extension') },
        { name: 'empty.txt', content: Buffer.alloc(0) },
      ],
      { password, cipher: 'zipcrypto', names: 'cp932' },
    );
    const recs = centralDirectory(zip);
    expect(recs.map((r) => [r.method, r.flags, r.versionNeeded])).toEqual([
      [8, 0x0009, 20],
      [0, 0x0009, 20],
      [0, 0x0009, 20],
    ]);
    expect(recs[0]!.crc).toBe(crc32(text));
    expect(recs[0]!.size).toBe(text.length);
    expect(recs[1]!.compressedSize).toBe(38 + 12);
    expect(recs[2]!.compressedSize).toBe(12);
    expect(recs[2]!.crc).toBe(0);
    for (const r of recs) {
      const { local, descriptor } = entryData(zip, r);
      expect(local.readUInt16LE(6)).toBe(r.flags);
      expect([local.readUInt32LE(14), local.readUInt32LE(18), local.readUInt32LE(22)]).toEqual([0, 0, 0]);
      expect([descriptor.readUInt32LE(0), descriptor.readUInt32LE(4), descriptor.readUInt32LE(8), descriptor.readUInt32LE(12)]).toEqual([0x08074b50, r.crc, r.compressedSize, r.size]);
    }
    expect(recs[0]!.nameBytes.toString('hex')).toBe('8ca990cf8f912e747874'); // 見積書.txt in Shift_JIS
  });
});

describe('the archive', () => {
  it('is seen as an encrypted ZIP by the gateway’s own detector', async () => {
    for (const cipher of ['aes256', 'zipcrypto'] as const) {
      const zip = await zipToBuffer([{ name: '見積書.txt', content: Buffer.from('本文') }], { password, cipher, names: 'utf8' });
      expect(detectEncryption(zip)).toBe('zip');
      expect(readZipDirectory(zip)).toEqual([{ name: '見積書.txt', encrypted: true }]);
    }
  });

  it('with no entries is a valid empty ZIP (just the end record)', async () => {
    const zip = await zipToBuffer([], { password, cipher: 'aes256', names: 'utf8' });
    expect(zip.toString('hex')).toBe(`504b0506${'00'.repeat(18)}`);
  });

  it('takes entries from an async iterable, strings and Uint8Arrays as content', async () => {
    async function* gen(): AsyncGenerator<ZipEntryInput> {
      yield { name: 'a.txt', content: Readable.from(['文字列の', 'チャンク']) };
      yield { name: 'b.bin', content: new Uint8Array([1, 2, 3]) };
    }
    const zip = await zipToBuffer(gen(), { password, cipher: 'aes256', names: 'utf8' });
    const recs = centralDirectory(zip);
    expect(decryptAes(zip, recs[0]!, password).toString()).toBe('文字列のチャンク');
    expect([...decryptAes(zip, recs[1]!, password)]).toEqual([1, 2, 3]);
  });

  it('writes DOS time from mtime (local time) and the UTC time in the 0x5455 extra', async () => {
    const mtime = new Date(2026, 10, 26, 13, 45, 31);
    const zip = await zipToBuffer([{ name: 'a.txt', content: Buffer.from('x'), mtime }], { password, cipher: 'zipcrypto', names: 'utf8' });
    const [r] = centralDirectory(zip);
    expect(r!.time).toBe((13 << 11) | (45 << 5) | 15);
    expect(r!.date).toBe(((2026 - 1980) << 9) | (11 << 5) | 26);
    expect(r!.extra.get(0x5455)!.readUInt32LE(1)).toBe(Math.floor(mtime.getTime() / 1000));
    expect(dosDateTime(new Date(1970, 0, 1))).toEqual({ time: 0, date: (1 << 5) | 1 });
  });

  it('reports each entry: name in the archive, method, sizes', async () => {
    const seen: ZipEntryInfo[] = [];
    await zipToBuffer(
      [
        { name: 'dir/見積書.txt', content: japaneseText(200_000) },
        { name: 'noise.bin', content: randomBytes(100_000) },
        { name: '見積書.txt', content: Buffer.alloc(0) },
        { name: 'report.pdf', content: Buffer.from('%PDF-1.7\n' + 'BT /F1 12 Tf (Hello) Tj ET\n'.repeat(500)) },
      ],
      { password, cipher: 'aes256', names: 'utf8', onEntry: (e) => seen.push(e) },
    );
    expect(seen.map((e) => [e.originalName, e.name, e.method, e.size])).toEqual([
      ['dir/見積書.txt', '見積書.txt', 'deflate', 200_000],
      ['noise.bin', 'noise.bin', 'store', 100_000],
      ['見積書.txt', '見積書 (2).txt', 'store', 0],
      ['report.pdf', 'report.pdf', 'deflate', 9 + 27 * 500],
    ]);
    expect(seen[1]!.compressedSize).toBe(100_028);
    expect(seen[0]!.compressedSize).toBeLessThan(100_000);
  });

  it('stores everything at level 0', async () => {
    const zip = await zipToBuffer([{ name: 'a.txt', content: Buffer.alloc(100_000, 0x61) }], { password, cipher: 'aes256', names: 'utf8', level: 0 });
    expect(centralDirectory(zip)[0]!.extra.get(0x9901)!.readUInt16LE(5)).toBe(0);
  });
});

describe('options', () => {
  const one = () => [{ name: 'a.txt', content: Buffer.from('x') }];
  it('are checked up front', () => {
    expect(() => createEncryptedZip(one(), { password: '', cipher: 'aes256', names: 'utf8' })).toThrow(/printable ASCII/);
    expect(() => createEncryptedZip(one(), { password: 'パスワード', cipher: 'aes256', names: 'utf8' })).toThrow(/printable ASCII/);
    expect(() => createEncryptedZip(one(), { password, cipher: 'des' as 'aes256', names: 'utf8' })).toThrow(/cipher/);
    expect(() => createEncryptedZip(one(), { password, cipher: 'aes256', names: 'sjis' as 'utf8' })).toThrow(/name encoding/);
    expect(() => createEncryptedZip(one(), { password, cipher: 'aes256', names: 'utf8', level: 10 })).toThrow(RangeError);
    expect(() => createEncryptedZip(one(), { password, cipher: 'aes256', names: 'utf8', maxBytes: 2 ** 32 })).toThrow(RangeError);
  });
});

describe('failing closed', () => {
  it('a content stream that errors destroys the archive stream with that error, and closes the streams not yet read', async () => {
    const bad = new Readable({
      read() {
        this.push(randomBytes(100_000));
        this.destroy(new Error('disk read failed'));
      },
    });
    const later = Readable.from([Buffer.from('never read')]);
    await expect(
      zipToBuffer(
        [
          { name: 'ok.txt', content: Buffer.from('fine') },
          { name: 'bad.txt', content: bad },
          { name: 'later.txt', content: later },
        ],
        { password, cipher: 'aes256', names: 'utf8' },
      ),
    ).rejects.toThrow('disk read failed');
    expect(later.destroyed).toBe(true);
  });

  it('an error inside a deflated entry also reaches the reader', async () => {
    let n = 0;
    const bad = new Readable({
      read() {
        if (n++ < 5) this.push(Buffer.alloc(64 * 1024, 0x41));
        else this.destroy(new Error('socket closed'));
      },
    });
    await expect(zipToBuffer([{ name: 'a.txt', content: bad }], { password, cipher: 'zipcrypto', names: 'utf8' })).rejects.toThrow('socket closed');
  });

  it('a reader that gives up early closes the content streams, read or not', async () => {
    const first = Readable.from((function* () {
      for (let i = 0; i < 1000; i++) yield randomBytes(64 * 1024);
    })());
    const second = Readable.from([Buffer.from('never read')]);
    const zip = createEncryptedZip(
      [
        { name: 'a.bin', content: first },
        { name: 'b.txt', content: second },
      ],
      { password, cipher: 'aes256', names: 'utf8' },
    );
    let read = 0;
    for await (const chunk of zip) {
      read += (chunk as Buffer).length;
      if (read > 1024 * 1024) break; // destroys the archive stream
    }
    await sleep(20);
    expect(first.destroyed).toBe(true);
    expect(second.destroyed).toBe(true);
  });

  it('refuses an archive over maxBytes with ZipLimitError naming the entry', async () => {
    const p = zipToBuffer(
      [
        { name: 'small.txt', content: Buffer.from('x') },
        { name: '大きい.bin', content: randomBytes(200_000) },
      ],
      { password, cipher: 'aes256', names: 'utf8', maxBytes: 100_000 },
    );
    await expect(p).rejects.toThrow(ZipLimitError);
    await expect(p).rejects.toThrow(/limit of 100000 bytes at "大きい.bin"/);
  });

  it('counts the end of the archive against the limit too', async () => {
    const entries = () => [{ name: 'a.bin', content: randomBytes(1000) }];
    const zip = await zipToBuffer(entries(), { password, cipher: 'zipcrypto', names: 'utf8' });
    await expect(zipToBuffer(entries(), { password, cipher: 'zipcrypto', names: 'utf8', maxBytes: zip.length })).resolves.toHaveLength(zip.length);
    await expect(zipToBuffer(entries(), { password, cipher: 'zipcrypto', names: 'utf8', maxBytes: zip.length - 1 })).rejects.toThrow(/end record/);
  });
});

describe('streaming', () => {
  /** A 20 MB source that counts what has been pulled from it. */
  function countingSource(compressible: boolean) {
    const state = { produced: 0 };
    const stream = new Readable({
      read() {
        if (state.produced >= 20 * 1024 * 1024) return void this.push(null);
        const chunk = compressible ? Buffer.concat([Buffer.alloc(48 * 1024, state.produced & 0xff), randomBytes(16 * 1024)]) : randomBytes(64 * 1024);
        state.produced += chunk.length;
        this.push(chunk);
      },
    });
    return { state, stream };
  }

  for (const [label, compressible] of [
    ['stored', false],
    ['deflated', true],
  ] as const) {
    for (const cipher of ['aes256', 'zipcrypto'] as const) {
      it(`${cipher}, ${label}: reads the source only as fast as the archive is read`, async () => {
        const { state, stream } = countingSource(compressible);
        const zip = createEncryptedZip([{ name: 'big.dat', content: stream }], { password, cipher, names: 'utf8' });
        let consumed = 0;
        let maxAhead = 0;
        let pauses = 0;
        for await (const chunk of zip) {
          consumed += (chunk as Buffer).length;
          if (!compressible) maxAhead = Math.max(maxAhead, state.produced - consumed);
          // Stop reading for a while, three times: the source must stop too.
          if (pauses < 3 && state.produced > (pauses + 1) * 5 * 1024 * 1024) {
            pauses++;
            await sleep(30);
            const before = state.produced;
            await sleep(60);
            expect(state.produced - before).toBe(0);
          }
        }
        expect(pauses).toBe(3);
        expect(state.produced).toBe(20 * 1024 * 1024);
        expect(maxAhead).toBeLessThan(2 * 1024 * 1024);
      });
    }
  }
});

describe('crc32', () => {
  it('matches the check value and zlib, whole and in pieces', () => {
    expect(crc32Js(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Js(Buffer.alloc(0))).toBe(0);
    const data = randomBytes(100_003);
    const whole = crc32Js(data);
    let c = 0;
    for (let i = 0; i < data.length; i += 4099) c = crc32Js(data.subarray(i, i + 4099), c);
    expect(c).toBe(whole);
    expect(crc32(data)).toBe(whole);
    const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
    if (native) expect(native(data) >>> 0).toBe(whole);
  });
});
