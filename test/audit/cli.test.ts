import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { loadConfig } from '../../src/config/load.js';
import { run } from '../support/client.js';
import { tempDir, writeConfig } from '../support/gateway.js';
import { sampleEvents, tamper } from './fixtures.js';

// Runs the built CLI (npm run build, as `npm test` does).
const BIN = path.resolve('bin/outguard.js');
const outguard = (...args: string[]) => run('node', [BIN, ...args]);

async function configWithEvents(): Promise<{ file: string; dataDir: string }> {
  const file = writeConfig({});
  const { dataDir } = loadConfig({ file, env: {} });
  const store = SqliteAuditStore.open(dataDir);
  for (const e of sampleEvents()) await store.append(e);
  await store.close();
  return { file, dataDir };
}

describe('outguard audit', () => {
  let file: string;
  beforeAll(async () => {
    ({ file } = await configWithEvents());
  });

  it.each(['audit', 'audit verify', 'audit export'])('%s --help describes the command', async (cmd) => {
    const out = await outguard(...cmd.split(' '), '--help');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`Usage: outguard ${cmd}`);
  });

  it('verify exits 0 with the number of events', async () => {
    const out = await outguard('audit', 'verify', '--config', file);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^audit log OK: 5 events\nhead: 5:[0-9a-f]{64}\n$/);
  });

  it('verify on a data dir without a database reports 0 events and creates nothing', async () => {
    const empty = writeConfig({});
    const { dataDir } = loadConfig({ file: empty, env: {} });
    const out = await outguard('audit', 'verify', '--config', empty);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('audit log OK: 0 events');
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('verify exits 1 naming the first bad event and the problem', async () => {
    const altered = await configWithEvents();
    tamper(altered.dataDir, (db) => db.prepare("UPDATE audit_events SET subject = 'changed' WHERE seq = 2").run());
    const out = await outguard('audit', 'verify', '--config', altered.file);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^audit log NOT OK: event 2 altered: /);
    const removed = await configWithEvents();
    tamper(removed.dataDir, (db) => db.prepare('DELETE FROM audit_events WHERE seq = 4').run());
    const json = await outguard('audit', 'verify', '--json', '--config', removed.file);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, seq: 4, problem: 'removed' });
  });

  it('export --format csv writes UTF-8 with BOM to stdout, filtered', async () => {
    const out = await outguard('audit', 'export', '--format', 'csv', '--rule', 'zip-encrypt', '--config', file);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.startsWith('\uFEFFseq,time,type,')).toBe(true);
    const lines = out.stdout.trimEnd().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('設計書.xlsx');
  });

  it('export --format json --out FILE with --since/--until/--action', async () => {
    const dest = path.join(tempDir(), 'audit.json');
    const out = await outguard('audit', 'export', '--format', 'json', '--since', '2026-11-01T01:00:00Z', '--until', '2026-11-02', '--action', 'rejected,held', '--out', dest, '--config', file);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe('');
    const events = JSON.parse(fs.readFileSync(dest, 'utf8')) as { seq: number; type: string }[];
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [3, 'rejected'],
      [4, 'held'],
    ]);
    expect(fs.statSync(dest).mode & 0o777).toBe(0o600);
  });

  it('export refuses a bad format or time with one clear line', async () => {
    const bad = await outguard('audit', 'export', '--format', 'xml', '--config', file);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('outguard: --format must be csv or json, got "xml"\n');
    const time = await outguard('audit', 'export', '--format', 'csv', '--since', 'last week', '--config', file);
    expect(time.code).toBe(1);
    expect(time.stderr).toContain('--since must be an ISO 8601 date or date-time');
  });
});
