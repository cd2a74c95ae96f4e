import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SEVEN_ZIP } from '../support/archives.js';
import { requireTool } from '../support/tools.js';

/**
 * The soak (bench/soak.ts) at test size: the real gateway killed (SIGKILL, and at named crash
 * points) again and again during a run of mail with attachments, held mail released by the CLI
 * and plain mail. Afterwards every message answered 250 has its decision in the audit log, every
 * notice that arrived its notice-sent event, every group its copy, every ZIP its password notice,
 * and `audit verify` passes. `npm run soak` runs the full size (2,000 messages, 36 kills).
 */

const hasSevenZip = requireTool(SEVEN_ZIP, '7zip');

function soak(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'bench/soak.ts', ...args], { timeout: 240_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe.runIf(hasSevenZip)('killed again and again', () => {
  it('every 250 has its audit event and every notice that arrived its notice-sent; nothing lost', async () => {
    const out = await soak(['--messages', '400', '--kills', '10', '--clients', '4', '--open-zips', '20', '--settle', '90', '--seed', '4242', '--no-build']);
    const report = `${out.stdout}\n${out.stderr.slice(-2000)}`;
    expect(out.code, report).toBe(0);
    expect(out.stdout).toMatch(/250 answers: +400 /);
    expect(out.stdout).toMatch(/kills: +10 /);
    expect(out.stdout).toContain('250s without their audit event: 0');
    expect(out.stdout).toMatch(/notices received: [1-9]\d*, without their notice-sent event: 0/);
    expect(out.stdout).toMatch(/audit verify: +exit 0/);
    expect(out.stdout).toContain('groups missing a message: 0');
    expect(out.stdout).toContain('ZIPs without their notice: 0');
  }, 300_000);
});
