import { getDomain } from 'tldts';
import type { Envelope } from '../message/envelope.js';
import type { MessageModel } from '../message/model.js';
import type { Finding } from '../policy/verdict.js';
import type { HoldRecipient } from './types.js';

/** What the confirmation shows of a message, worked out once when it is held. */

/** The whole text body for the page: the text/plain parts, or the HTML reduced to text when there are none. */
export function bodyTextOf(message: Pick<MessageModel, 'textParts' | 'htmlParts'>): string {
  const text = message.textParts.map(normalize).filter((t) => t.trim() !== '');
  if (text.length > 0) return text.join('\n\n');
  return message.htmlParts.map((h) => normalize(htmlToText(h))).filter((t) => t.trim() !== '').join('\n\n');
}

/** The first `chars` characters of the body text (whole lines where possible), for the notice and the list. */
export function bodyStartOf(bodyText: string, chars = 400): string {
  const text = bodyText.replace(/\n{3,}/g, '\n\n').trim();
  if (text.length <= chars) return text;
  const cut = text.slice(0, chars);
  const lastBreak = cut.lastIndexOf('\n');
  return `${(lastBreak > chars / 2 ? cut.slice(0, lastBreak) : cut).trimEnd()}…`;
}

/**
 * Every envelope recipient with what makes it worth a second look, read from the findings:
 * lookalike-domain ("looks like example.co.jp …", value: an address at the domain) and
 * first-time-domain ("first message to …", value: the registrable domain). Findings are matched
 * by their detail text, so it works whatever the rules are called in the policy.
 */
export function recipientsOf(envelope: Envelope, findings: Finding[], isInternal: (domain: string) => boolean): HoldRecipient[] {
  const lookalike = new Map<string, string>();
  const firstTime = new Set<string>();
  for (const f of findings) {
    const detail = f.detail ?? '';
    const looks = /(?:^|; )looks like (\S+)/.exec(detail);
    if (looks) lookalike.set(domainOf(f.value), looks[1]!);
    else if (detail.startsWith('mixed-script IDN')) lookalike.set(domainOf(f.value), detail);
    if (detail.startsWith('first message to ')) firstTime.add(f.value.toLowerCase());
  }
  return envelope.to.map((address) => {
    const domain = domainOf(address);
    const external = domain === '' || !isInternal(domain);
    const lookalikeOf = lookalike.get(domain);
    return {
      address,
      external,
      firstTimeDomain: external && domain !== '' && firstTime.has(registrable(domain)),
      ...(lookalikeOf !== undefined ? { lookalikeOf } : {}),
    };
  });
}

/**
 * A recipient's lookalike flag in words: the domain it looks like, or (lookalikeOf holds the
 * check's English detail then) why the domain itself is confusable: a mixed-script IDN.
 */
export function lookalikeText(lookalikeOf: string): { ja: string; en: string } {
  if (/^\S+$/.test(lookalikeOf)) return { ja: `「${lookalikeOf}」に類似したドメイン`, en: `looks like ${lookalikeOf}` };
  const scripts = /^mixed-script IDN \(([^)]*)\)$/.exec(lookalikeOf)?.[1];
  return scripts !== undefined
    ? { ja: `紛らわしいドメイン（複数の文字体系が混在: ${scripts}）`, en: `confusable domain: mixed scripts (${scripts})` }
    : { ja: `紛らわしいドメイン: ${lookalikeOf}`, en: `confusable domain: ${lookalikeOf}` };
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

function registrable(domain: string): string {
  return getDomain(domain, { allowPrivateDomains: false }) ?? domain;
}

function normalize(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** A plain reading of an HTML body: no scripts or styles, block ends as line breaks, tags dropped, entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|tr|h[1-6]|blockquote|pre|table)\s*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
