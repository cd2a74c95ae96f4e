import type { AuditStore } from '../audit/audit-store.js';
import type { AuditEvent } from '../audit/events.js';
import { toCsv } from '../audit/export.js';
import { sendDownload } from './http.js';
import { PAGE_SIZE, type SearchForm, parseSearch, searchQueryString } from './review-query.js';
import { ReviewError, type ReviewRoute } from './review-router.js';
import { jstAndUtc } from './review-text.js';
import { html, raw, type SafeHtml } from '../render/html.js';
import { bi, named } from '../render/bilingual.js';
import { actorName } from '../audit/actor-names.js';
import { ruleName } from '../policy/rule-names.js';
import { EVENT_TYPES, eventType } from '../audit/event-names.js';

export interface SearchOptions {
  store: Pick<AuditStore, 'list' | 'count'>;
  /** Rule ids of the policy, offered in the rule field. */
  ruleIds?: () => string[];
  now: () => number;
}

/** The most events one CSV download carries; more must be narrowed down or exported with the CLI. */
export const MAX_EXPORT = 100_000;

/** The types offered in the search form (every named type, mail first); '' = every mail event, 'all' = everything. */
const TYPE_CHOICES = Object.keys(EVENT_TYPES);

/**
 * GET /review/search: search the audit log (blocked, held, released, discarded, expired mail and the
 * other events) by date range in Japan time, sender, recipient domain, rule, clause and type,
 * newest first, PAGE_SIZE a page. GET /review/export.csv: the same search as CSV (all pages,
 * oldest first, as `outguard audit export` writes it: UTF-8 with BOM, injection-safe).
 */
export function searchRoutes(o: SearchOptions): ReviewRoute[] {
  return [
    {
      method: 'GET',
      path: /^\/review\/search\/?$/,
      async handle(ctx) {
        const q = parseSearch(ctx.url.searchParams);
        const total = await o.store.count(q.filter);
        const events = await o.store.list({ ...q.filter, order: 'desc', limit: PAGE_SIZE, offset: (q.page - 1) * PAGE_SIZE });
        ctx.send(200, { ja: '監査ログの検索', en: 'Search the audit log' }, searchContent(q.form, q.page, total, events, o.ruleIds?.() ?? []), { current: '/review/search' });
      },
    },
    {
      method: 'GET',
      path: /^\/review\/export\.csv$/,
      async handle(ctx) {
        const q = parseSearch(ctx.url.searchParams);
        const total = await o.store.count(q.filter);
        if (total > MAX_EXPORT) {
          throw new ReviewError(
            400,
            { ja: '件数が多すぎます', en: 'Too many events' },
            {
              ja: `条件に合う記録が ${total} 件あり、一度に出力できる ${MAX_EXPORT} 件を超えています。期間などで絞り込むか、outguard audit export を使ってください。`,
              en: `${total} events match, more than the ${MAX_EXPORT} one download carries. Narrow the search (e.g. the dates) or use outguard audit export.`,
            },
          );
        }
        const stamp = jstAndUtc(o.now()).jst.replace(/[-: ]|JST/g, '').replace(/^(\d{8})/, '$1-');
        sendDownload(ctx.res, toCsv(await o.store.list(q.filter)), 'text/csv; charset=utf-8', `outguard-audit-${stamp}.csv`);
      },
    },
  ];
}

/** Up to `max` items, one a line, and how many more there are. */
function lines(items: readonly string[] | undefined, max: number): SafeHtml | string {
  if (!items || items.length === 0) return '';
  const more = items.length - max;
  return html`${items.slice(0, max).map((item) => html`<div>${item}</div>`)}${more > 0 ? html`<div class="more">${bi({ ja: `ほか ${more} 件`, en: `and ${more} more` })}</div>` : ''}`;
}

/** A rule id's label in the rule field's suggestions: its words, or nothing when the id is all there is. */
function ruleLabel(id: string): string {
  const words = ruleName(id);
  return words.ja === id ? '' : `${words.ja} / ${words.en}`;
}

/** The rules of an event in words with their ids, at most `max` of them. */
function rulesCell(rules: readonly string[] | undefined, max = 3): SafeHtml {
  if (!rules || rules.length === 0) return html``;
  const more = rules.length - max;
  return html`${rules.slice(0, max).map((r) => html`<div class="rule">${named(ruleName(r), r)}</div>`)}${more > 0 ? html`<div>… (+${more})</div>` : ''}`;
}

function row(e: AuditEvent): SafeHtml {
  const t = jstAndUtc(e.time);
  const type = eventType(e.type);
  const detail = e.messageId ? html`<a href="/review/message/${encodeURIComponent(e.messageId)}">詳細 <span lang="en">Details</span></a>` : '';
  const sender = e.sender === undefined ? '' : html`<div class="from">${e.sender === '' ? '<>' : e.sender}</div>`;
  const to = e.recipients && e.recipients.length > 0 ? html`<div class="to">${lines(e.recipients, 3)}</div>` : '';
  const clauses = e.clauses && e.clauses.length > 0 ? html`<div class="clauses">${[...new Set(e.clauses)].join('、')}</div>` : '';
  return html`<tr data-seq="${e.seq}">
<td class="time">${t.jst}<span class="utc">${t.utc}</span><span class="type ${e.type}">${type.ja}</span><span class="en" lang="en">${type.en}</span></td>
<td class="addr">${sender}${to}</td>
<td>${e.subject}</td>
<td>${rulesCell(e.rules)}${clauses}</td>
<td>${e.actor === undefined ? '' : named(actorName(e.actor, { sender: e.sender }), e.actor)}${e.action ? html`<span class="en">${e.action}</span>` : ''}</td>
<td>${detail}</td>
</tr>`;
}

function searchContent(form: SearchForm, page: number, total: number, events: AuditEvent[], ruleIds: string[]): SafeHtml {
  const first = total === 0 ? 0 : (page - 1) * PAGE_SIZE + 1;
  const last = Math.min(total, page * PAGE_SIZE);
  const option = (value: string, text: { ja: string; en: string }) => html`<option value="${value}"${form.type === value ? raw(' selected') : ''}>${text.ja} / ${text.en}</option>`;
  return html`<h1>監査ログの検索<span class="en" lang="en">Search the audit log</span></h1>
<p>${bi({
    ja: '拒否・保留・送信・破棄・期限切れになったメールなどの記録を、期間（日本時間）・差出人・宛先ドメイン・ルール・条項・種別で絞り込めます。新しい順に表示します。',
    en: 'Find rejected, held, released, discarded and expired mail and the other records by date (Japan time), sender, recipient domain, rule, clause and type. Newest first.',
  })}</p>
<section class="card">
<form class="filter" method="get" action="/review/search" id="search">
<label>開始日 <span class="en" lang="en">From (JST)</span><input type="date" name="from" value="${form.from}"></label>
<label>終了日 <span class="en" lang="en">To (JST, inclusive)</span><input type="date" name="to" value="${form.to}"></label>
<label class="wide">種別 <span class="en" lang="en">Type</span><select name="type" id="type">
${option('', { ja: 'メールの記録（通知送信を除く）', en: 'mail events but notices sent' })}
${option('mail', { ja: 'メールの記録すべて（通知送信を含む）', en: 'every mail event, notices sent too' })}
${TYPE_CHOICES.map((t) => option(t, EVENT_TYPES[t]!))}
${form.type !== '' && form.type !== 'all' && !TYPE_CHOICES.includes(form.type) ? option(form.type, eventType(form.type)) : ''}
${option('all', { ja: 'すべての記録', en: 'every event' })}
</select></label>
<label>差出人 <span class="en" lang="en">Sender</span><input name="sender" value="${form.sender}" placeholder="taro@example.co.jp"></label>
<label class="check"><input type="checkbox" name="exact" value="1"${form.exact ? raw(' checked') : ''}>差出人は完全一致 <span class="en" lang="en">exact sender</span></label>
<label>宛先ドメイン <span class="en" lang="en">Recipient domain</span><input name="domain" value="${form.domain}" placeholder="example.com"></label>
<label>ルール <span class="en" lang="en">Rule</span><input name="rule" id="rule" value="${form.rule}" list="rule-ids" placeholder="anonymous-recipient"></label>
<label>条項 <span class="en" lang="en">Clause</span><input name="clause" value="${form.clause}" placeholder="第6-3"></label>
<div class="actions"><button type="submit" class="send" id="search-button">検索 <span lang="en">(Search)</span></button>
<a href="/review/export.csv${searchQueryString(form)}" id="export" download>CSV で出力 <span lang="en">(Export CSV)</span></a></div>
<datalist id="rule-ids">${ruleIds.map((id) => html`<option value="${id}">${ruleLabel(id)}</option>`)}</datalist>
</form>
</section>
<section class="card" aria-labelledby="h-results">
<h2 id="h-results">結果<span class="en" lang="en">Results</span></h2>
<p id="count">${total} 件中 ${first}–${last} 件<span class="en" lang="en">${first}–${last} of ${total}</span></p>
${
  form.type === ''
    ? html`<p class="note" id="notices-left-out">${bi({
        ja: '既定の表示では、ゲートウェイが送った通知（確認依頼・パスワード・結果のお知らせ）の「通知送信」の記録を省いています。種別で「通知送信」または「メールの記録すべて（通知送信を含む）」を選ぶと表示されます。',
        en: 'By default the "notice sent" records of the notices the gateway sent (confirmations, passwords, outcomes) are left out. Choose "notice sent" or "every mail event, notices sent too" as the type to see them.',
      })} <a href="${searchQueryString({ ...form, type: 'mail' })}" id="show-notices">通知送信も表示する <span lang="en">(Show notices sent too)</span></a></p>`
    : ''
}
${
  events.length === 0
    ? html`<p id="no-results">${bi({ ja: '条件に合う記録はありません。', en: 'Nothing matches.' })}</p>`
    : html`<table class="results fixed" id="results">
<colgroup><col class="when"><col class="who"><col><col class="rules"><col class="actor"><col class="link"></colgroup>
<thead><tr><th>日時・種別 <span class="en" lang="en">Time, type</span></th><th>差出人 → 宛先 <span class="en" lang="en">From → to</span></th><th>件名 <span class="en" lang="en">Subject</span></th><th>ルール・条項 <span class="en" lang="en">Rules, clauses</span></th><th>操作者 <span class="en" lang="en">Actor</span></th><th></th></tr></thead>
<tbody>
${events.map(row)}
</tbody>
</table>`
}
<div class="pager">
${page > 1 ? html`<a href="/review/search${searchQueryString(form, page - 1)}" id="prev">← 前へ <span lang="en">Newer</span></a>` : ''}
${last < total ? html`<a href="/review/search${searchQueryString(form, page + 1)}" id="next">次へ → <span lang="en">Older</span></a>` : ''}
</div>
</section>`;
}
