/**
 * The differential corpus: a deterministic stream of messages from a seed. Message i depends only
 * on (seed, i) (and on the corpus list when one is given), so any failure is re-run alone with
 * `npm run fuzz -- --seed S --from I --count 1`.
 *
 * Index layout: 0 … C-1 are the hand-written cases once each (every run covers every case), then
 * one index per shared-corpus message as it is, then the random mix: a corpus message with 1–3
 * mutations (15 %, only when a corpus is given), a hand-written case as it is (30 %; 45 % without a
 * corpus), a hand-written case with 1–3 mutations (55 %). Cases marked `once` (1,000 and 5,000
 * parts) only appear at their fixed index.
 */
import { CASES } from './cases.js';
import { Ctx } from './mime.js';
import { mutate } from './mutate.js';
import { Rng, mixSeed } from './random.js';

export interface Generated {
  name: string;
  raw: Buffer;
}

export interface GenerateOptions {
  /** Messages of the shared corpus (../shared/corpus/**.eml, sorted by path). */
  corpus?: Buffer[];
  /** Labels for the corpus messages (e.g. their file names), used in names. */
  corpusNames?: string[];
  /** The first index (default 0). */
  from?: number;
}

const MIXABLE = CASES.filter((c) => !c.once);

/** Corpus files travel as SMTP would carry them (CRLF), so the text mutations find their lines. */
function crlf(b: Buffer): string {
  const t = b.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
  return t.endsWith('\r\n') ? t : `${t}\r\n`;
}

/** Message `index` of the stream for `seed`. */
export function generateOne(seed: number, index: number, options: GenerateOptions = {}): Generated {
  const corpus = options.corpus ?? [];
  const label = (k: number) => (options.corpusNames?.[k] ?? `corpus${k}`).replace(/[^A-Za-z0-9._-]+/g, '_');
  const rng = new Rng(mixSeed(seed, index));
  const prefix = `s${seed}-i${index}`;
  const fromCase = (k: number, withVariant = true) => {
    const c = CASES[k]!;
    const built = c.build(new Ctx(rng.fork()));
    return { raw: built.raw, name: `${c.name}${withVariant && built.variant ? `@${built.variant}` : ''}` };
  };

  if (index < CASES.length) {
    const { raw, name } = fromCase(index);
    return { name: `${prefix}-${name}`, raw: Buffer.from(raw, 'latin1') };
  }
  if (index < CASES.length + corpus.length) {
    const k = index - CASES.length;
    return { name: `${prefix}-corpus-${label(k)}`, raw: corpus[k]! };
  }
  const roll = rng.next();
  if (corpus.length > 0 && roll < 0.15) {
    const k = rng.int(corpus.length);
    const m = mutate(crlf(corpus[k]!), rng.fork());
    return { name: `${prefix}-corpus-${label(k)}+${m.applied.join('+')}`, raw: Buffer.from(m.raw, 'latin1') };
  }
  const k = CASES.indexOf(rng.pick(MIXABLE));
  const base = fromCase(k);
  if (roll < 0.45) return { name: `${prefix}-${base.name}`, raw: Buffer.from(base.raw, 'latin1') };
  const m = mutate(base.raw, rng.fork());
  return { name: `${prefix}-${base.name}+${m.applied.join('+')}`, raw: Buffer.from(m.raw, 'latin1') };
}

/** `count` messages from index `options.from` (default 0). */
export function* generate(seed: number, count: number, options: GenerateOptions = {}): Iterable<Generated> {
  const from = options.from ?? 0;
  for (let i = from; i < from + count; i++) yield generateOne(seed, i, options);
}

/** How many indices the fixed part takes (every hand-written case, then every corpus message). */
export function fixedCount(options: GenerateOptions = {}): number {
  return CASES.length + (options.corpus?.length ?? 0);
}

export { CASES };
