import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { loadConfig } from '../../src/config/load.js';
import { run } from '../support/client.js';
import { tempDir, writeConfig } from '../support/gateway.js';
import { SqliteIncidentStore } from '../../src/store/sqlite-incidents.js';
import { monthEvents } from './report-fixtures.js';

// Runs the built CLI (npm run build, as `npm test` does).
const BIN = path.resolve('bin/outguard.js');
const outguard = (...args: string[]) => run('node', [BIN, ...args]);

describe('outguard report', () => {
  let file: string;
  beforeAll(async () => {
    // today's limit is 200 days: only the incidents' own deadlines, set when they were opened, make i2 overdue and i3 late
    file = writeConfig({ compliance: { incidentMinutes: 288_000 } });
    const { dataDir } = loadConfig({ file, env: {} });
    const store = SqliteAuditStore.open(dataDir);
    await store.appendMany(monthEvents());
    await store.close();
    const incidents = SqliteIncidentStore.open(dataDir);
    for (const [id, opened, minutes] of [['i1', '2026-10-20T01:00:00.000Z', 60], ['i2', '2026-10-25T03:00:00.000Z', 30], ['i3', '2026-10-26T00:00:00.000Z', 60]] as const) {
      const openedAt = Date.parse(opened);
      await incidents.create({ id, openedAt, deadline: openedAt + minutes * 60_000, trigger: 'manual', openedBy: 'admin', summary: 'test' });
    }
    await incidents.close();
  });

  it('--help describes the command', async () => {
    const out = await outguard('report', '--help');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('Usage: outguard report');
    expect(out.stdout).toContain('JST, UTC+9');
  });

  it('--month 2026-10 --format csv prints the report as CSV with a BOM', async () => {
    const out = await outguard('report', '--month', '2026-10', '--format', 'csv', '--config', file);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.startsWith('\uFEFF区分 / section,')).toBe(true);
    expect(out.stdout).toContain('\r\n送信前の確認（保留） / Confirmation holds,送信（保留解除） / released,3,');
    expect(out.stdout).toContain(',i1,期限内に報告 / reported in time,2026-10-20 10:00,2026-10-20 11:00,2026-10-20 10:42,42,はい / yes,');
  });

  it("judges each incident by its own deadline, not today's incidentMinutes", async () => {
    const out = await outguard('report', '--month', '2026-10', '--format', 'json', '--config', file);
    expect(out.code, out.stderr).toBe(0);
    const incidents = (JSON.parse(out.stdout) as { incidents: { id: string; deadline: string; status: string }[] }).incidents;
    expect(incidents.find((i) => i.id === 'i2')).toMatchObject({ deadline: '2026-10-25T03:30:00.000Z', status: 'overdue' });
    expect(incidents.find((i) => i.id === 'i3')).toMatchObject({ deadline: '2026-10-26T01:00:00.000Z', status: 'reported-late' });
  });

  it('writes HTML (the default) to --output, 0600, and JSON to stdout', async () => {
    const target = path.join(tempDir(), 'report.html');
    const out = await outguard('report', '--month', '2026-10', '--output', target, '--config', file);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe('');
    expect(fs.readFileSync(target, 'utf8')).toContain('<td class="n" id="median">30</td>');
    expect(fs.statSync(target).mode & 0o777).toBe(0o600);
    const json = await outguard('report', '--month', '2026-11', '--format', 'json', '--config', file);
    expect(JSON.parse(json.stdout)).toMatchObject({ month: '2026-11', holds: { released: 2, medianMinutesToRelease: 40 } });
  });

  it('a bad month or format gets one line naming it', async () => {
    const month = await outguard('report', '--month', '2026/10', '--config', file);
    expect(month.code).toBe(1);
    expect(month.stderr).toBe('outguard: --month: a month must be written YYYY-MM, such as 2026-10, got "2026/10"\n');
    const format = await outguard('report', '--month', '2026-10', '--format', 'pdf', '--config', file);
    expect(format.code).toBe(1);
    expect(format.stderr).toBe('outguard: --format must be html, csv, json, got "pdf"\n');
  });

  it('without --month reports the previous month; on a data dir without a database, an empty report', async () => {
    const empty = writeConfig({});
    const out = await outguard('report', '--format', 'json', '--config', empty);
    expect(out.code, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report).toMatchObject({ events: 0, incidents: [] });
    expect(report.month).toMatch(/^\d{4}-\d\d$/);
    expect(fs.existsSync(loadConfig({ file: empty, env: {} }).dataDir)).toBe(false);
  });
});
