import addressparser from 'nodemailer/lib/addressparser';
import { decodeWords } from './words.js';

export interface Address {
  name: string;
  /** addr-spec as written, with the domain lower-cased */
  address: string;
}

const SIMPLE_LIST = /^[^"();:\\]*$/;
const ADDR_SPEC = /^[^\s@<>,]+@[^\s@<>,]+$/;

function parseSimpleList(value: string): Address[] | undefined {
  const out: Address[] = [];
  for (const piece of value.split(',')) {
    const item = piece.trim();
    if (item === '') continue;
    const lt = item.indexOf('<');
    const spec = lt < 0 ? item : item.endsWith('>') ? item.slice(lt + 1, -1).trim() : undefined;
    if (spec === undefined || !ADDR_SPEC.test(spec)) return undefined;
    const at = spec.lastIndexOf('@');
    const name = lt < 0 ? '' : item.slice(0, lt).trim();
    out.push({ name: name.includes('=?') ? decodeWords(name) : name, address: spec.slice(0, at) + spec.slice(at).toLowerCase() });
  }
  return out;
}

/** Addresses from one header value, groups flattened; unparseable values give none. */
export function parseAddresses(value: string): Address[] {
  // Most headers are a plain list ("Name <a@b>, c@d"): read those directly, the rest with the full parser.
  if (SIMPLE_LIST.test(value)) {
    const simple = parseSimpleList(value);
    if (simple) return simple;
  }
  let parsed: ReturnType<typeof addressparser>;
  try {
    parsed = addressparser(value, { flatten: true });
  } catch {
    return [];
  }
  return (parsed as { name?: string; address?: string }[])
    .filter((a) => typeof a.address === 'string' && a.address.includes('@'))
    .map((a) => {
      const at = a.address!.lastIndexOf('@');
      return { name: a.name ?? '', address: a.address!.slice(0, at) + a.address!.slice(at).toLowerCase() };
    });
}
