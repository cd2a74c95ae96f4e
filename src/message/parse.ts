import addressparser from 'nodemailer/lib/addressparser';
import { decodeText } from './charset.js';
import { type MimeNode, decodeWords, headerValue, headerValues, parseMime } from './mime.js';

export interface Address {
  name: string;
  /** addr-spec as written, with the domain lower-cased */
  address: string;
}

/** A part that is not body text: a file, an inline image, a forwarded message. */
export interface Attachment {
  /** Decoded file name; forwarded messages without one are named after their subject. */
  filename: string;
  contentType: string;
  /** Inline image referenced from the HTML by Content-ID. */
  inline: boolean;
  node: MimeNode;
  /** Decoded bytes (base64 / quoted-printable undone). */
  content(): Buffer;
}

/** The message as checks see it: decoded headers, body texts and attachments. */
export interface ParsedMessage {
  raw: Buffer;
  root: MimeNode;
  subject: string;
  from: Address[];
  to: Address[];
  cc: Address[];
  bcc: Address[];
  /** Decoded text/plain bodies (not attachments). */
  textParts: string[];
  /** Decoded text/html bodies (not attachments). */
  htmlParts: string[];
  attachments: Attachment[];
  /** First value of a header, RFC 2047-decoded. */
  header(name: string): string | undefined;
}

/**
 * Parses lazily: the MIME tree, the address headers and the decoded bodies are each worked out
 * the first time a check asks for them, so a policy pays only for what its checks read.
 */
export function parseMessage(raw: Buffer): ParsedMessage {
  return new LazyMessage(raw);
}

class LazyMessage implements ParsedMessage {
  private tree?: MimeNode;
  private parts?: { text: MimeNode[]; html: MimeNode[]; files: Attachment[] };
  private decoded?: { text: string[]; html: string[] };
  private readonly addressLists = new Map<string, Address[]>();
  private decodedSubject?: string;

  constructor(readonly raw: Buffer) {}

  get root(): MimeNode {
    return (this.tree ??= parseMime(this.raw));
  }

  get subject(): string {
    return (this.decodedSubject ??= headerValue(this.root, 'subject') ?? '');
  }

  get from(): Address[] {
    return this.addresses('from');
  }

  get to(): Address[] {
    return this.addresses('to');
  }

  get cc(): Address[] {
    return this.addresses('cc');
  }

  get bcc(): Address[] {
    return this.addresses('bcc');
  }

  get textParts(): string[] {
    return this.bodies().text;
  }

  get htmlParts(): string[] {
    return this.bodies().html;
  }

  get attachments(): Attachment[] {
    return this.content().files;
  }

  header(name: string): string | undefined {
    return headerValue(this.root, name.toLowerCase());
  }

  private addresses(name: string): Address[] {
    let list = this.addressLists.get(name);
    if (!list) {
      list = headerValues(this.root, name).flatMap(parseAddresses);
      this.addressLists.set(name, list);
    }
    return list;
  }

  private content(): { text: MimeNode[]; html: MimeNode[]; files: Attachment[] } {
    if (!this.parts) {
      this.parts = { text: [], html: [], files: [] };
      collect(this.raw, this.root, this.parts.text, this.parts.html, this.parts.files, false);
    }
    return this.parts;
  }

  /** Body texts are decoded only when a check reads them. */
  private bodies(): { text: string[]; html: string[] } {
    if (!this.decoded) {
      const decode = (node: MimeNode) => decodeText(decodeBody(this.raw, node), node.params.charset);
      const { text, html } = this.content();
      this.decoded = { text: text.map(decode), html: html.map(decode) };
    }
    return this.decoded;
  }
}

function collect(raw: Buffer, node: MimeNode, text: MimeNode[], html: MimeNode[], files: Attachment[], inRelated: boolean): void {
  if (node.children.length > 0) {
    for (const child of node.children) collect(raw, child, text, html, files, inRelated || node.contentType === 'multipart/related');
    return;
  }
  if (node.contentType.startsWith('multipart/')) return; // an empty or unreadable multipart has no content
  const isAttachment = node.disposition === 'attachment' || node.filename !== undefined;
  if (!isAttachment && (node.contentType === 'text/plain' || node.contentType === 'text/html')) {
    (node.contentType === 'text/html' ? html : text).push(node);
    return;
  }
  const inline = node.disposition !== 'attachment' && inRelated && node.contentId !== undefined;
  let bytes: Buffer | undefined;
  files.push({
    filename: node.filename ?? defaultName(raw, node),
    contentType: node.contentType,
    inline,
    node,
    content: () => (bytes ??= decodeBody(raw, node)),
  });
}

function defaultName(raw: Buffer, node: MimeNode): string {
  if (node.contentType === 'message/rfc822') {
    const inner = parseMime(raw.subarray(node.bodyStart, node.end));
    const subject = (headerValue(inner, 'subject') ?? '').replace(/[\\/:*?"<>|\x00-\x1f]/g, '_').trim();
    return `${subject || 'message'}.eml`;
  }
  const ext = node.contentType.split('/')[1]?.replace(/[^a-z0-9]/g, '') || 'bin';
  return `part.${ext}`;
}

const NOT_BASE64 = /[^A-Za-z0-9+/=]/g;

/** A part's body with its Content-Transfer-Encoding undone. */
export function decodeBody(raw: Buffer, node: MimeNode): Buffer {
  const body = raw.subarray(node.bodyStart, node.end);
  switch (node.transferEncoding) {
    case 'base64': {
      // Node's decoder skips whatever is outside the alphabet, except that it reads - and _ as
      // base64url digits: only then must they be removed first (they are not base64, RFC 2045)
      const text = body.toString('latin1');
      return Buffer.from(body.includes(0x2d) || body.includes(0x5f) ? text.replace(NOT_BASE64, '') : text, 'base64');
    }
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      return body;
  }
}

function decodeQuotedPrintable(body: Buffer): Buffer {
  const text = body.toString('latin1').replace(/[ \t]+(?=\r?\n)/g, '').replace(/=\r?\n/g, '');
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out[n++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      out[n++] = c & 0xff;
    }
  }
  return out.subarray(0, n);
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
