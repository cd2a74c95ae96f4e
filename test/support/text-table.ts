import { expect } from 'vitest';
import { displayWidth } from '../../src/util/display-width.js';

/** The display column each cell of a CLI table line starts at (cells are separated by two or more spaces). */
export function cellColumns(line: string): number[] {
  const starts: number[] = [];
  for (const m of line.matchAll(/(?:^|\s{2,})(\S(?:\S| (?! ))*)/g)) starts.push(displayWidth(line.slice(0, m.index + m[0].length - m[1]!.length)));
  return starts;
}

/** Asserts that every line of a CLI table starts its cells in the header's columns, by display width. */
export function expectAligned(table: string): void {
  const [head, ...rows] = table.replace(/\n$/, '').split('\n');
  const columns = cellColumns(head!);
  for (const row of rows) expect(cellColumns(row), row).toEqual(columns);
}
