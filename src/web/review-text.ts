/** Japan time as 2026-11-01 09:00:00 (sv-SE formats dates the ISO way). */
const JST = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** A stored time (ISO 8601 UTC, or ms) as reviewers read it: Japan time, and UTC as stored. */
export function jstAndUtc(time: string | number): { jst: string; utc: string } {
  const d = new Date(time);
  return { jst: `${JST.format(d)} JST`, utc: d.toISOString() };
}

