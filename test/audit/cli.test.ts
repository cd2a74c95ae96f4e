import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { openAuditChain } from '../../src/audit/open.js';
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

  it('verify holds a keyed chain against its anchor file and a head kept by hand; re-anchor after a loss', async () => {
    const file = writeConfig({});
    const config = loadConfig({ file, env: {} });
    // as the gateway writes it: keyed with the data dir's key, anchored where the config says
    const store = openAuditChain(config);
    await store.appendMany(sampleEvents());
    await store.close();
    const ok = await outguard('audit', 'verify', '--config', file);
    expect(ok.code, ok.stderr).toBe(0);
    const head = /^head: (5:[0-9a-f]{64})$/m.exec(ok.stdout)?.[1];
    expect(head).toBeDefined();
    expect(ok.stdout).toMatch(new RegExp(`^anchor: 5 events at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d JST in ${config.audit.anchorFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect((await outguard('audit', 'verify', '--expect', head!, '--config', file)).code).toBe(0);
    const wrong = await outguard('audit', 'verify', '--expect', `5:${'0'.repeat(64)}`, '--config', file);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/^audit log NOT OK: event 5 altered: /);
    const bad = await outguard('audit', 'verify', '--expect', '5:xyz', '--config', file);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--expect must be COUNT:MAC/);
    // emptied: the anchor knows better
    tamper(config.dataDir, (db) => db.exec('DROP TRIGGER audit_head_no_delete; DELETE FROM audit_events; DELETE FROM audit_head;'));
    const emptied = await outguard('audit', 'verify', '--config', file);
    expect(emptied.code).toBe(1);
    expect(emptied.stdout).toMatch(/event 1 removed: .*the log was emptied/);
    // the anchor file lost: verify fails, start refuses naming the key, re-anchor records it
    fs.rmSync(config.audit.anchorFile);
    expect((await outguard('audit', 'verify', '--config', file)).stdout).toMatch(/anchor-missing: the anchor file .* is missing/);
    const start = await outguard('start', '--config', file);
    expect(start.code).toBe(78);
    expect(start.stderr).toMatch(/^outguard: config error: audit\.anchorFile: the audit anchor file .* is missing/);
    const re = await outguard('audit', 're-anchor', '--config', file);
    expect(re.code, re.stderr).toBe(0);
    expect(re.stdout).toMatch(/^new anchor file .* started at event 1\n$/);
    expect((await outguard('audit', 'verify', '--config', file)).code).toBe(0);
    expect((await outguard('audit', 're-anchor', '--config', file)).code).toBe(1);
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
