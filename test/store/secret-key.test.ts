import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretKeyError, deriveKey, keyFromSecret, loadSecretKey } from '../../src/store/secret-key.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-key-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe('the data-at-rest key', () => {
  it('creates DATA_DIR/secret.key (32 random bytes, mode 0600) on first use and reuses it', () => {
    const dir = path.join(tempDir(), 'data'); // not there yet
    const first = loadSecretKey(dir, {});
    const file = path.join(dir, 'secret.key');
    expect(first).toMatchObject({ source: 'file', file, created: true });
    expect(first.key).toHaveLength(32);
    expect(mode(file)).toBe(0o600);
    expect(fs.readFileSync(file).equals(first.key)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['secret.key']); // no temporary file left behind

    const again = loadSecretKey(dir, {});
    expect(again).toMatchObject({ source: 'file', created: false });
    expect(again.key.equals(first.key)).toBe(true);

    expect(loadSecretKey(tempDir(), {}).key.equals(first.key)).toBe(false);
  });

  it('refuses a key file that group or others may read, naming the file', () => {
    const dir = tempDir();
    const { file } = loadSecretKey(dir, {});
    for (const m of [0o644, 0o640, 0o604, 0o620]) {
      fs.chmodSync(file!, m);
      expect(() => loadSecretKey(dir, {})).toThrow(SecretKeyError);
      expect(() => loadSecretKey(dir, {})).toThrow(new RegExp(`key file ${file!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is readable or writable by group or others \\(mode 0${m.toString(8)}\\).*chmod 600`));
    }
    fs.chmodSync(file!, 0o400);
    expect(loadSecretKey(dir, {}).key).toHaveLength(32);
  });

  it('refuses a key file of the wrong size or behind a symbolic link', () => {
    const dir = tempDir();
    const file = path.join(dir, 'secret.key');
    fs.writeFileSync(file, 'not a key\n', { mode: 0o600 });
    expect(() => loadSecretKey(dir, {})).toThrow(/has 10 bytes, 32 expected/);

    const other = tempDir();
    const real = loadSecretKey(other, {}).file!;
    const linked = tempDir();
    fs.symlinkSync(real, path.join(linked, 'secret.key'));
    expect(() => loadSecretKey(linked, {})).toThrow(/symbolic link/);
  });

  it('takes OUTGUARD_SECRET first: SHA-256 of the string, and writes no key file', () => {
    const dir = tempDir();
    const secret = 'q8YdV4m0m3nT7c2Lr0YwQ0lq4v0vS1bXnJm3T1pV2k8=';
    const k = loadSecretKey(dir, { OUTGUARD_SECRET: secret });
    expect(k).toEqual({ key: createHash('sha256').update(secret).digest(), source: 'env', created: false });
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(keyFromSecret(secret).equals(k.key)).toBe(true);
  });

  it('refuses an empty or short OUTGUARD_SECRET', () => {
    const dir = tempDir();
    expect(() => loadSecretKey(dir, { OUTGUARD_SECRET: '' })).toThrow(/OUTGUARD_SECRET is set but empty/);
    expect(() => loadSecretKey(dir, { OUTGUARD_SECRET: 'hunter2' })).toThrow(/OUTGUARD_SECRET is too short: 7 characters, at least 32/);
  });

  it('derives distinct keys per purpose', () => {
    const key = keyFromSecret('x'.repeat(40));
    const a = deriveKey(key, 'spool');
    expect(a).toHaveLength(32);
    expect(a.equals(deriveKey(key, 'spool'))).toBe(true);
    expect(a.equals(deriveKey(key, 'hold-token'))).toBe(false);
    expect(a.equals(key)).toBe(false);
  });

  it('takes the key file OUTGUARD_SECRET_FILE names (a copy of another data dir\'s), never creating it; not with OUTGUARD_SECRET too', () => {
    const first = loadSecretKey(tempDir(), {});
    const copy = path.join(tempDir(), 'shared.key');
    fs.copyFileSync(first.file!, copy);
    fs.chmodSync(copy, 0o600);
    const other = path.join(tempDir(), 'data');
    const given = loadSecretKey(other, { OUTGUARD_SECRET_FILE: copy });
    expect(given).toMatchObject({ source: 'file', file: copy, created: false });
    expect(given.key.equals(first.key)).toBe(true);
    expect(fs.existsSync(path.join(other, 'secret.key'))).toBe(false);
    expect(() => loadSecretKey(other, { OUTGUARD_SECRET_FILE: path.join(other, 'missing.key') })).toThrow(/OUTGUARD_SECRET_FILE names .*missing\.key, which does not exist/);
    expect(() => loadSecretKey(other, { OUTGUARD_SECRET_FILE: copy, OUTGUARD_SECRET: 'x'.repeat(40) })).toThrow(/both OUTGUARD_SECRET and OUTGUARD_SECRET_FILE are set/);
    fs.chmodSync(copy, 0o644);
    expect(() => loadSecretKey(other, { OUTGUARD_SECRET_FILE: copy })).toThrow(SecretKeyError);
  });
});
