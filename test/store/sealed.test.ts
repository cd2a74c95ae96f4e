import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SEALED_OVERHEAD, SealedDataError, open, seal } from '../../src/store/sealed.js';

const key = randomBytes(32);

describe('seal / open', () => {
  it('round-trips, with and without aad, including empty input', () => {
    for (const plain of [Buffer.alloc(0), Buffer.from('Password: hunter2'), randomBytes(100_000)]) {
      const sealed = seal(key, plain);
      expect(sealed.length).toBe(plain.length + SEALED_OVERHEAD);
      expect(open(key, sealed).equals(plain)).toBe(true);
      expect(open(key, seal(key, plain, 'outbox:1'), 'outbox:1').equals(plain)).toBe(true);
    }
  });

  it('writes a version byte and a fresh nonce each time, and no plaintext', () => {
    const plain = Buffer.from('Password: very-secret-marker');
    const a = seal(key, plain);
    const b = seal(key, plain);
    expect(a[0]).toBe(1);
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.includes(Buffer.from('very-secret-marker'))).toBe(false);
  });

  it('detects a change to any byte: version, nonce, ciphertext or tag', () => {
    const sealed = seal(key, Buffer.from('Password: hunter2'), 'ctx');
    for (let i = 0; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 0x01;
      expect(() => open(key, bad, 'ctx'), `byte ${i}`).toThrow(SealedDataError);
    }
  });

  it('says clearly why it refuses', () => {
    const sealed = seal(key, Buffer.from('x'), 'outbox:a');
    expect(() => open(key, sealed, 'outbox:b')).toThrow(/failed authentication: it was tampered with/);
    expect(() => open(key, sealed)).toThrow(SealedDataError);
    expect(() => open(randomBytes(32), sealed, 'outbox:a')).toThrow(/another key/);
    expect(() => open(key, sealed.subarray(0, 20), 'outbox:a')).toThrow(/truncated/);
    const v2 = Buffer.from(sealed);
    v2[0] = 2;
    expect(() => open(key, v2, 'outbox:a')).toThrow(/unknown format version 2/);
    const extended = Buffer.concat([sealed, Buffer.of(0)]);
    expect(() => open(key, extended, 'outbox:a')).toThrow(SealedDataError);
  });

  it('wants a 32-byte key', () => {
    expect(() => seal(randomBytes(16), Buffer.from('x'))).toThrow(/32 bytes/);
    expect(() => open(randomBytes(31), Buffer.alloc(40))).toThrow(/32 bytes/);
  });
});
