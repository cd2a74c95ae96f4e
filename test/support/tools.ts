import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** True when the command is on PATH. */
export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What a missing dependency means: a SKIPPED note on a user's machine, an error under CI=true (where .ci/run installs it). */
function missing(note: string): void {
  if (process.env.CI === 'true') throw new Error(`${note}; CI must have it`);
  console.warn(`SKIPPED: ${note}`);
}

/**
 * Whether the tests that need a Debian package can run. On a user's machine a missing package
 * skips them with a clear note; under CI=true (where .ci/run installs it) a missing tool is an error.
 */
export function requireTool(command: string, debianPackage: string): boolean {
  if (hasCommand(command)) return true;
  missing(`${command} not found: install the Debian package "${debianPackage}" (apt-get install -y ${debianPackage})`);
  return false;
}

/** The first of `pythons` that can import `module`, or undefined (pyenv and venvs may hide the system one). */
export function pythonWith(module: string, pythons: readonly string[] = ['python3', '/usr/bin/python3']): string | undefined {
  for (const python of pythons) {
    try {
      execFileSync(python, ['-c', `import ${module}`], { stdio: 'ignore' });
      return python;
    } catch {
      // next
    }
  }
  return undefined;
}

/** As requireTool, for a module of Debian's python3: the python3 that has it, or undefined. */
export function requirePythonModule(module: string, debianPackage: string, pythons?: readonly string[]): string | undefined {
  const python = pythonWith(module, pythons);
  if (python === undefined) missing(`python3 with ${module} not found: install the Debian package "${debianPackage}" (apt-get install -y ${debianPackage})`);
  return python;
}

/** `uuencode NAME` (or `uuencode -m NAME`, begin-base64) from Debian's sharutils, as it writes it (LF). */
export function sharutilsUuencode(name: string, data: Buffer, base64 = false): Buffer {
  return execFileSync('uuencode', base64 ? ['-m', name] : [name], { input: data });
}

/** `binhex -d NAME` from Debian's macutils (BinHex 4.0 of a file with that name), as it writes it (LF). */
export function macutilsBinhex(name: string, data: Buffer): Buffer {
  // binhex reads a file: the name goes into the BinHex header
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outguard-binhex-'));
  try {
    fs.writeFileSync(path.join(dir, name), data);
    return execFileSync('binhex', ['-d', name], { cwd: dir });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Whether this process runs as root (a private Postfix, a tmpfs mount). Elsewhere the tests that
 * need it skip with a note; under CI=true they fail, because CI must run them.
 */
export function requireRoot(need: string): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env.CI === 'true') throw new Error(`${need} needs root; CI must run as root`);
  console.warn(`SKIPPED: ${need} needs root`);
  return false;
}
