import type { AuditFilter, AuditStore } from './audit-store.js';
import type { AuditEvent } from './events.js';

/**
 * Exports of the audit log for reviewers (特記事項 第9・第10):
 *
 * - CSV: UTF-8 with a byte-order mark (so Excel opens Japanese text correctly), RFC 4180 (CRLF
 *   line ends; a field with a comma, quote, CR or LF is quoted and its quotes doubled), a header
 *   row, and formula injection neutralised: a text cell beginning with = + - @, a tab or a CR —
 *   or their full-width forms ＝ ＋ － ＠, which Japanese Excel may also take as a formula — gets a
 *   leading apostrophe, so a subject like `=HYPERLINK(…)` shows as text instead of running.
 *   Lists (recipients, rules, clauses) are joined with "; ", attachments as
 *   `name (sha256:…)` joined with "; ".
 * - JSON: an array of events exactly as stored (seq, time, type, …, prevHash, hash), so the chain
 *   can be re-checked from the export (events.ts defines the hash).
 */

export type ExportFormat = 'csv' | 'json';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'json'];

export const CSV_COLUMNS = [
  'seq',
  'time',
  'type',
  'messageId',
  'sender',
  'recipients',
  'subject',
  'attachments',
  'rules',
  'clauses',
  'action',
  'actor',
  'detail',
  'prevHash',
  'hash',
] as const;

const BOM = '\uFEFF';
const FORMULA_START = /^[=+\-@\t\r＝＋－＠]/;

/** A text cell made safe for spreadsheets: a leading apostrophe before a formula-like start. */
export function neutralise(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** RFC 4180 quoting of one field. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function cells(e: AuditEvent): string[] {
  const text = (s: string | undefined) => csvField(neutralise(s ?? ''));
  const list = (l: string[] | undefined) => text(l?.join('; '));
  return [
    String(e.seq),
    text(e.time),
    text(e.type),
    text(e.messageId),
    text(e.sender),
    list(e.recipients),
    text(e.subject),
    list(e.attachments?.map((a) => `${a.name} (sha256:${a.sha256})`)),
    list(e.rules),
    list(e.clauses),
    text(e.action),
    text(e.actor),
    text(e.detail),
    text(e.prevHash),
    text(e.hash),
  ];
}

/** A CSV document as above (BOM, CRLF) from rows of cells that are already escaped. */
function csvText(rows: readonly string[][]): string {
  return `${BOM}${rows.map((r) => r.join(',')).join('\r\n')}\r\n`;
}

/** A CSV document (BOM, CRLF, formula injection neutralised) from rows of text and number cells. */
export function csvDocument(rows: readonly (readonly (string | number)[])[]): string {
  return csvText(rows.map((r) => r.map((c) => (typeof c === 'number' ? String(c) : csvField(neutralise(c))))));
}

export function toCsv(events: readonly AuditEvent[]): string {
  return csvText([[...CSV_COLUMNS], ...events.map(cells)]);
}

export function toJson(events: readonly AuditEvent[]): string {
  return `${JSON.stringify(events, null, 2)}\n`;
}

/** The filtered events of a store in the given format. */
export async function exportAudit(store: AuditStore, format: ExportFormat, filter: AuditFilter = {}): Promise<string> {
  const events = await store.list(filter);
  return format === 'csv' ? toCsv(events) : toJson(events);
}
