import { createHash } from 'node:crypto';
import { decodeText } from './charset.js';
import { type EmbeddedFile, findDataUris, findEncodedBlocks } from './embedded.js';
import { ENCRYPTION_SNIFF_BYTES as SNIFF, detectEncryption, mayBeEncrypted } from './encrypted.js';
import { imageKind } from './images.js';
import { type Ambiguity, DEFAULT_LIMITS, type MimeLimits, type MimeNode, type MimeTree, headerValue, headerValues, noteAmbiguity, parseMime } from './mime.js';
import { type Address, parseAddresses } from './addresses.js';
import { type ByteSource, rangeChunks, toSource } from './source.js';
import { base64Disagrees, decodeTransfer, decodeTransferChunks } from './transfer.js';

export type { Address } from './addresses.js';

/** How a file is already protected by a password (see encrypted.ts). */
export type EncryptionKind = NonNullable<ReturnType<typeof detectEncryption>>;

/** Where a file came from: a MIME part, or a block a client decodes out of a body. */
export type FileOrigin = 'part' | EmbeddedFile['kind'];

/**
 * Whatever a mail client could show as a file: every leaf part that is not a displayed text or
 * HTML body, and every uuencode / BinHex / yEnc block or non-image data: URI inside a body.
 */
export interface Attachment {
  origin: FileOrigin;
  /** Decoded file name; forwarded messages without one are named after their subject. */
  filename: string;
  contentType: string;
  /** An image inside multipart/related that the HTML shows by cid: (by type and by content): it stays in the message. */
  inline: boolean;
  /** Inside a signed (or S/MIME) structure: taking it out breaks the signature. */
  signed: boolean;
  /** The part itself (origin 'part'), or the body the block was found in. */
  node: MimeNode;
  /** Decoded bytes, as the sender attached them, all at once (small files, format checks). */
  content(): Buffer;
  /** The same bytes a piece at a time, never all in memory: for hashing and zipping. */
  chunks(): Iterable<Buffer>;
  /** The first `n` decoded bytes (what a file says it is). */
  head(n: number): Buffer;
  readonly size: number;
  /** Lowercase hex SHA-256 of the decoded bytes. */
  readonly sha256: string;
  /** How the file is already protected by a password, when that is provable (see encrypted.ts). */
  readonly encryption: EncryptionKind | undefined;
}

/** What an attachment is, as plain data: built once, carried across threads with the tree. */
interface FileShape {
  origin: FileOrigin;
  node: number;
  filename: string;
  contentType: string;
  inline: boolean;
  signed: boolean;
  /** For embedded blocks: the block's place among those found in its body. */
  block?: number;
  size?: number;
  sha256?: string;
  encryption?: EncryptionKind | null;
}

/** The model of one message as plain data (structured-cloneable): what crosses to and from the policy thread. */
export interface MessageShape {
  tree: MimeTree;
  bodies: { node: number; kind: 'text' | 'html' }[];
  files: FileShape[];
}

/**
 * One message, parsed once into the model every stage reads — policy, hold, dispatch, audit,
 * incidents: the MIME tree with byte offsets, which parts are the bodies, what counts as an
 * attachment, and where clients could read the message differently. It reads the bytes through a
 * ByteSource, decoding bodies and files only when asked (and each only once).
 */
export class MessageModel {
  private readonly decodedParts = new Map<number, Buffer>();
  private texts?: { text: string[]; html: string[] };
  private readonly addressLists = new Map<string, Address[]>();
  private decodedSubject?: string;
  private fileList?: Attachment[];

  private constructor(
    readonly source: ByteSource,
    readonly shape: MessageShape,
  ) {}

  /** Parses a message. Never throws for any bytes; the limits bound the work (beyond them: ambiguous). */
  static parse(input: Buffer | ByteSource, limits: MimeLimits = DEFAULT_LIMITS): MessageModel {
    const source = toSource(input);
    const tree = parseMime(source, limits);
    const model = new MessageModel(source, { tree, bodies: [], files: [] });
    classify(model, tree);
    return model;
  }

  /** The model of a message parsed elsewhere (the policy thread), over the same bytes. */
  static fromShape(input: Buffer | ByteSource, shape: MessageShape): MessageModel {
    return new MessageModel(toSource(input), shape);
  }

  get root(): MimeNode {
    return this.shape.tree.root;
  }

  get ambiguities(): Ambiguity[] {
    return this.shape.tree.ambiguities;
  }

  node(id: number): MimeNode {
    return this.shape.tree.nodes[id]!;
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

  /** First value of a header of the message, RFC 2047-decoded. */
  header(name: string): string | undefined {
    return headerValue(this.root, name.toLowerCase());
  }

  /** Decoded text/plain bodies (not attachments). */
  get textParts(): string[] {
    return this.bodyTexts().text;
  }

  /** Decoded text/html bodies (not attachments). */
  get htmlParts(): string[] {
    return this.bodyTexts().html;
  }

  /** Every file a client could show, inline images included (they have `inline: true`). */
  get attachments(): Attachment[] {
    return (this.fileList ??= this.shape.files.map((f) => this.attachment(f)));
  }

  /** Attachments that leave the message when it is encrypted: all but the inline images. */
  get files(): Attachment[] {
    return this.attachments.filter((a) => !a.inline);
  }

  /** Files decoded out of body text (uuencode, BinHex, yEnc, data: URIs): such a message goes whole into the ZIP. */
  get embedded(): Attachment[] {
    return this.attachments.filter((a) => a.origin !== 'part');
  }

  /**
   * Whether the files can be taken out with every body left byte for byte. Not when clients could
   * read the message differently, when files sit under a signature, or when files are inside the
   * body text: such a message can only travel whole (as one .eml inside the ZIP).
   */
  get separable(): boolean {
    return this.ambiguities.length === 0 && this.embedded.length === 0 && !this.files.some((f) => f.signed);
  }

  /** A part's body with its transfer encoding undone (cached: each part is decoded once). */
  decoded(node: MimeNode): Buffer {
    let bytes = this.decodedParts.get(node.id);
    if (!bytes) {
      bytes = decodeTransfer(this.source.read(node.bodyStart, node.end), node.transferEncoding);
      this.decodedParts.set(node.id, bytes);
    }
    return bytes;
  }

  /** A part's decoded body without keeping it (a file's): from the cache if it is a body there already. */
  decodedOnce(node: MimeNode): Buffer {
    return this.decodedParts.get(node.id) ?? decodeTransfer(this.source.read(node.bodyStart, node.end), node.transferEncoding);
  }

  private addresses(name: string): Address[] {
    let list = this.addressLists.get(name);
    if (!list) {
      list = headerValues(this.root, name).flatMap(parseAddresses);
      this.addressLists.set(name, list);
    }
    return list;
  }

  private bodyTexts(): { text: string[]; html: string[] } {
    if (!this.texts) {
      const text: string[] = [];
      const html: string[] = [];
      for (const b of this.shape.bodies) {
        const node = this.node(b.node);
        (b.kind === 'html' ? html : text).push(decodeText(this.decoded(node), node.params.charset));
      }
      this.texts = { text, html };
    }
    return this.texts;
  }

  private attachment(f: FileShape): Attachment {
    const node = this.node(f.node);
    const block = () => this.blocks(node)[f.block ?? 0]?.content ?? Buffer.alloc(0);
    // a file's bytes are decoded when asked and not kept: a message's files may be far larger than memory should hold
    const content = (): Buffer => (f.origin === 'part' ? this.decodedOnce(node) : block());
    const decode = (): Iterable<Buffer> => (f.origin === 'part' ? decodeTransferChunks(this.source, node.bodyStart, node.end, node.transferEncoding) : [block()]);
    // reading a file through once also measures it: zipping a file does not cost another pass for its digest
    function* chunks(): Generator<Buffer> {
      if (f.sha256 !== undefined) return yield* decode();
      const hash = createHash('sha256');
      let size = 0;
      for (const piece of decode()) {
        hash.update(piece);
        size += piece.length;
        yield piece;
      }
      f.size ??= size;
      f.sha256 ??= hash.digest('hex');
    }
    const measure = () => {
      for (const _ of chunks());
    };
    return {
      origin: f.origin,
      filename: f.filename,
      contentType: f.contentType,
      inline: f.inline,
      signed: f.signed,
      node,
      content,
      chunks,
      head: (n) => headOf(chunks(), n),
      get size() {
        if (f.size === undefined) measure();
        return f.size!;
      },
      get sha256() {
        if (f.sha256 === undefined) measure();
        return f.sha256!;
      },
      get encryption() {
        // the whole file is read only when it starts like a format that can carry a password
        if (f.encryption === undefined) f.encryption = (mayBeEncrypted(headOf(chunks(), SNIFF)) ? detectEncryption(content()) : undefined) ?? null;
        return f.encryption ?? undefined;
      },
    };
  }

  private readonly blockCache = new Map<number, EmbeddedFile[]>();

  /** The encoded blocks and data: URIs of a body, in the order classify() numbered them. */
  blocks(node: MimeNode): EmbeddedFile[] {
    let list = this.blockCache.get(node.id);
    if (!list) {
      const body = this.decoded(node);
      // data: URIs count in plain text too: clients make links of them; an empty one carries no file
      list = [...findEncodedBlocks(body), ...findDataUris(body).filter((f) => f.content.length > 0)];
      this.blockCache.set(node.id, list);
    }
    return list;
  }
}

/** The first n bytes of a stream of pieces. */
function headOf(pieces: Iterable<Buffer>, n: number): Buffer {
  const got: Buffer[] = [];
  let have = 0;
  for (const p of pieces) {
    got.push(p);
    have += p.length;
    if (have >= n) break;
  }
  return Buffer.concat(got).subarray(0, n);
}

const TEXT_TYPES = new Set(['text/plain', 'text/html']);
const SIGNATURE_TYPES = new Set(['application/pkcs7-signature', 'application/x-pkcs7-signature', 'application/pgp-signature']);
const OPAQUE_SMIME = new Set(['application/pkcs7-mime', 'application/x-pkcs7-mime']);
const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/jpg', 'image/pjpeg', 'image/gif', 'image/webp', 'image/bmp']);
const CID = /cid:([^\s"'<>)]+)/gi;

/**
 * Decides what each leaf of the tree is — a body, an inline image, a file, a signature — and
 * finds the files inside bodies. Fills model.shape.bodies and .files.
 */
function classify(model: MessageModel, tree: MimeTree): void {
  const { bodies, files } = model.shape;
  // images in multipart/related, decided below once every HTML body is known (listed in place meanwhile)
  const related: { node: MimeNode; file: FileShape }[] = [];
  const walk = (node: MimeNode, signed: boolean, inRelated: boolean): void => {
    // a multipart whose parts could not be read (no boundary, too deep) is one opaque file
    if (node.contentType.startsWith('multipart/') && node.children.length > 0) {
      const isSigned = node.contentType === 'multipart/signed';
      node.children.forEach((child, i) => {
        // the signature of a multipart/signed is no file of the sender's
        if (isSigned && i > 0 && SIGNATURE_TYPES.has(child.contentType)) return;
        // PGP/MIME's version part ("Version: 1") says how to read its sibling
        if (node.contentType === 'multipart/encrypted' && child.contentType === 'application/pgp-encrypted') return;
        walk(child, signed || isSigned, inRelated || node.contentType === 'multipart/related');
      });
      return;
    }
    // a multipart with nothing in it but, perhaps, its own delimiters shows nothing
    if (node.contentType.startsWith('multipart/') && isEmptyMultipart(model.source.read(node.bodyStart, node.end), node.boundary)) return;
    const filename = node.filename;
    const disposition = node.disposition;
    // a "text" part whose bytes are a file (a ZIP, a PDF, an image) is a file, whatever its label
    if (TEXT_TYPES.has(node.contentType) && (disposition === undefined || disposition === 'inline') && filename === undefined && !looksBinary(model.decoded(node))) {
      bodies.push({ node: node.id, kind: node.contentType === 'text/html' ? 'html' : 'text' });
      return;
    }
    const file = fileShape(model, node, signed || (node.id === 0 && OPAQUE_SMIME.has(node.contentType)));
    files.push(file);
    if (inRelated && disposition !== 'attachment' && node.contentId !== undefined && INLINE_IMAGE_TYPES.has(node.contentType)) related.push({ node, file });
  };
  walk(tree.root, false, false);
  // the message's base64 must read the same in every decoder
  for (const node of tree.nodes) {
    if (node.transferEncoding === 'base64' && node.children.length === 0 && base64Disagrees(rangeChunks(model.source, node.bodyStart, node.end))) {
      noteAmbiguity(tree.ambiguities, { code: 'undecodable-base64', detail: `base64 that decoders read differently (incomplete, or data after the padding) in part ${node.id}` });
    }
  }
  // images stay inline only when the HTML shows them and they are images by their bytes too
  if (related.length > 0) {
    const referenced = new Set<string>();
    for (const b of bodies) {
      if (b.kind !== 'html') continue;
      for (const m of model.decoded(model.node(b.node)).toString('latin1').matchAll(CID)) referenced.add(normalizeCid(m[1]!));
    }
    for (const { node, file } of related) file.inline = referenced.has(normalizeCid(node.contentId!)) && imageKind(model.decodedOnce(node)) !== undefined;
  }
  // files a client decodes out of the body text itself
  for (const b of bodies) {
    const node = model.node(b.node);
    model.blocks(node).forEach((block, i) => {
      files.push({ origin: block.kind, node: node.id, block: i, filename: block.name || `embedded-${files.length + 1}.bin`, contentType: block.type, inline: false, signed: false });
    });
  }
}

function fileShape(model: MessageModel, node: MimeNode, signed: boolean): FileShape {
  return { origin: 'part', node: node.id, filename: node.filename ?? defaultName(model, node), contentType: node.contentType, inline: false, signed };
}

function normalizeCid(cid: string): string {
  let text = cid;
  try {
    text = decodeURIComponent(cid);
  } catch {
    // not percent-encoded after all
  }
  return text.replace(/^<|>$/g, '').toLowerCase();
}

function defaultName(model: MessageModel, node: MimeNode): string {
  if (node.contentType === 'message/rfc822' || node.contentType === 'message/global') {
    // only the forwarded message's headers are read, for its subject (its transfer encoding undone)
    const inner = parseMime(headOf(decodeTransferChunks(model.source, node.bodyStart, node.end, node.transferEncoding), 65536), { maxDepth: 0, maxParts: 1 }).root;
    const subject = (headerValue(inner, 'subject') ?? '').replace(/[\\/:*?"<>|\x00-\x1f]/g, '_').trim();
    return `${subject || 'message'}.eml`;
  }
  const ext = node.contentType.split('/')[1]?.replace(/[^a-z0-9]/g, '') || 'bin';
  return `part.${ext}`;
}

function isEmptyMultipart(body: Buffer, boundary: string | undefined): boolean {
  const delimiter = boundary === undefined ? undefined : `--${boundary}`;
  for (let start = 0; start < body.length; ) {
    let end = body.indexOf(0x0a, start);
    if (end < 0) end = body.length;
    const line = body.toString('latin1', start, Math.min(end, start + 200)).trim();
    if (line !== '' && (delimiter === undefined || (line !== delimiter && line !== `${delimiter}--`))) return false;
    start = end + 1;
  }
  return true;
}

/** File formats that are never text: their magic bytes at the start. */
const FILE_MAGIC = ['PK\x03\x04', '%PDF-', '\xd0\xcf\x11\xe0', '7z\xbc\xaf', 'Rar!', '\x1f\x8b', '\x89PNG', '\xff\xd8\xff', 'GIF8'].map((m) => Buffer.from(m, 'latin1'));

/** Bytes a text body would not start with: a file format's signature. */
function looksBinary(bytes: Buffer): boolean {
  return FILE_MAGIC.some((m) => bytes.length >= m.length && bytes.compare(m, 0, m.length, 0, m.length) === 0);
}
