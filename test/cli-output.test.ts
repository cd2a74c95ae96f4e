import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './support/client.js';
import { writeConfig } from './support/gateway.js';

// Runs the built CLI (npm run build, as `npm test` does). The list and show commands with data
// in them are in test/hold/cli.test.ts and test/audit/incident-cli.test.ts.
const BIN = path.resolve('bin/outguard.js');

describe('every command', () => {
  it('ends its output with a newline, on a data dir outguard never used as well', async () => {
    const file = writeConfig({ compliance: { contractor: { name: '株式会社サンプル', address: '東京都千代田区霞が関1-1-1' } } });
    const commands = [
      ['check-config'],
      ['held', 'list'],
      ['held', 'list', '--json'],
      ['incident', 'list'],
      ['incident', 'list', '--format', 'json'],
      ['audit', 'verify'],
      ['audit', 'verify', '--json'],
      ['audit', 'export', '--format', 'json'],
      ['audit', 'export', '--format', 'csv'],
      ['report', '--month', '2026-10'],
      ['report', '--month', '2026-10', '--format', 'csv'],
      ['report', '--month', '2026-10', '--format', 'json'],
      ['notice-form', '--date', '2026-12-01'],
      ['notice-form', '--date', '2026-12-01', '--format', 'html'],
    ];
    const outs = await Promise.all(commands.map((args) => run('node', [BIN, ...args, '--config', file])));
    for (const [i, args] of commands.entries()) {
      const out = outs[i]!;
      expect(out.code, `${args.join(' ')}: ${out.stderr}`).toBe(0);
      expect(out.stdout, args.join(' ')).toMatch(/\n$/);
    }
  });
});
