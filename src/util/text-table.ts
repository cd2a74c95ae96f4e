import { displayWidth, padWidth, truncateWidth } from './display-width.js';

/** A column of a CLI table: its heading, and the most columns a cell may take (longer ones end in "…"). */
export interface TextColumn {
  head: string;
  /** Default: no limit (ids, which must stay whole to be typed into the next command). */
  max?: number;
}

/**
 * Rows as a plain-text table for a terminal: cells cut to their column's limit, columns padded by
 * display width (a kanji takes two columns), two spaces between them, no trailing spaces, and a
 * newline after every line.
 */
export function textTable(columns: readonly TextColumn[], rows: readonly (readonly string[])[]): string {
  const cells = [columns.map((c) => c.head), ...rows.map((r) => columns.map((c, i) => (c.max === undefined ? r[i] ?? '' : truncateWidth(r[i] ?? '', c.max))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => displayWidth(r[i]!))));
  return cells.map((r) => `${r.map((cell, i) => padWidth(cell, widths[i]!)).join('  ').trimEnd()}\n`).join('');
}
