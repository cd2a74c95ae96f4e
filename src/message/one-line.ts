/**
 * Untrusted text (a subject, a file name, a ZIP name, an address, a server's reply) as one line
 * of a notice or a listing. The caller has already decoded it (RFC 2047, RFC 2231). Every
 * character that ends a line or controls a terminal — CR, LF, the other C0 and C1 controls
 * (NEL among them), DEL, U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR — becomes a space;
 * runs of white space become one space; the ends are trimmed; and the result is cut to `max`
 * characters, ending in "…" when cut. So whatever a sender writes, it cannot start a line of
 * its own in a notice (such as a second `Password:` line).
 */

// \p{Cc}: C0, DEL and C1; \p{Zl}, \p{Zp}: the Unicode line and paragraph separators.
const BREAKING = /[\p{Cc}\p{Zl}\p{Zp}]/gu;
const SPACES = /\s{2,}/gu;

export function oneLine(text: string | null | undefined, max = 200): string {
  const clean = (text ?? '').replace(BREAKING, ' ').replace(SPACES, ' ').trim();
  const chars = [...clean];
  return chars.length > max ? `${chars.slice(0, Math.max(0, max - 1)).join('').trimEnd()}…` : clean;
}
