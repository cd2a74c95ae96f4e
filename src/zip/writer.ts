import { Readable, pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { AesEncryptor } from './aes.js';
import { crc32 } from './crc32.js';
import { EntryNames, type NameEncoding } from './names.js';
import { ZipCryptoEncryptor } from './zipcrypto.js';

/** One file to put in the archive. */
export interface ZipEntryInput {
  /** The attachment's file name; sanitised, encoded and de-duplicated by the writer. */
  name: string;
  /** The file's bytes: read once, front to back, as the archive is read. */
  content: Readable | Uint8Array | AsyncIterable<Uint8Array | string>;
  /** Last-modified time (default: now). */
  mtime?: Date;
}

export interface ZipOptions {
  /** Printable ASCII (other characters are written differently by different ZIP tools). */
  password: string;
  /** 'aes256': WinZip AE-2, AES-256 (7-Zip, WinZip, Lhaplus, macOS tools; not Windows Explorer).
   *  'zipcrypto': traditional PKWARE encryption, weak, but Windows Explorer opens it. */
  cipher: 'aes256' | 'zipcrypto';
  /** 'utf8' (flag bit 11) or 'cp932' (Shift_JIS, for older Japanese Windows tools). */
  names: NameEncoding;
  /** DEFLATE level 0–9 (default 6); 0 stores everything. */
  level?: number;
  /** Refuse (ZipLimitError) to write an archive larger than this; default and upper bound 4 GiB − 1 (no ZIP64). */
  maxBytes?: number;
  /** Called once per entry when its data has been written, with what went into the archive. */
  onEntry?: (entry: ZipEntryInfo) => void;
}

/** What the writer made of one input entry. */
export interface ZipEntryInfo {
  /** The name as given. */
  originalName: string;
  /** The name in the archive (as a ZIP tool shows it). */
  name: string;
  method: 'deflate' | 'store';
  /** Bytes of the file. */
  size: number;
  /** Bytes of its data in the archive, encryption overhead included. */
  compressedSize: number;
}

/** The archive would need ZIP64 (an entry or the archive of 4 GiB or more, more than 65,535 entries) or exceeds maxBytes. */
export class ZipLimitError extends Error {
  readonly code = 'ZIP_LIMIT';
}

const MAX_32 = 0xffffffff;
const MAX_ENTRIES = 0xffff;
/** Bytes of an entry looked at before choosing DEFLATE or STORE. */
const SNIFF_BYTES = 64 * 1024;
/** DEFLATE must save at least this share of the sniffed bytes, or the entry is stored. */
const MIN_SAVING = 0.03;
/** Slice size for Buffer contents; also DEFLATE's output chunk size. */
const CHUNK = 256 * 1024;

/**
 * Formats whose content is already compressed: stored without trying DEFLATE. Office Open XML
 * and OpenDocument files are ZIP archives. PDF is not listed: its text and fonts often are
 * uncompressed, so it goes through the sniff like any other file.
 */
const STORED_EXTENSIONS = new Set(
  (
    'jpg jpeg jpe jfif png gif webp heic heif avif jxl ' +
    'mp3 m4a aac ogg oga opus flac wma mp4 m4v mov avi mkv webm wmv flv 3gp ' +
    'zip 7z rar gz tgz bz2 tbz2 xz txz zst lz4 lzh lha cab jar apk ' +
    'docx docm dotx xlsx xlsm xlsb xltx pptx pptm ppsx potx vsdx odt ods odp odg epub'
  ).split(' '),
);

const METHOD_STORE = 0;
const METHOD_DEFLATE = 8;
const METHOD_AES = 99;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
/** Version made by: 6.3 (UTF-8 names), host 0 (MS-DOS/FAT, so Windows reads CP932 names in its ANSI/OEM code page). */
const VERSION_MADE_BY = 63;
const VERSION_NEEDED = 20;
const VERSION_NEEDED_AES = 51;

/**
 * Streams a password-protected ZIP of the entries: each entry's content is read once, front to
 * back, only as fast as the returned stream is read, and one entry after another, so memory does
 * not grow with the size of the files. Entries are DEFLATEd unless their extension names a
 * compressed format or DEFLATE saves under 3% of their first 64 KiB; empty files are stored.
 * Sizes and CRCs follow each entry's data in a data descriptor (flag bit 3).
 *
 * Failures (an unreadable content stream, an archive too large for ZIP without ZIP64) destroy
 * the returned stream with the error; nothing after the failed entry is written, so a caller
 * that fails closed never sends a truncated archive as if it were whole.
 */
export function createEncryptedZip(entries: AsyncIterable<ZipEntryInput> | Iterable<ZipEntryInput>, options: ZipOptions): Readable {
  const settings = checkOptions(options);
  return Readable.from(writeArchive(entries, settings), { objectMode: false, highWaterMark: 64 * 1024 });
}

/** The whole archive in memory: for small archives and tests. */
export async function zipToBuffer(entries: AsyncIterable<ZipEntryInput> | Iterable<ZipEntryInput>, options: ZipOptions): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of createEncryptedZip(entries, options)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

interface Settings extends Required<Omit<ZipOptions, 'onEntry'>> {
  onEntry?: (entry: ZipEntryInfo) => void;
}

function checkOptions(options: ZipOptions): Settings {
  const { password, cipher, names, level = 6, maxBytes = MAX_32, onEntry } = options;
  if (typeof password !== 'string' || !/^[\x20-\x7e]+$/.test(password)) {
    throw new TypeError('ZIP password must be a non-empty string of printable ASCII characters');
  }
  if (cipher !== 'aes256' && cipher !== 'zipcrypto') throw new TypeError(`ZIP cipher must be 'aes256' or 'zipcrypto', got ${String(cipher)}`);
  if (names !== 'utf8' && names !== 'cp932') throw new TypeError(`ZIP name encoding must be 'utf8' or 'cp932', got ${String(names)}`);
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`DEFLATE level must be an integer from 0 to 9, got ${level}`);
  if (!Number.isInteger(maxBytes) || maxBytes < 22 || maxBytes > MAX_32) throw new RangeError(`maxBytes must be an integer from 22 to ${MAX_32}, got ${maxBytes}`);
  return { password, cipher, names, level, maxBytes, onEntry };
}

interface Written {
  nameBytes: Buffer;
  flags: number;
  method: number;
  time: number;
  date: number;
  unixTime: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
  aesMethod?: number;
}

async function* writeArchive(entries: AsyncIterable<ZipEntryInput> | Iterable<ZipEntryInput>, s: Settings): AsyncGenerator<Buffer> {
  const names = new EntryNames(s.names);
  const written: Written[] = [];
  let offset = 0;
  const grow = (bytes: number, what: string) => {
    offset += bytes;
    if (offset > s.maxBytes) {
      throw new ZipLimitError(
        s.maxBytes === MAX_32
          ? `encrypted ZIP would exceed 4 GiB at ${what}; ZIP64 is not supported`
          : `encrypted ZIP would exceed the limit of ${s.maxBytes} bytes at ${what}`,
      );
    }
  };
  let finished = false;
  try {
    for await (const entry of entries) {
      if (written.length === MAX_ENTRIES) throw new ZipLimitError(`encrypted ZIP cannot hold more than ${MAX_ENTRIES} files; ZIP64 is not supported`);
      const { name, bytes: nameBytes } = names.add(entry.name);
      const what = `"${name}"`;
      const source = chunksOf(entry.content);
      try {
        const head = await readHead(source, SNIFF_BYTES);
        const plan = choose(name, head, s.level);
        const { time, date } = dosDateTime(entry.mtime);
        const unixTime = unixSeconds(entry.mtime);
        const aes = s.cipher === 'aes256';
        const flags = FLAG_ENCRYPTED | FLAG_DATA_DESCRIPTOR | (s.names === 'utf8' ? FLAG_UTF8 : 0);
        const method = plan.deflate ? METHOD_DEFLATE : METHOD_STORE;
        const w: Written = {
          nameBytes,
          flags,
          method: aes ? METHOD_AES : method,
          aesMethod: aes ? method : undefined,
          time,
          date,
          unixTime,
          crc: 0,
          compressedSize: 0,
          size: 0,
          offset,
        };
        const local = localHeader(w);
        grow(local.length, what);
        yield local;

        const enc = aes ? await AesEncryptor.create(s.password) : new ZipCryptoEncryptor(s.password, time >>> 8);
        const start = offset;
        grow(enc.header.length, what);
        yield enc.header;

        // The file's bytes, counted (and CRC'd for ZipCrypto; AE-2 stores no CRC) on the way in.
        let size = 0;
        let crc = 0;
        const count = (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_32) throw new ZipLimitError(`${what} is 4 GiB or larger; ZIP64 is not supported`);
          if (!aes) crc = crc32(chunk, crc);
        };
        const out = (chunk: Buffer) => {
          grow(chunk.length, what);
          return enc.update(chunk);
        };

        if (!plan.deflate) {
          for await (const chunk of withHead(head, source)) {
            count(chunk);
            yield out(chunk);
          }
        } else if (plan.whole) {
          for (const chunk of head.chunks) count(chunk);
          yield out(plan.whole);
        } else {
          const input = Readable.from(countedChunks(withHead(head, source), count), { objectMode: false, highWaterMark: CHUNK });
          const deflate = zlib.createDeflateRaw({ level: s.level, chunkSize: CHUNK });
          // Errors on either side destroy both; iterating `deflate` then throws them.
          const compressed = pipeline(input, deflate, () => {});
          for await (const chunk of compressed) yield out(chunk as Buffer);
        }
        if (enc instanceof AesEncryptor) {
          const mac = enc.final();
          grow(mac.length, what);
          yield mac;
        }
        w.size = size;
        w.crc = aes ? 0 : crc;
        w.compressedSize = offset - start;
        const descriptor = dataDescriptor(w);
        grow(descriptor.length, what);
        yield descriptor;
        written.push(w);
        s.onEntry?.({ originalName: entry.name, name, method: plan.deflate ? 'deflate' : 'store', size, compressedSize: w.compressedSize });
      } finally {
        // Closes the content stream if the entry did not read it to the end (error, early stop).
        await source.return?.();
      }
    }
    const cdStart = offset;
    for (const w of written) {
      const record = centralRecord(w);
      grow(record.length, 'the central directory');
      yield record;
    }
    const end = endRecord(written.length, offset - cdStart, cdStart);
    grow(end.length, 'the end record');
    yield end;
    finished = true;
  } finally {
    if (!finished) destroyRest(entries);
  }
}

/** Destroys the content streams of entries never reached, when the archive fails or is abandoned. */
function destroyRest(entries: AsyncIterable<ZipEntryInput> | Iterable<ZipEntryInput>): void {
  if (!Array.isArray(entries)) return;
  for (const e of entries as ZipEntryInput[]) {
    if (e.content instanceof Readable && !e.content.readableEnded) e.content.destroy();
  }
}

/** An entry's content as an iterator of Buffers (Buffer contents in slices, without copying). */
function chunksOf(content: ZipEntryInput['content']): AsyncIterator<Buffer> {
  if (content instanceof Uint8Array) {
    const buf = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    return (async function* () {
      for (let i = 0; i < buf.length; i += CHUNK) yield buf.subarray(i, i + CHUNK);
    })();
  }
  if (content && typeof (content as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const it = (content as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
    return {
      async next() {
        const r = await it.next();
        if (r.done) return { done: true, value: undefined };
        const v = r.value;
        return { done: false, value: typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength) };
      },
      async return() {
        await it.return?.();
        return { done: true, value: undefined };
      },
    };
  }
  throw new TypeError('ZIP entry content must be a Buffer, a Readable or an async iterable of Buffers');
}

interface Head {
  chunks: Buffer[];
  bytes: number;
  /** True when the content ended within the head. */
  done: boolean;
}

/** Reads chunks until at least `want` bytes or the end. */
async function readHead(it: AsyncIterator<Buffer>, want: number): Promise<Head> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  while (bytes < want) {
    const r = await it.next();
    if (r.done) return { chunks, bytes, done: true };
    if (r.value.length === 0) continue;
    chunks.push(r.value);
    bytes += r.value.length;
  }
  return { chunks, bytes, done: false };
}

async function* withHead(head: Head, it: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* head.chunks;
  if (head.done) return;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    if (r.value.length) yield r.value;
  }
}

async function* countedChunks(chunks: AsyncIterable<Buffer>, count: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    count(chunk);
    yield chunk;
  }
}

interface Plan {
  deflate: boolean;
  /** The whole entry, deflated already (the entry fitted in the sniffed bytes). */
  whole?: Buffer;
}

/** DEFLATE or STORE: by extension, then by how much DEFLATE saves on the first 64 KiB. */
function choose(name: string, head: Head, level: number): Plan {
  if (level === 0 || head.bytes === 0) return { deflate: false };
  const dot = name.lastIndexOf('.');
  if (dot > 0 && STORED_EXTENSIONS.has(name.slice(dot + 1).toLowerCase())) return { deflate: false };
  const all = head.chunks.length === 1 ? head.chunks[0] : Buffer.concat(head.chunks);
  const sample = all.subarray(0, SNIFF_BYTES);
  const deflated = zlib.deflateRawSync(sample, { level });
  if (deflated.length > sample.length * (1 - MIN_SAVING)) return { deflate: false };
  return head.done && sample.length === all.length ? { deflate: true, whole: deflated } : { deflate: true };
}

/** MS-DOS date and time (local time, 2-second steps, 1980–2107) of `mtime` (default now). */
export function dosDateTime(mtime?: Date): { time: number; date: number } {
  let d = mtime && !Number.isNaN(mtime.getTime()) ? mtime : new Date();
  if (d.getFullYear() < 1980) d = new Date(1980, 0, 1, 0, 0, 0);
  if (d.getFullYear() > 2107) d = new Date(2107, 11, 31, 23, 59, 58);
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >>> 1),
    date: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

function unixSeconds(mtime?: Date): number {
  const ms = mtime && !Number.isNaN(mtime.getTime()) ? mtime.getTime() : Date.now();
  return Math.min(MAX_32, Math.max(0, Math.floor(ms / 1000)));
}

/** Extra fields: WinZip AES (0x9901, AE-2, AES-256, the real method) and extended timestamp (0x5455, UTC mtime). */
function extraFields(w: Written): Buffer {
  const parts: Buffer[] = [];
  if (w.aesMethod !== undefined) {
    const aes = Buffer.alloc(11);
    aes.writeUInt16LE(0x9901, 0);
    aes.writeUInt16LE(7, 2);
    aes.writeUInt16LE(2, 4); // AE-2: CRC not stored
    aes.write('AE', 6, 'latin1');
    aes.writeUInt8(3, 8); // AES-256
    aes.writeUInt16LE(w.aesMethod, 9);
    parts.push(aes);
  }
  const ut = Buffer.alloc(9);
  ut.writeUInt16LE(0x5455, 0);
  ut.writeUInt16LE(5, 2);
  ut.writeUInt8(1, 4); // modification time present
  ut.writeUInt32LE(w.unixTime, 5);
  parts.push(ut);
  return Buffer.concat(parts);
}

/** Local file header; CRC and sizes are 0 here and follow in the data descriptor. */
function localHeader(w: Written): Buffer {
  const extra = extraFields(w);
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(w.aesMethod !== undefined ? VERSION_NEEDED_AES : VERSION_NEEDED, 4);
  h.writeUInt16LE(w.flags, 6);
  h.writeUInt16LE(w.method, 8);
  h.writeUInt16LE(w.time, 10);
  h.writeUInt16LE(w.date, 12);
  // 14..25: CRC-32, compressed size, uncompressed size: 0 (flag bit 3)
  h.writeUInt16LE(w.nameBytes.length, 26);
  h.writeUInt16LE(extra.length, 28);
  return Buffer.concat([h, w.nameBytes, extra]);
}

/** Data descriptor with its (optional but customary) signature. */
function dataDescriptor(w: Written): Buffer {
  const d = Buffer.alloc(16);
  d.writeUInt32LE(0x08074b50, 0);
  d.writeUInt32LE(w.crc >>> 0, 4);
  d.writeUInt32LE(w.compressedSize, 8);
  d.writeUInt32LE(w.size, 12);
  return d;
}

function centralRecord(w: Written): Buffer {
  const extra = extraFields(w);
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE(VERSION_MADE_BY, 4);
  h.writeUInt16LE(w.aesMethod !== undefined ? VERSION_NEEDED_AES : VERSION_NEEDED, 6);
  h.writeUInt16LE(w.flags, 8);
  h.writeUInt16LE(w.method, 10);
  h.writeUInt16LE(w.time, 12);
  h.writeUInt16LE(w.date, 14);
  h.writeUInt32LE(w.crc >>> 0, 16);
  h.writeUInt32LE(w.compressedSize, 20);
  h.writeUInt32LE(w.size, 24);
  h.writeUInt16LE(w.nameBytes.length, 28);
  h.writeUInt16LE(extra.length, 30);
  // 32: comment length, 34: disk number, 36: internal attributes: 0
  h.writeUInt32LE(0x20, 38); // external attributes: FILE_ATTRIBUTE_ARCHIVE
  h.writeUInt32LE(w.offset, 42);
  return Buffer.concat([h, w.nameBytes, extra]);
}

function endRecord(count: number, cdSize: number, cdOffset: number): Buffer {
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0);
  // 4: this disk, 6: disk with the central directory: 0
  e.writeUInt16LE(count, 8);
  e.writeUInt16LE(count, 10);
  e.writeUInt32LE(cdSize, 12);
  e.writeUInt32LE(cdOffset, 16);
  // 20: comment length 0
  return e;
}

