/** Header names the gateway adds; other tools rely on them (DESIGN.md). */
export const ID_HEADER = 'X-Outguard-Id';

/**
 * Puts one header line in front of the raw message without touching a byte of the rest.
 * The new line ends the way the message's own first line ends, so a bare-LF message stays bare-LF.
 */
export function prependHeader(raw: Buffer, name: string, value: string): Buffer {
  if (/[\r\n]/.test(value)) throw new Error(`header value for ${name} contains a line break`);
  const firstLf = raw.indexOf(0x0a);
  const eol = firstLf > 0 && raw[firstLf - 1] === 0x0d ? '\r\n' : firstLf >= 0 ? '\n' : '\r\n';
  return Buffer.concat([Buffer.from(`${name}: ${value}${eol}`, 'latin1'), raw]);
}
