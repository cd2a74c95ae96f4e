import { type SafeHtml, html, raw } from './html.js';

export interface DocumentOptions {
  /** The window title, before "— outguard". */
  title: string;
  /** CSS, in order. */
  styles: string[];
  /** The CSP nonce of a served page (its style and script carry it); none for a file. */
  nonce?: string;
  /** Everything inside <body>. */
  body: SafeHtml;
  /** Inline script, after the body. */
  script?: string;
}

/**
 * The shell of every page and printable document: Japanese, no referrer, not for search engines,
 * nothing loaded from elsewhere.
 */
export function htmlDocument(o: DocumentOptions): string {
  const nonce = o.nonce === undefined ? '' : html` nonce="${o.nonce}"`;
  return html`<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${o.title} — outguard</title>
<style${nonce}>${raw(o.styles.join(''))}</style>
</head>
<body>
${o.body}
${o.script ? html`<script${nonce}>${raw(o.script)}</script>` : ''}
</body>
</html>
`.value;
}
