import { type SafeHtml, html } from './html.js';

/** A sentence in Japanese, then English (DESIGN: user-facing text Japanese first). */
export interface Bilingual {
  ja: string;
  en: string;
}

/** Japanese, then English in a span the pages show smaller. */
export function bi(text: Bilingual): SafeHtml {
  return html`${text.ja}<span class="en" lang="en">${text.en}</span>`;
}

/**
 * A rule or an actor named in words, with its id small beside it for reviewers who search by id
 * (the id alone when the words are the id: a rule or actor outguard has no words for).
 */
export function named(words: Bilingual, id: string): SafeHtml {
  const text = words.ja === words.en ? html`${words.ja}` : bi(words);
  return words.ja.includes(id) ? text : html`${text}<span class="ident">${id}</span>`;
}
