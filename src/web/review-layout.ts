import { INCIDENT_STYLE } from './review-incident-clock.js';
import type { SessionUser } from './session.js';
import { html, raw, type SafeHtml } from '../render/html.js';
import { STYLE } from '../render/style.js';
import { bi, type Bilingual } from '../render/bilingual.js';
import { htmlDocument } from '../render/document.js';

/** What the reviewer pages add to the release pages' style. */
const REVIEW_STYLE = `
main{max-width:1200px}
nav.review{display:flex;flex-wrap:wrap;gap:4px 18px;align-items:center;background:#1d2330;color:#fff;padding:8px 20px}
nav.review a{color:#fff;text-decoration:none;padding:4px 0}
nav.review a[aria-current=page]{border-bottom:2px solid #fff}
nav.review .en{color:#c9d0dc;display:inline;margin-left:.3em}
nav.review .who{margin-left:auto;font-size:.9em}
nav.review form{margin:0}
nav.review button{padding:2px 12px;font-size:.9em}
form.filter{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:10px 16px;align-items:end}
form.filter label{display:flex;flex-direction:column;font-size:.9em;font-weight:bold}
form.filter label .en{display:inline;font-weight:normal}
form.filter input,form.filter select,form.login input{font:inherit;padding:5px 8px;border:1px solid #8a93a3;border-radius:4px;font-weight:normal}
form.filter input,form.filter select{width:100%;min-width:0}
form.filter .check input{width:auto}
@media (min-width:700px){form.filter label.wide{grid-column:span 2}}
form.filter .check{flex-direction:row;gap:6px;align-items:center;font-weight:normal}
form.login{display:grid;gap:12px;max-width:360px}
form.login label{display:flex;flex-direction:column;font-weight:bold}
form.login label .en{display:inline;font-weight:normal}
table.results td{font-size:.92em}
td.time{white-space:nowrap}
/* who acted, under a time: words that wrap like any text */
td.time div{white-space:normal}
td.id{white-space:nowrap}
td.addr,td .addr,td .who{overflow-wrap:anywhere}
col.when{width:11.5em}col.who{width:25%}col.rules{width:16%}col.actor{width:9em}col.link{width:5em}
#results .type{margin-top:4px}
#results .to{color:#3b4456}
#results .to div:not(.more){padding-left:1.3em;text-indent:-1.3em}
#results .to div:not(.more)::before{content:"→\\00a0"}
#results .clauses,#results .more{font-size:.9em;color:#566074}
.note{font-size:.92em}
.pager{display:flex;gap:16px;align-items:center;margin-top:12px}
.type{display:inline-block;border-radius:4px;padding:0 6px;font-size:.85em;border:1px solid #8a93a3;white-space:nowrap}
.type.rejected,.type.discarded,.type.expired{background:#fde8e8;border-color:#d04040;color:#8a1010}
.type.held{background:#fff4e0;border-color:#e0a040;color:#7a4a00}
.type.released,.type.delivered,.type.encrypted{background:#eaf3ea;border-color:#7fb07f;color:#24502a}
.utc{color:#566074;font-size:.85em;display:block}
`;

const NAV: { href: string; text: Bilingual }[] = [
  { href: '/review', text: { ja: 'ダッシュボード', en: 'Dashboard' } },
  { href: '/review/search', text: { ja: '検索', en: 'Search' } },
  { href: '/review/incidents', text: { ja: 'インシデント', en: 'Incidents' } },
  { href: '/review/report', text: { ja: '月次報告', en: 'Monthly report' } },
];

export interface ReviewPageOptions {
  title: Bilingual;
  nonce: string;
  content: SafeHtml;
  /** The logged-in user: the navigation and the logout button are shown. */
  user?: SessionUser;
  /** The CSRF field for the logout form (with user). */
  csrfField?: string;
  /** The nav entry to mark as current (its href). */
  current?: string;
  /** CSS this page adds (the monthly report). */
  style?: string;
  script?: string;
}

/**
 * The shell of every reviewer page (ダッシュボード, 検索, インシデント, 月次報告 and what other parts add): the
 * release pages' style plus the reviewer navigation, Japanese first, the page's own nonce.
 */
export function reviewPage(o: ReviewPageOptions): string {
  const nav = o.user
    ? html`<nav class="review" aria-label="監査担当者メニュー / Reviewer menu">
${NAV.map((n) => html`<a href="${n.href}"${o.current === n.href ? raw(' aria-current="page"') : ''}>${n.text.ja}<span class="en" lang="en">${n.text.en}</span></a>`)}
<span class="who" id="who">${o.user.username}（${o.user.role === 'admin' ? '管理者' : '監査担当者'}）<span class="en" lang="en">${o.user.role}</span></span>
<form method="post" action="/logout"><input type="hidden" name="csrf" value="${o.csrfField ?? ''}"><button type="submit" id="logout">ログアウト <span lang="en">(Log out)</span></button></form>
</nav>`
    : '';
  return htmlDocument({
    title: `${o.title.ja} / ${o.title.en}`,
    styles: [STYLE, REVIEW_STYLE, INCIDENT_STYLE, o.style ?? ''],
    nonce: o.nonce,
    script: o.script,
    body: html`${nav}
<main>
${o.content}
<footer>outguard — ${bi({ ja: '特記事項 第9・第10（報告と検査）のための記録', en: 'Records for special terms 9 and 10 (reports and inspection)' })}</footer>
</main>`,
  });
}

/** The body of a page that says what went wrong, Japanese then English, and the HTTP status. */
export function problemContent(status: number, title: Bilingual, text: Bilingual): SafeHtml {
  return html`<h1>${bi(title)}</h1>
<div class="alert error" role="alert" id="problem"><p>${bi(text)}</p></div>
<p class="en">HTTP ${status}</p>`;
}
