import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SEALED_OVERHEAD, SealedDataError } from './sealed.js';
import { CHUNK_BYTES, ChunkSealer, SEALED_CHUNK_BYTES, SealedChunkSource } from './sealed-chunks.js';

/**
 * Large messages on their way through, in DATA_DIR/spool: what the SMTP listener receives past
 * smtp.spoolThreshold goes here instead of into memory, sealed in chunks (sealed-chunks.ts), and
 * is read back by byte offsets. A spool file lives only while its message is handled — until it
 * is answered, after it was delivered or stored — so files left by a crash are removed at start.
 * Each file is sealed with a key of its own that is only ever in memory: a file left behind, or
 * its blocks on the disk after it was removed, cannot be read by anyone.
 *
 * File layout: MAGIC, then the sealed chunks one after the other. Every chunk but the last holds
 * CHUNK_BYTES, so chunk i starts at MAGIC.length + i × SEALED_CHUNK_BYTES.
 */
const MAGIC = Buffer.from('OGSPOOL1', 'latin1');
/** The spool's folder in the data directory (the 届出書 lists it). */
export const SPOOL_DIR_NAME = 'spool';
const SUFFIX = '.spool';

export class Spool {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, SPOOL_DIR_NAME);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** A new spool file to write one message into. */
  create(): SpoolWriter {
    return new SpoolWriter(path.join(this.dir, `${randomBytes(12).toString('hex')}${SUFFIX}`), randomBytes(32));
  }

  /** Removes spool files a crashed run left behind (their messages were never answered 250, or are stored). */
  clean(): number {
    let removed = 0;
    for (const name of fs.readdirSync(this.dir)) {
      if (!name.endsWith(SUFFIX)) continue;
      fs.rmSync(path.join(this.dir, name), { force: true });
      removed++;
    }
    return removed;
  }
}

const aadFor = (file: string) => `spool:${path.basename(file)}`;

/** One message being received into a spool file. */
export class SpoolWriter {
  private readonly fd: number;
  private readonly sealer: ChunkSealer;
  private done = false;

  constructor(
    readonly file: string,
    private readonly key: Buffer,
  ) {
    this.fd = fs.openSync(file, 'wx', 0o600);
    fs.writeSync(this.fd, MAGIC);
    this.sealer = new ChunkSealer(key, aadFor(file), (sealed) => {
      fs.writeSync(this.fd, sealed);
    });
  }

  get length(): number {
    return this.sealer.length;
  }

  write(data: Buffer): void {
    this.sealer.write(data);
  }

  /** The message, complete: readable by offsets until remove(). */
  finish(): SpoolSource {
    this.sealer.end();
    fs.closeSync(this.fd);
    this.done = true;
    return SpoolSource.open(this.file, this.key);
  }

  /** Gives up on the message (too big, the client went away): the file goes. */
  discard(): void {
    if (!this.done) fs.closeSync(this.fd);
    this.done = true;
    fs.rmSync(this.file, { force: true });
  }
}

/**
 * A spooled message read by byte offsets, from this thread or another: the policy thread opens it
 * by path, handed the file's key (`key`) with it.
 */
export class SpoolSource extends SealedChunkSource {
  private constructor(
    readonly file: string,
    private readonly fd: number,
    length: number,
    key: Buffer,
  ) {
    super(length, key, aadFor(file), (seq) => {
      const at = MAGIC.length + seq * SEALED_CHUNK_BYTES;
      const buf = Buffer.allocUnsafe(SEALED_CHUNK_BYTES);
      const n = fs.readSync(fd, buf, 0, buf.length, at);
      return n > 0 ? buf.subarray(0, n) : null;
    });
  }

  /** Opens a spool file; a file too short to be one, or not one at all, throws SealedDataError. */
  static open(file: string, key: Buffer): SpoolSource {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const head = Buffer.alloc(MAGIC.length);
      fs.readSync(fd, head, 0, head.length, 0);
      const body = size - MAGIC.length;
      if (!head.equals(MAGIC) || body < SEALED_OVERHEAD) throw new SealedDataError(`${file} is not a spool file (or is cut short)`);
      const count = Math.ceil(body / SEALED_CHUNK_BYTES);
      const lastBytes = body - (count - 1) * SEALED_CHUNK_BYTES - SEALED_OVERHEAD;
      if (lastBytes < 0) throw new SealedDataError(`${file} is cut short inside a chunk`);
      return new SpoolSource(file, fd, (count - 1) * CHUNK_BYTES + lastBytes, key);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** Done reading here (the file stays for its owner). */
  close(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // closed already
    }
  }

  /** Done with the message: the file goes. */
  remove(): void {
    this.close();
    fs.rmSync(this.file, { force: true });
  }
}
