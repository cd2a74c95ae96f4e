import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempDir } from './gateway.js';
import { hasCommand } from './tools.js';

/** The 7-Zip command: 7zz from Debian's 7zip package, or 7z from p7zip. */
export const SEVEN_ZIP = hasCommand('7zz') ? '7zz' : '7z';

/** Makes an archive with 7-Zip from {name: content} files; options e.g. ['-tzip', '-pSecret']. */
export function sevenZip(files: Record<string, Buffer | string>, options: string[], archiveName = 'out.zip'): Buffer {
  const dir = tempDir('outguard-7z-');
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  execFileSync(SEVEN_ZIP, ['a', ...options, archiveName, ...Object.keys(files)], { cwd: dir, stdio: 'ignore' });
  return fs.readFileSync(path.join(dir, archiveName));
}

/** Runs 7-Zip on the archive's bytes (written to a temp dir, removed after) as `archive.zip`. */
function withArchive<T>(zip: Buffer, use: (dir: string, archive: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-7z-open-'));
  try {
    const archive = path.join(dir, 'archive.zip');
    fs.writeFileSync(archive, zip);
    return use(dir, archive);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Extracts a password ZIP with 7-Zip: entry path (with '/' below folders) → bytes, in the order
 * the extracted tree is read. Throws when 7-Zip fails (its error carries `status` and `stdout`).
 */
export function sevenZipExtract(zip: Buffer, password: string): Map<string, Buffer> {
  return withArchive(zip, (dir, archive) => {
    const out = path.join(dir, 'out');
    // stdout piped, not shown: a caller can report it from the error
    execFileSync(SEVEN_ZIP, ['x', `-p${password}`, '-y', `-o${out}`, archive], { stdio: ['ignore', 'pipe', 'pipe'] });
    const files = new Map<string, Buffer>();
    const walk = (d: string, prefix: string) => {
      for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(path.join(d, entry.name), `${prefix}${entry.name}/`);
        else files.set(`${prefix}${entry.name}`, fs.readFileSync(path.join(d, entry.name)));
      }
    };
    walk(out, '');
    return files;
  });
}

/** The entries of a ZIP as 7-Zip lists them (`l -slt`), with their Encrypted flag. */
export function sevenZipEntries(zip: Buffer, password: string): { path: string; encrypted: boolean }[] {
  return withArchive(zip, (_dir, archive) => {
    const listing = execFileSync(SEVEN_ZIP, ['l', '-slt', `-p${password}`, archive], { encoding: 'utf8' });
    // after the "----------" line, one block of "Key = value" lines per entry
    const blocks = listing.split(/^-{10}$/m)[1]!.split(/\r?\n\r?\n/).filter((b) => /^Path = /m.test(b));
    return blocks.map((b) => ({ path: /^Path = (.*)$/m.exec(b)![1]!, encrypted: /^Encrypted = \+$/m.test(b) }));
  });
}
