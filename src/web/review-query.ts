import type { AuditFilter } from '../audit/audit-store.js';
import { ReviewError } from './review-router.js';

/** The search form as the reviewer filled it in (shown again above the results, and kept in links). */
export interface SearchForm {
  /** First day, YYYY-MM-DD in Japan time ('' = no limit). */
  from: string;
  /** Last day, included, YYYY-MM-DD in Japan time. */
  to: string;
  /**
   * '' = the mail events but the gateway's own notices (notice-sent rows would fill the page),
   * 'mail' = every mail event, 'all' = every event (also logins, reloads), else one event type.
   */
  type: string;
  sender: string;
  /** The sender must match the whole address. */
  exact: boolean;
  domain: string;
  rule: string;
  clause: string;
}

export interface SearchQuery {
  form: SearchForm;
  filter: AuditFilter;
  /** 1, 2, … */
  page: number;
}

export const PAGE_SIZE = 50;
/** Left out of the default search: one row for every notice the gateway sent (confirmations, passwords, outcomes). */
export const UNLISTED_BY_DEFAULT = ['notice-sent'];
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TYPE = /^[a-z][a-z0-9-]{0,63}$/;
const MAX_TEXT = 256;
const DAY = 86_400_000;

function bad(ja: string, en: string): never {
  throw new ReviewError(400, { ja: '検索条件が正しくありません', en: 'Invalid search' }, { ja, en });
}

/** Midnight in Japan (UTC+9, no daylight saving) starting the given day, as ms; undefined for ''. */
function jstMidnight(value: string, ja: string, en: string): number | undefined {
  if (value === '') return undefined;
  const m = DATE.exec(value);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  // Date.UTC rolls 2026-02-30 over to March: only a date that comes back the same is real
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    bad(`${ja}の日付「${value}」が正しくありません。YYYY-MM-DD の形で、実在する日付を入力してください。`, `${en} "${value}" is not a valid date: use YYYY-MM-DD.`);
  }
  return ms - 9 * 3_600_000;
}

function text(params: URLSearchParams, name: string, ja: string): string {
  const value = (params.get(name) ?? '').trim();
  if (value.length > MAX_TEXT || /[\u0000-\u001f\u007f]/.test(value)) bad(`「${ja}」が長すぎるか、使えない文字を含んでいます（${MAX_TEXT} 文字まで）。`, `"${name}" is too long or contains control characters (at most ${MAX_TEXT} characters).`);
  return value;
}

/** The search of a /review/search or /review/export.csv query; a bad value is a 400 that says which and why. */
export function parseSearch(params: URLSearchParams): SearchQuery {
  const form: SearchForm = {
    from: text(params, 'from', '開始日'),
    to: text(params, 'to', '終了日'),
    type: text(params, 'type', '種別'),
    sender: text(params, 'sender', '差出人'),
    exact: params.get('exact') === '1',
    domain: text(params, 'domain', '宛先ドメイン'),
    rule: text(params, 'rule', 'ルール'),
    clause: text(params, 'clause', '条項'),
  };
  const since = jstMidnight(form.from, '開始日', 'The start date');
  const lastDay = jstMidnight(form.to, '終了日', 'The end date');
  const until = lastDay === undefined ? undefined : lastDay + DAY;
  if (since !== undefined && until !== undefined && since >= until) bad('開始日が終了日より後になっています。', 'The start date is after the end date.');
  if (form.type !== '' && form.type !== 'all' && !TYPE.test(form.type)) bad(`種別「${form.type}」は使えません。`, `Unknown event type "${form.type}".`);
  if (form.domain !== '' && !/^@?[a-z0-9.-]+$/i.test(form.domain)) bad(`宛先ドメイン「${form.domain}」が正しくありません（例：example.com）。`, `"${form.domain}" is not a domain (e.g. example.com).`);

  const pageText = params.get('page') ?? '1';
  const page = /^\d{1,6}$/.test(pageText) ? Number(pageText) : NaN;
  if (!(page >= 1)) bad(`ページ番号「${pageText}」が正しくありません。`, `Page "${pageText}" is not a page number.`);

  const filter: AuditFilter = {
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(form.type === '' ? { messagesOnly: true, excludeTypes: UNLISTED_BY_DEFAULT } : form.type === 'mail' ? { messagesOnly: true } : form.type === 'all' ? {} : { type: form.type }),
    ...(form.sender ? { sender: form.sender, senderExact: form.exact } : {}),
    ...(form.domain ? { recipientDomain: form.domain } : {}),
    ...(form.rule ? { rule: form.rule } : {}),
    ...(form.clause ? { clause: form.clause } : {}),
  };
  return { form, filter, page };
}

/** The query string of a search (for the pager and the CSV link); empty fields are left out. */
export function searchQueryString(form: SearchForm, page?: number): string {
  const p = new URLSearchParams();
  for (const key of ['from', 'to', 'type', 'sender', 'domain', 'rule', 'clause'] as const) if (form[key] !== '') p.set(key, form[key]);
  if (form.exact) p.set('exact', '1');
  if (page !== undefined && page > 1) p.set('page', String(page));
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}
