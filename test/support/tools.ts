import { execFileSync } from 'node:child_process';

/** True when the command is on PATH. */
export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the tests that need a Debian package can run. On a user's machine a missing package
 * skips them with a clear note; under CI=true (where .ci/run installs it) a missing tool is an error.
 */
export function requireTool(command: string, debianPackage: string): boolean {
  if (hasCommand(command)) return true;
  const note = `${command} not found: install the Debian package "${debianPackage}" (apt-get install -y ${debianPackage})`;
  if (process.env.CI === 'true') throw new Error(`${note}; CI must have it`);
  console.warn(`SKIPPED: ${note}`);
  return false;
}
