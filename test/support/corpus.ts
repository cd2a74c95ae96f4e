import fs from 'node:fs';
import path from 'node:path';

/** The shared corpus of real and broken messages lives beside the checkout (../shared/corpus). */
export const CORPUS_DIR = path.resolve('..', 'shared', 'corpus');

/** Whether the shared corpus is beside this checkout (a user's clone has none). */
export const HAS_CORPUS = fs.existsSync(CORPUS_DIR);

/** One corpus message by its path under the corpus; use it in tests marked skipIf(!HAS_CORPUS). */
export function corpusMessage(relative: string): Buffer {
  return fs.readFileSync(path.join(CORPUS_DIR, relative));
}

export function corpusFiles(): string[] {
  if (!fs.existsSync(CORPUS_DIR)) {
    const note = `corpus not found at ${CORPUS_DIR}`;
    if (process.env.CI === 'true') throw new Error(`${note}; CI must have it`);
    console.warn(`SKIPPED: ${note}`);
    return [];
  }
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.eml')) out.push(p);
    }
  };
  walk(CORPUS_DIR);
  return out.sort();
}

/** What SMTP makes of a file's bytes: every line ending CRLF, and a final line ending. */
export function asSmtpSees(raw: Buffer): Buffer {
  const text = raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
  return Buffer.from(text.endsWith('\r\n') ? text : `${text}\r\n`, 'latin1');
}
