import { TRIGGER_LABELS } from '../audit/incident-report.js';
import type { Incident, IncidentStatus } from '../audit/incident-types.js';
import { clockHtml } from './review-incident-clock.js';
import { jstAndUtc } from './review-text.js';
import { html, raw, type SafeHtml } from '../render/html.js';
import { bi, type Bilingual, named } from '../render/bilingual.js';
import { actorName } from '../audit/actor-names.js';

/** The incident pages' markup (遵守事項 第2); the routes are in review-incidents.ts. */

/** What the views need besides the incidents: the status at the moment of the request. */
export interface Clock {
  now: number;
  status(incident: Incident): IncidentStatus;
}

/** The longest reason or note a form takes (the report shows the reason on one line). */
export const MAX_TEXT = 1000;

const path = (i: Pick<Incident, 'id'>) => `/review/incidents/${encodeURIComponent(i.id)}`;
const messagePath = (id: string) => `/review/message/${encodeURIComponent(id)}`;
const jst = (ms: number) => jstAndUtc(ms).jst;
const en = (text: string) => html`<span class="en" lang="en">${text}</span>`;

function messageLink(i: Incident): SafeHtml | string {
  if (i.messageId === undefined) return '—';
  return html`<a class="mono" href="${messagePath(i.messageId)}">${i.messageId}</a>${i.message?.subject ? html`<div>${i.message.subject}</div>` : ''}`;
}

/** Who opened or reported the incident, in words with the recorded id beside it. */
const who = (i: Incident, actor: string | undefined) => (actor === undefined ? '—' : named(actorName(actor, { sender: i.message?.sender }), actor));

function reportedBy(i: Incident): SafeHtml | string {
  return i.reportedAt === undefined ? '—' : html`${jst(i.reportedAt)}<div class="who">${who(i, i.reportedBy)}</div>`;
}

/** What happens to reports while no client contact is configured: they are not sent, and what to do. */
const BY_HAND: Bilingual = {
  ja: '発注者の窓口（compliance.clientContact）が設定されていないため、インシデントの報告は自動では送られません。各インシデントのページの報告の文面を使って電話やメールで発注者の窓口に報告し、「報告済みとして記録」を押してください。自動で送るには、設定ファイルの compliance.clientContact に窓口のアドレスを書きます（その後に登録するインシデントから送られます）。',
  en: 'No client contact (compliance.clientContact) is configured, so incident reports are not sent automatically. Report each one to the client contact yourself (phone, mail) using the report on its page, then press "Record as reported". To send them automatically, put the contact\'s address in compliance.clientContact in the config (incidents opened after that are sent).',
};

export function listContent(incidents: Incident[], o: { openOnly: boolean; limit: number; clock: Clock; incidentMinutes: number; mailsReports: boolean }): SafeHtml {
  const choice = (href: string, current: boolean, text: Bilingual) =>
    html`<a href="${href}"${current ? raw(' aria-current="page"') : ''}>${text.ja} <span lang="en">(${text.en})</span></a>`;
  return html`<h1>インシデント<span class="en" lang="en">Incidents</span></h1>
<p>${bi({ ja: `遵守事項 第2：インシデントは認識から ${o.incidentMinutes} 分以内に発注者へ報告します。期限を過ぎて未報告のものは赤で表示します。`, en: `Clause 2: an incident is reported to the client within ${o.incidentMinutes} minutes of recognising it. Unreported incidents past the deadline are shown in red.` })}</p>
${o.mailsReports ? '' : html`<div class="alert info" role="note" id="reports-by-hand"><p>${bi(BY_HAND)}</p></div>`}
<p class="pager" id="show">${choice('/review/incidents', !o.openOnly, { ja: 'すべて', en: 'All' })}${choice('/review/incidents?show=open', o.openOnly, { ja: '未報告のみ', en: 'Not reported only' })}</p>
${
  incidents.length === 0
    ? html`<p id="incidents-none">${bi(o.openOnly ? { ja: '未報告のインシデントはありません。', en: 'No unreported incidents.' } : { ja: 'インシデントはまだありません。', en: 'No incidents yet.' })}</p>`
    : html`${incidents.length >= o.limit ? html`<p>${bi({ ja: `新しい順に ${o.limit} 件を表示しています。`, en: `Showing the newest ${o.limit}.` })}</p>` : ''}
<table class="results" id="incident-list"><thead><tr><th>ID</th><th>状態 ${en('Status')}</th><th>認識 ${en('Recognised')}</th><th>期限 ${en('Deadline')}</th><th>きっかけ・登録者 ${en('Trigger, opened by')}</th><th>メール ${en('Message')}</th><th>報告 ${en('Reported')}</th></tr></thead>
<tbody>${incidents.map(
        (i) => html`<tr class="incident" data-incident="${i.id}">
<td class="mono id"><a href="${path(i)}">${i.id}</a></td>
<td>${clockHtml(i, o.clock.status(i), o.clock.now)}</td>
<td class="time">${jst(i.openedAt)}</td>
<td class="time">${jst(i.deadline)}</td>
<td>${TRIGGER_LABELS[i.trigger].ja}${en(TRIGGER_LABELS[i.trigger].en)}<div class="who">${who(i, i.openedBy)}</div></td>
<td>${messageLink(i)}</td>
<td class="time">${reportedBy(i)}</td>
</tr>`,
      )}</tbody></table>`
}`;
}

const HOW: Record<'notified' | 'recorded', Bilingual> = {
  notified: { ja: '通知メールが発注者の窓口に届いた（自動）', en: 'the notification reached the client contact (automatic)' },
  recorded: { ja: '担当者が記録（電話など）', en: 'recorded by a person (phone, in person)' },
};

function notification(i: Incident): SafeHtml {
  if (i.notifiedAt !== undefined) {
    return html`<p id="notified">${bi({ ja: `${jst(i.notifiedAt)} に送信しました。`, en: `Sent at ${jst(i.notifiedAt)}.` })}</p>
<p class="addr" id="notified-to">${(i.notifiedTo ?? []).join(', ')}</p>`;
  }
  if (i.noticeError !== undefined) {
    return html`<div class="alert error" role="alert" id="notice-error"><p>${bi({ ja: '報告を送信できませんでした。電話など別の方法で報告し、下のフォームで記録してください。', en: 'The report could not be sent. Report another way (phone), then record it below.' })}</p><p class="mono">${i.noticeError}</p></div>`;
  }
  if (i.noticeId !== undefined) return html`<p id="notice-queued">${bi({ ja: '送信待ちです（送信キュー）。', en: 'Queued for sending (outbox).' })}</p>`;
  return html`<div class="alert error" role="alert" id="notice-none"><p>${bi({
    ja: '報告は送られていません。このインシデントを登録した時点で発注者の窓口（compliance.clientContact）が設定されていなかったため、outguard は報告を送りませんでした。下の報告の文面を使って電話やメールで発注者の窓口に報告し、下のフォームで報告済みとして記録してください。',
    en: 'No report was sent: no client contact (compliance.clientContact) was configured when this incident was opened, so outguard did not send one. Report it to the client contact yourself (phone, mail) using the report below, then record it with the form below.',
  })}</p></div>`;
}

function reportSection(i: Incident, csrfField: string, username: string): SafeHtml {
  if (i.reportedAt !== undefined) {
    return html`<dl class="summary" id="reported">
<dt>報告日時 ${en('Reported at')}</dt><dd id="reported-at">${jst(i.reportedAt)}</dd>
<dt>報告者 ${en('Reported by')}</dt><dd id="reported-by">${who(i, i.reportedBy)}</dd>
${i.reportedHow ? html`<dt>方法 ${en('How')}</dt><dd>${bi(HOW[i.reportedHow])}</dd>` : ''}
${i.reportNote ? html`<dt>メモ ${en('Note')}</dt><dd id="report-note">${i.reportNote}</dd>` : ''}
</dl>`;
  }
  return html`<form class="incident" method="post" action="${path(i)}/reported" id="record-form">
<input type="hidden" name="csrf" value="${csrfField}">
<p>${bi({ ja: `電話など通知メール以外の方法で発注者に報告したときに記録します。報告者は web:${username} として記録されます。`, en: `Record a report made another way (phone, in person). It is recorded as reported by web:${username}.` })}</p>
<label for="report-note-input">メモ（任意）<span class="en" lang="en">Note (optional)</span></label>
<textarea id="report-note-input" name="note" rows="2" maxlength="${MAX_TEXT}" placeholder="電話で山田様に報告"></textarea>
<button type="submit" class="send" id="record">報告済みとして記録 <span lang="en">(Record as reported)</span></button>
</form>`;
}

export function incidentContent(i: Incident, o: { clock: Clock; reportText: string; csrfField: string; username: string; done?: Bilingual }): SafeHtml {
  // only a report outguard queued went to the client as it stands here; else it is the text to pass on by hand
  const reportHeading: Bilingual = i.noticeId !== undefined ? { ja: '報告の文面', en: 'The report, as sent to the client contact' } : { ja: '報告の文面（発注者の窓口に伝える内容）', en: 'The report, to give the client contact yourself' };
  const trigger = TRIGGER_LABELS[i.trigger];
  const limit = Math.round((i.deadline - i.openedAt) / 60_000);
  return html`<h1>インシデント <span class="mono" id="incident-id">${i.id}</span><span class="en" lang="en">Incident</span></h1>
${o.done ? html`<div class="alert ok" role="status" id="done"><p>${bi(o.done)}</p></div>` : ''}
<section class="card" aria-labelledby="h-clock">
<h2 id="h-clock">状態と期限<span class="en" lang="en">Status and deadline</span></h2>
<dl class="summary">
<dt>状態 ${en('Status')}</dt><dd id="clock">${clockHtml(i, o.clock.status(i), o.clock.now)}</dd>
<dt>認識した日時 ${en('Recognised at')}</dt><dd id="opened-at">${jst(i.openedAt)}</dd>
<dt>報告期限 ${en('Report due by')}</dt><dd id="deadline">${jst(i.deadline)}（認識から ${limit} 分以内）${en(`within ${limit} min of recognition`)}</dd>
<dt>きっかけ ${en('How it was found')}</dt><dd>${bi(trigger)}</dd>
<dt>登録者 ${en('Opened by')}</dt><dd id="opened-by">${who(i, i.openedBy)}</dd>
<dt>概要 ${en('What happened')}</dt><dd id="summary">${i.summary}</dd>
<dt>メール ${en('Message')}</dt><dd>${messageLink(i)}</dd>
</dl>
</section>
<section class="card" aria-labelledby="h-notice">
<h2 id="h-notice">発注者の窓口への通知<span class="en" lang="en">Notification to the client contact</span></h2>
${notification(i)}
</section>
<section class="card" aria-labelledby="h-report">
<h2 id="h-report">報告の記録<span class="en" lang="en">Report</span></h2>
${reportSection(i, o.csrfField, o.username)}
</section>
<section class="card" aria-labelledby="h-report-text">
<h2 id="h-report-text">${reportHeading.ja}<span class="en" lang="en">${reportHeading.en}</span></h2>
<pre class="body" id="report-text">${o.reportText}</pre>
</section>
<p><a href="/review/incidents">← インシデント一覧 <span lang="en">Back to incidents</span></a></p>`;
}

/** The incidents section of a message page: its incidents, and the form that opens one. */
export function messageSection(messageId: string, incidents: Incident[], o: { clock: Clock; csrfField: string; incidentMinutes: number; mailsReports: boolean }): SafeHtml {
  const opening: Bilingual = o.mailsReports
    ? { ja: `登録すると ${o.incidentMinutes} 分の報告期限が始まり、発注者の窓口（compliance.clientContact）に報告がすぐ送られます。`, en: `Opening one starts the ${o.incidentMinutes}-minute clock and sends the report to the client contact (compliance.clientContact) at once.` }
    : {
        ja: `登録すると ${o.incidentMinutes} 分の報告期限が始まります。発注者の窓口（compliance.clientContact）が設定されていないため報告は自動では送られません。インシデントのページの文面で報告し、報告済みとして記録してください。`,
        en: `Opening one starts the ${o.incidentMinutes}-minute clock. No client contact (compliance.clientContact) is configured, so the report is not sent automatically: report it yourself with the text on the incident's page, then record it as reported.`,
      };
  return html`<section class="card" aria-labelledby="h-message-incidents" id="message-incidents">
<h2 id="h-message-incidents">インシデント（遵守事項 第2）<span class="en" lang="en">Incidents (clause 2)</span></h2>
${
  incidents.length === 0
    ? html`<p>${bi({ ja: 'このメールのインシデントはありません。', en: 'No incidents about this message.' })}</p>`
    : html`<ul class="incidents">${incidents.map((i) => html`<li><a class="mono" href="${path(i)}">${i.id}</a> — ${jst(i.openedAt)}${clockHtml(i, o.clock.status(i), o.clock.now)}</li>`)}</ul>`
}
<form class="incident" method="post" action="/review/incidents" id="open-incident">
<input type="hidden" name="csrf" value="${o.csrfField}">
<input type="hidden" name="message" value="${messageId}">
<label for="incident-reason">何が起きたか（必須）<span class="en" lang="en">What happened (required)</span></label>
<textarea id="incident-reason" name="reason" rows="3" required maxlength="${MAX_TEXT}" placeholder="宛先を誤って送信した"></textarea>
<p id="open-incident-note">${bi(opening)}</p>
<button type="submit" class="mistake" id="open-incident-button">インシデントとして報告 <span lang="en">(Open an incident)</span></button>
</form>
</section>`;
}
