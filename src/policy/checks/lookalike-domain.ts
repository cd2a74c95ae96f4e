import { domainToUnicode } from 'node:url';
import { getDomain, getPublicSuffix } from 'tldts';
import type { Bilingual } from '../../render/bilingual.js';
import { type Check, type Hit, ParamError, allRecipients, domainOf, param } from '../check.js';
import { normalizeHost } from '../lists.js';
import { memoize } from '../../util/memoize.js';

/**
 * 第6-1: a recipient whose domain looks like an internal or partner domain but is not one
 * (typo-squatting, a slip of the keyboard, a homoglyph IDN). Holds the mail so the sender
 * confirms the recipient before it leaves.
 *
 * A recipient domain is compared only when it is not internal (or a subdomain), not a partner
 * domain (or a subdomain) and not allow-listed. It is a lookalike of an internal/partner domain T when
 *   - homoglyphs: its skeleton (confusable characters mapped to Latin, see SKELETON) equals T's
 *     skeleton while the raw domains differ: exarnple.co.jp, examp1e.co.jp, еxample.co.jp (Cyrillic е);
 *   - edit distance: the optimal-string-alignment distance (a transposition counts 1) between the
 *     whole ASCII domains, or between their registrable parts (tldts, ICANN suffixes only), is
 *     1..maxDistance: exampel.co.jp, partnercorp.jp vs partner-corp.jp, exampleco.jp, pref.aichl.jp;
 *   - same name, different suffix: the registrable label equals T's under another public suffix
 *     (example.com or example.ne.jp vs example.co.jp). Squatters register exactly these, and the
 *     real organisation would be a partner (or allow-listed) if mail to it were expected.
 * The name-based rules (edit distance, same name) are skipped for T whose name is shorter than
 * `minLength`: the longest label of T's registrable part, not counting the TLD — "example" for
 * example.co.jp, "aichi" for pref.aichi.jp (whose registrable label "pref" says nothing), "abc"
 * for abc.co.jp. Short names have many real neighbours one or two edits away (abc.jp, abd.jp).
 * Homoglyph matches ignore minLength: an identical skeleton is a strong signal at any length.
 * A recipient under the same registrable domain as T (other.example.co.jp when only
 * mail.example.co.jp is internal) is not a lookalike of T: the same registrant owns both.
 *
 * Independently of any T, an IDN label (xn--) whose Unicode form mixes scripts is flagged
 * (Latin+Cyrillic, Latin+Greek, ...). Following UTS #39 "highly restrictive", a label in one
 * script, or in Latin with Han/Hiragana/Katakana (Japanese), Han/Bopomofo or Han/Hangul, is not
 * mixed: 日本語.jp, トヨタ自動車.jp and Jリーグ.jp pass. Digits, hyphen and ー are script-neutral.
 *
 * One hit per distinct recipient domain, its value the first recipient address at that domain.
 */
export interface LookalikeParams {
  maxDistance: number;
  minLength: number;
}

export const lookalikeDomain: Check<LookalikeParams> = {
  name: 'lookalike-domain',
  params(raw) {
    const maxDistance = param.number(raw, 'maxDistance', 2, 1);
    if (!Number.isInteger(maxDistance) || maxDistance > 2) throw new ParamError('maxDistance', 'an integer from 1 to 2');
    const minLength = param.number(raw, 'minLength', 5, 1);
    if (!Number.isInteger(minLength)) throw new ParamError('minLength', 'an integer ≥ 1');
    return { maxDistance, minLength };
  },
  run(input, ctx, { maxDistance, minLength }) {
    const targets = targetsFor(ctx.internalDomains, ctx.partnerDomains);
    const partners = ctx.partnerDomains;
    const seen = new Set<string>();
    const hits: Hit[] = [];
    for (const address of allRecipients(input)) {
      const domain = normalizeHost(domainOf(address));
      if (domain === '' || seen.has(domain)) continue;
      seen.add(domain);
      if (domain.startsWith('[') || !domain.includes('.')) continue; // address literal or bare host
      if (ctx.isInternal(domain)) continue;
      if (partners.some((p) => domain === p || domain.endsWith(`.${p}`))) continue;
      if (ctx.allowed(address)) continue;
      const detail = judgeOnce(domain, targets, maxDistance, minLength);
      if (detail) hits.push({ value: address, detail });
    }
    return hits;
  },
};

/** An internal or partner domain, with everything the comparisons need computed once. */
interface Target {
  domain: string;
  registrable: string;
  /** registrable without its public suffix: "example" */
  label: string;
  suffix: string;
  /** longest label of the registrable part except the TLD; minLength applies to it */
  nameLength: number;
  skeleton: string;
  registrableSkeleton: string;
}

const TLD_OPTS = { allowPrivateDomains: false } as const;

function split(domain: string): { registrable: string; label: string; suffix: string } {
  const suffix = getPublicSuffix(domain, TLD_OPTS) ?? '';
  const registrable = getDomain(domain, TLD_OPTS) ?? domain;
  const label = registrable.length > suffix.length + 1 && registrable.endsWith(`.${suffix}`) ? registrable.slice(0, -suffix.length - 1) : '';
  return { registrable, label, suffix };
}

function makeTarget(domain: string): Target {
  const { registrable, label, suffix } = split(domain);
  const labels = registrable.split('.');
  if (labels.length > 1) labels.pop(); // the TLD
  return {
    domain,
    registrable,
    label,
    suffix,
    nameLength: Math.max(...labels.map((l) => l.length)),
    skeleton: skeleton(toUnicode(domain)),
    registrableSkeleton: skeleton(toUnicode(registrable)),
  };
}

function toUnicode(domain: string): string {
  return domain.includes('xn--') ? domainToUnicode(domain) || domain : domain;
}

/** Targets memoised by the domain lists (a context keeps its lists for its lifetime). */
const memo = new Map<string, Target[]>();

function targetsFor(internal: readonly string[], partners: readonly string[]): Target[] {
  const key = `${internal.join(' ')}\n${partners.join(' ')}`;
  let targets = memo.get(key);
  if (!targets) {
    if (memo.size >= 16) memo.clear();
    targets = [...new Set([...internal, ...partners])].filter((d) => d.includes('.')).map(makeTarget);
    memo.set(key, targets);
  }
  return targets;
}

/** Why `domain` looks like one of the targets (or is a mixed-script IDN), or undefined. */
const verdicts = new WeakMap<readonly Target[], Map<string, (domain: string) => Bilingual | undefined>>();

/** judge(), remembered per domain for one set of targets and parameters. */
function judgeOnce(domain: string, targets: readonly Target[], maxDistance: number, minLength: number): Bilingual | undefined {
  let byParams = verdicts.get(targets);
  if (!byParams) verdicts.set(targets, (byParams = new Map()));
  const params = `${maxDistance}/${minLength}`;
  let known = byParams.get(params);
  if (!known) byParams.set(params, (known = memoize((d) => judge(d, targets, maxDistance, minLength))));
  return known(domain);
}

function judge(domain: string, targets: readonly Target[], maxDistance: number, minLength: number): Bilingual | undefined {
  const { registrable, label, suffix } = split(domain);
  const unicode = toUnicode(domain);
  const skel = skeleton(unicode);
  const regSkel = skeleton(toUnicode(registrable));

  // best match: homoglyphs (rank 0), same name under another suffix (rank 1), edit distance d (rank 1 + d)
  // the English texts are read back by hold/content.ts ("looks like <domain>", "mixed-script IDN")
  let best: { rank: number; text: Bilingual } | undefined;
  for (const t of targets) {
    if (registrable === t.registrable) continue;
    if (skel === t.skeleton || regSkel === t.registrableSkeleton) {
      best = { rank: 0, text: { ja: `${t.domain} に似ています（見分けにくい文字）`, en: `looks like ${t.domain} (homoglyphs)` } };
      break;
    }
    if (t.nameLength < minLength) continue;
    if (label !== '' && label === t.label && suffix !== t.suffix) {
      if (!best || best.rank > 1) best = { rank: 1, text: { ja: `${t.domain} に似ています（同じ名前で末尾が .${suffix}）`, en: `looks like ${t.domain} (same name under .${suffix})` } };
      continue;
    }
    const bound = Math.min(maxDistance, best ? best.rank - 2 : maxDistance);
    if (bound < 1) continue;
    const d = Math.min(distance(domain, t.domain, bound), distance(registrable, t.registrable, bound));
    if (d >= 1 && d <= bound) best = { rank: 1 + d, text: { ja: `${t.domain} に似ています（${d}文字違い）`, en: `looks like ${t.domain} (edit distance ${d})` } };
  }
  const mixed = /[^\x00-\x7f]/.test(unicode) ? mixedScripts(unicode) : undefined;
  if (mixed) {
    const scripts = mixed.join('+');
    const text = { ja: `複数の文字体系が混在する国際化ドメイン名（${scripts}）`, en: `mixed-script IDN (${scripts})` };
    return best ? { ja: `${best.text.ja}。${text.ja}`, en: `${best.text.en}; ${text.en}` } : text;
  }
  return best?.text;
}

/**
 * Optimal string alignment distance (Damerau–Levenshtein where a transposition counts 1 and no
 * substring is edited twice), or max + 1 as soon as it must exceed max.
 */
export function distance(a: string, b: string, max: number): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      const cb = b.charCodeAt(j - 1);
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (ca === cb ? 0 : 1));
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return Math.min(prev[n]!, max + 1);
}

/**
 * Characters that render like a Latin letter, mapped to it. Full-width and other compatibility
 * forms are folded by NFKC first. Of the digits only 0 and 1 are mapped (o, l): 5/s, 8/B and the
 * like differ visibly in lower case, and a one-character swap is caught by edit distance anyway.
 */
const CONFUSABLE: Record<string, string> = {
  // Cyrillic
  а: 'a', е: 'e', о: 'o', р: 'p', с: 'c', у: 'y', х: 'x', і: 'i', ј: 'j', ѕ: 's', ԁ: 'd', һ: 'h', ӏ: 'l', ԛ: 'q', ԝ: 'w', ү: 'y', ѵ: 'v',
  // Greek
  ο: 'o', α: 'a', ν: 'v', ρ: 'p', ι: 'i', κ: 'k', υ: 'u', χ: 'x', ϲ: 'c',
  // Latin look-alikes and Armenian
  ɡ: 'g', ı: 'i', ɑ: 'a', օ: 'o', ս: 'u',
  // digits
  '0': 'o', '1': 'l',
};
/** Letter pairs that read as one letter, applied after the single characters. */
const PAIRS: [RegExp, string][] = [
  [/rn/g, 'm'],
  [/vv/g, 'w'],
  [/cl/g, 'd'],
];

export function skeleton(domain: string): string {
  let s = '';
  for (const ch of domain.normalize('NFKC').toLowerCase()) s += CONFUSABLE[ch] ?? ch;
  for (const [re, to] of PAIRS) s = s.replace(re, to);
  return s;
}

const SCRIPTS: [string, RegExp][] = (
  ['Latin', 'Cyrillic', 'Greek', 'Armenian', 'Georgian', 'Han', 'Hiragana', 'Katakana', 'Hangul', 'Bopomofo', 'Arabic', 'Hebrew', 'Thai', 'Devanagari', 'Cherokee'] as const
).map((name) => [name, new RegExp(`\\p{Script=${name}}`, 'u')]);
const NEUTRAL = /[\p{Script=Common}\p{Script=Inherited}]/u;
/** Script sets that are not "mixed" (UTS #39 highly restrictive). */
const ALLOWED_SETS = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

/** The scripts of the first non-ASCII label that mixes scripts, in order of appearance, or undefined. */
function mixedScripts(unicode: string): string[] | undefined {
  for (const label of unicode.split('.')) {
    if (!/[^\x00-\x7f]/.test(label)) continue;
    const scripts = new Set<string>();
    for (const ch of label) {
      if (NEUTRAL.test(ch)) continue;
      scripts.add(SCRIPTS.find(([, re]) => re.test(ch))?.[0] ?? 'Other');
    }
    if (scripts.size > 1 && !ALLOWED_SETS.some((set) => [...scripts].every((s) => set.has(s)))) return [...scripts];
  }
  return undefined;
}
