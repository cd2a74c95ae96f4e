import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
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
