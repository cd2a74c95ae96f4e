/**
 * Japan time (JST, UTC+9, no daylight saving) as people in this project read it: the month of a
 * report, the date of the 届出書, and the times the CLI prints.
 */

export const JST_OFFSET_MS = 9 * 3_600_000;

/** An instant (ISO 8601 or ms) as Japan time, `YYYY-MM-DD HH:mm`. */
export function jstText(time: string | number): string {
  return new Date(new Date(time).getTime() + JST_OFFSET_MS).toISOString().slice(0, 16).replace('T', ' ');
}

/** An instant as every CLI command's text output shows it: `2026-12-03 19:05 JST` (--json gives ISO 8601 UTC). */
export function jstStamp(time: string | number): string {
  return `${jstText(time)} JST`;
}
