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
