import { domainToASCII } from 'node:url';

/**
 * The address with its domain in ASCII (punycode) form. smtp-server hands addresses over with
 * the domain decoded to Unicode and lower-cased; a client that did not ask for SMTPUTF8 sent the
 * ASCII form, and that is what must go on to the next hop.
 */
export function asciiDomain(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  const ascii = domainToASCII(address.slice(at + 1));
  return ascii ? `${address.slice(0, at)}@${ascii}` : address;
}
