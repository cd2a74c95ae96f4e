import { lookalikeText } from '../hold/content.js';
import type { Actor, Hold, HoldRecipient } from '../hold/types.js';
import { ruleName } from '../policy/rule-names.js';
import { findingDetail, findingMessage } from '../policy/verdict.js';
import { PROBLEMS, STATE_TEXT, type WebProblem, deadlineText, remainingText, sizeText, timeText } from './text.js';
import { html, raw, type SafeHtml } from '../render/html.js';
import type { Bilingual } from '../render/bilingual.js';
import { STYLE } from '../render/style.js';
import { bi } from '../render/bilingual.js';
import { htmlDocument } from '../render/document.js';
import type { SenderMistakes } from '../audit/sender-mistakes.js';

/** The pages' style sheet; other pages (the reviewer pages) add theirs after it. */


/** The shell of every page: Japanese first, the page's own nonce for style and script. */
export function layout(title: Bilingual, nonce: string, content: SafeHtml, script?: string): string {
  return htmlDocument({
    title: `${title.ja} / ${title.en}`,
    styles: [STYLE],
    nonce,
    script,
    body: html`<main>
${content}
<footer>outguard — ${bi({ ja: '受託者向け情報セキュリティ遵守事項 第6-1（送信前の確認）', en: 'Security clause 6-1: confirm before sending' })}</footer>
</main>`,
  });
}

export interface ReleaseView {
  token: string;
  hold: Hold;
  actor: Actor;
  bodyText: string;
  csrfField: string;
  now: number;
  /** Shown at the top, e.g. 'confirmation-required' after a POST without all three ticks. */
  problem?: WebProblem;
  /** Boxes the sender had ticked, kept when the page is shown again. */
  ticked?: { recipients: boolean; body: boolean; attachments: boolean };
}

function recipientFlags(r: HoldRecipient): SafeHtml {
  const flags: SafeHtml[] = [];
  if (r.lookalikeOf) {
    const text = lookalikeText(r.lookalikeOf);
    flags.push(html`<span class="flag lookalike">${text.ja} <span lang="en">${text.en}</span></span>`);
  }
  if (r.external) flags.push(html`<span class="flag external">社外 <span lang="en">external</span></span>`);
  else flags.push(html`<span class="flag internal">社内 <span lang="en">internal</span></span>`);
  if (r.firstTimeDomain) flags.push(html`<span class="flag first">初めての宛先ドメイン <span lang="en">first-time domain</span></span>`);
  return html`${flags}`;
}

const SEVERITY: Record<string, Bilingual> = {
  reject: { ja: '拒否', en: 'reject' },
  hold: { ja: '保留', en: 'hold' },
  monitor: { ja: '記録', en: 'monitor' },
};

/** Where the page's forms post: the token, percent-encoded, under /hold/. */
export function holdPath(token: string, action?: 'release' | 'discard'): string {
  return `/hold/${encodeURIComponent(token)}${action ? `/${action}` : ''}`;
}

/** Disables 送信 until all three boxes are ticked (the server checks again; this only helps). */
const CHECKLIST_SCRIPT = `(function(){
var form=document.getElementById('release-form');if(!form)return;
var send=document.getElementById('send');var status=document.getElementById('send-status');
var boxes=form.querySelectorAll('input[type=checkbox]');
var waiting=status.innerHTML;
function update(){var all=true;for(var i=0;i<boxes.length;i++){if(!boxes[i].checked)all=false;}
send.disabled=!all;
if(all){status.textContent='';var ja=document.createTextNode('3項目すべて確認済みです。送信できます。');var en=document.createElement('span');en.className='en';en.lang='en';en.textContent='All three confirmed: you can send.';status.appendChild(ja);status.appendChild(en);}
else{status.innerHTML=waiting;}}
for(var i=0;i<boxes.length;i++)boxes[i].addEventListener('change',update);
update();})();`;

export function releasePage(view: ReleaseView, nonce: string): string {
  const { hold, actor, token } = view;
  const deadline = timeText(hold.deadline);
  const remaining = remainingText(hold.deadline, view.now);
  const problem = view.problem ? PROBLEMS[view.problem] : undefined;
  const ticked = view.ticked ?? { recipients: false, body: false, attachments: false };
  const hasAttachments = hold.attachments.length > 0;
  const sender = hold.envelope.from === '' ? '<>' : hold.envelope.from;

  const content = html`
<header>
<h1>送信前の確認<span class="en" lang="en">Confirm before sending</span></h1>
<p>${bi({
    ja: 'このメールは送信前の確認のため、ゲートウェイで保留されています。宛先・本文・添付ファイルを確認してから、送信または破棄してください。',
    en: 'This message is held at the gateway so that it can be checked before it leaves. Check the recipients, the body and the attachments, then send or discard it.',
  })}</p>
${
  actor.role === 'approver'
    ? html`<p class="alert info">${bi({
        ja: `あなた（${actor.address}）は承認者（上長承認）として、このメールの送信可否の判断を依頼されています。`,
        en: `You (${actor.address}) are asked, as approver, to decide whether this message may be sent.`,
      })}</p>`
    : ''
}
</header>
${problem ? html`<div class="alert error" role="alert" id="problem"><strong>${bi(problem.title)}</strong><p>${bi(problem.text)}</p></div>` : ''}

<section class="card" aria-labelledby="h-summary">
<h2 id="h-summary">概要<span class="en" lang="en">Summary</span></h2>
<dl class="summary">
<dt>件名 <span class="en" lang="en">Subject</span></dt><dd id="subject">${hold.subject === '' ? html`<em>（件名なし）<span class="en" lang="en">(no subject)</span></em>` : hold.subject}</dd>
<dt>差出人 <span class="en" lang="en">Sender</span></dt><dd class="addr" id="sender">${sender}</dd>
<dt>宛先数 <span class="en" lang="en">Recipients</span></dt><dd>${hold.recipients.length}（社外 ${hold.recipients.filter((r) => r.external).length}）<span class="en" lang="en">${hold.recipients.length} (${hold.recipients.filter((r) => r.external).length} external)</span></dd>
<dt>期限 <span class="en" lang="en">Deadline</span></dt><dd><span class="deadline"><time datetime="${new Date(hold.deadline).toISOString()}">${deadline.ja}</time>、${remaining.ja}</span><span class="en" lang="en">${deadline.en} (${remaining.en})</span><p>${bi(deadlineText(hold.onDeadline))}</p></dd>
<dt>状態 <span class="en" lang="en">State</span></dt><dd>${STATE_TEXT[hold.state].ja} <span class="en" lang="en">${STATE_TEXT[hold.state].en}</span></dd>
<dt>保留 ID <span class="en" lang="en">Hold ID</span></dt><dd class="mono">${hold.id}</dd>
</dl>
</section>

<section class="card" aria-labelledby="h-recipients">
<h2 id="h-recipients">宛先<span class="en" lang="en">Recipients</span></h2>
<table id="recipients" class="fixed stack">
<colgroup><col class="num"><col class="address"><col></colgroup>
<thead><tr><th>#</th><th>アドレス <span class="en" lang="en">Address</span></th><th>注意点 <span class="en" lang="en">Flags</span></th></tr></thead>
<tbody>
${hold.recipients.map((r, i) => html`<tr><td class="num">${i + 1}</td><td class="addr">${r.address}</td><td>${recipientFlags(r)}</td></tr>`)}
</tbody>
</table>
</section>

<section class="card" aria-labelledby="h-findings">
<h2 id="h-findings">検出事項<span class="en" lang="en">Findings</span></h2>
${
  hold.findings.length === 0
    ? html`<p>${bi({ ja: '検出事項はありません。', en: 'No findings.' })}</p>`
    : html`<table id="findings" class="fixed stack">
<colgroup><col class="rule"><col class="clause"><col></colgroup>
<thead><tr><th>ルール <span class="en" lang="en">Rule</span></th><th>条項 <span class="en" lang="en">Clause</span></th><th>内容 <span class="en" lang="en">What was found</span></th></tr></thead>
<tbody>
${hold.findings.map((f) => {
  const detail = findingDetail(f);
  return html`<tr><td><div class="rule-name">${bi(ruleName(f.rule))}</div><span class="sev-${f.severity}">${SEVERITY[f.severity]?.ja ?? f.severity} <span lang="en">${SEVERITY[f.severity]?.en ?? ''}</span></span></td><td>${f.clause}</td><td><div class="finding-message">${bi(findingMessage(f))}</div>${f.value ? html`<div class="mono">${f.value}</div>` : ''}${detail ? html`<div class="finding-detail">${bi(detail)}</div>` : ''}</td></tr>`;
})}
</tbody>
</table>`
}
</section>

<section class="card" aria-labelledby="h-attachments">
<h2 id="h-attachments">添付ファイル<span class="en" lang="en">Attachments</span></h2>
${
  hasAttachments
    ? html`<table id="attachments" class="fixed stack">
<colgroup><col><col class="size"><col class="hash"></colgroup>
<thead><tr><th>ファイル名 <span class="en" lang="en">File name</span></th><th>サイズ <span class="en" lang="en">Size</span></th><th>SHA-256</th></tr></thead>
<tbody>
${hold.attachments.map((a) => html`<tr><td class="filename">${a.name}</td><td data-label="サイズ / Size">${sizeText(a.size)}</td><td class="hash" data-label="SHA-256">${a.sha256}</td></tr>`)}
</tbody>
</table>`
    : html`<p id="attachments">${bi({ ja: '添付ファイルはありません。', en: 'No attachments.' })}</p>`
}
</section>

<section class="card" aria-labelledby="h-body">
<h2 id="h-body">本文<span class="en" lang="en">Body</span></h2>
${view.bodyText === '' ? html`<p>${bi({ ja: '（本文なし）', en: '(no text body)' })}</p>` : html`<pre class="body" id="body">${view.bodyText}</pre>`}
</section>

<section class="card" aria-labelledby="h-decide">
<h2 id="h-decide">確認と送信<span class="en" lang="en">Confirm and send</span></h2>
<form id="release-form" method="post" action="${holdPath(token, 'release')}">
<input type="hidden" name="csrf" value="${view.csrfField}">
<fieldset class="checklist">
<legend>確認項目 <span class="en" lang="en">Checklist</span></legend>
<label><input type="checkbox" name="confirm_recipients" value="1" required${ticked.recipients ? raw(' checked') : ''}><span>宛先を確認した<span class="en" lang="en">I checked the recipients</span></span></label>
<label><input type="checkbox" name="confirm_body" value="1" required${ticked.body ? raw(' checked') : ''}><span>本文を確認した<span class="en" lang="en">I checked the body</span></span></label>
<label><input type="checkbox" name="confirm_attachments" value="1" required${ticked.attachments ? raw(' checked') : ''}><span>${
    hasAttachments
      ? html`添付ファイルの中身を確認した<span class="en" lang="en">I checked the contents of the attachments</span>`
      : html`添付ファイルの中身を確認した（添付ファイルがないことを確認した）<span class="en" lang="en">I checked the attachments (there are none)</span>`
  }</span></label>
</fieldset>
<div class="actions">
<button type="submit" class="send" id="send">送信 <span lang="en">(Send)</span></button>
</div>
<p class="status" id="send-status" aria-live="polite">${bi({ ja: '3つの確認項目すべてにチェックを入れると送信できます。', en: 'Tick all three items to enable Send.' })}</p>
</form>
</section>

<section class="card" aria-labelledby="h-discard">
<h2 id="h-discard">送信しない場合<span class="en" lang="en">If it should not be sent</span></h2>
<form id="discard-form" method="post" action="${holdPath(token, 'discard')}">
<input type="hidden" name="csrf" value="${view.csrfField}">
<p>${bi({
    ja: '「破棄」はこのメールを送信せずに削除します。宛先や内容の誤りに気付いた場合は「間違いだった」を押してください。次の画面で、何が記録されるかを確かめてから破棄します。',
    en: '"Discard" deletes the message without sending it. If you noticed a wrong recipient or content, press "This was a mistake": the next page says what will be recorded, and you confirm there.',
  })}</p>
<div class="actions">
<button type="submit" class="discard" id="discard">破棄 <span lang="en">(Discard)</span></button>
<button type="submit" class="mistake" id="mistake" name="mistake" value="1">間違いだった <span lang="en">(This was a mistake)</span></button>
</div>
</form>
</section>
`;
  return layout({ ja: '送信前の確認', en: 'Confirm before sending' }, nonce, content, CHECKLIST_SCRIPT);
}

export type Outcome = 'released' | 'discarded' | 'mistake';

const OUTCOME: Record<Outcome, { title: Bilingual; text: Bilingual }> = {
  released: {
    title: { ja: '送信しました', en: 'Sent' },
    text: {
      ja: 'このメールを送信キューに渡しました。通常のメールと同じ処理（添付ファイルの暗号化 ZIP 化など）を経て、順次配送されます。',
      en: 'The message was handed to the outbound queue. It goes through the same processing as direct mail (such as encrypted ZIP attachments) and is delivered shortly.',
    },
  },
  discarded: {
    title: { ja: '破棄しました', en: 'Discarded' },
    text: { ja: 'このメールは送信されません。', en: 'The message will not be sent.' },
  },
  mistake: {
    title: { ja: '破棄しました（間違いとして記録しました）', en: 'Discarded — recorded as a mistake' },
    text: {
      ja: 'このメールは送信されません。送信前に誤りに気付いたことを監査ログに記録しました。',
      en: 'The message will not be sent. The audit log records that you caught a mistake before it was sent.',
    },
  },
};

/** Whether a reported mistake becomes an incident and reaches the client (compliance.reportSenderMistakes), as the sender reads it. */
function mistakeReportText(reports: SenderMistakes, done: boolean): Bilingual {
  if (!reports.incident) {
    return {
      ja: '送信されていないため、インシデントとしては扱いません。発注者への報告も行いません。',
      en: 'As nothing was sent, it is not treated as an incident, and the client is not told.',
    };
  }
  const opened: Bilingual = done
    ? { ja: 'インシデントとして登録しました（遵守事項 第2、報告期限の計測を開始）。', en: 'An incident was opened (security clause 2; its reporting clock is running).' }
    : { ja: 'インシデントとして登録され、報告期限の計測が始まります（遵守事項 第2）。', en: 'An incident is opened and its reporting clock starts (security clause 2).' };
  const told: Bilingual = reports.clientNotice
    ? { ja: '発注者の窓口へ報告メールが自動で送られます。', en: 'A report is mailed to the client contact automatically.' }
    : { ja: '発注者への報告は担当者が行います（自動の報告メールは送られません）。', en: 'The compliance staff report it to the client (no report is mailed automatically).' };
  return { ja: `${opened.ja}${told.ja}`, en: `${opened.en} ${told.en}` };
}

/** The hold's subject, recipients and id, on the pages that follow the release page. */
function holdSummary(hold: Hold): SafeHtml {
  return html`<section class="card">
<dl class="summary">
<dt>件名 <span class="en" lang="en">Subject</span></dt><dd>${hold.subject}</dd>
<dt>宛先 <span class="en" lang="en">Recipients</span></dt><dd class="addr">${hold.recipients.map((r, i) => html`${i > 0 ? html`<br>` : ''}${r.address}`)}</dd>
<dt>保留 ID <span class="en" lang="en">Hold ID</span></dt><dd class="mono">${hold.id}</dd>
</dl>
</section>`;
}

export interface MistakeView {
  token: string;
  hold: Hold;
  csrfField: string;
  reports: SenderMistakes;
}

/** 間違いだった, second step: what will happen, then the button that does it, or the way back. Works without script. */
export function mistakePage(view: MistakeView, nonce: string): string {
  const title: Bilingual = { ja: '間違いとして破棄しますか？', en: 'Discard this message as a mistake?' };
  const content = html`
<h1>${bi(title)}</h1>
<div class="alert info" id="mistake-what">
<p><strong>${bi({ ja: '「間違いとして破棄する」を押すと：', en: 'When you press "Discard as a mistake":' })}</strong></p>
<ul>
<li>${bi({ ja: 'このメールは送信されずに破棄されます。元には戻せません。', en: 'The message is discarded and never sent. This cannot be undone.' })}</li>
<li>${bi({ ja: '送信前に誤りに気付いたことを監査ログに記録します。', en: 'The audit log records that you caught a mistake before sending.' })}</li>
<li id="mistake-report">${bi(mistakeReportText(view.reports, false))}</li>
<li>${bi({ ja: '破棄したことを知らせるメールが差出人に届きます。', en: 'The sender gets a notice that the message was discarded.' })}</li>
</ul>
</div>
${holdSummary(view.hold)}
<form id="mistake-form" method="post" action="${holdPath(view.token, 'discard')}">
<input type="hidden" name="csrf" value="${view.csrfField}">
<input type="hidden" name="mistake" value="1">
<input type="hidden" name="confirm" value="1">
<div class="actions">
<button type="submit" class="mistake" id="confirm-mistake">間違いとして破棄する <span lang="en">(Discard as a mistake)</span></button>
<a href="${holdPath(view.token)}" id="back">← 戻る（破棄しない） <span lang="en">Back, do not discard</span></a>
</div>
</form>
`;
  return layout(title, nonce, content);
}

export function resultPage(outcome: Outcome, hold: Hold, nonce: string, reports: SenderMistakes): string {
  const o = OUTCOME[outcome];
  const content = html`
<h1>${bi(o.title)}</h1>
<div class="alert ok" role="status" id="result"><p>${bi(o.text)}</p>${outcome === 'mistake' ? html`<p id="mistake-report">${bi(mistakeReportText(reports, true))}</p>` : ''}</div>
${holdSummary(hold)}
<p>${bi({ ja: 'このページは閉じて構いません。', en: 'You can close this page.' })}</p>
`;
  return layout(o.title, nonce, content);
}

/** A clear page for a link or request that did not work: what happened, Japanese then English, never a stack trace. */
export function problemPage(problem: WebProblem, nonce: string, hold?: Hold): string {
  const p = PROBLEMS[problem];
  const state =
    problem === 'not-held' && hold
      ? html`<p>${bi({ ja: `現在の状態：${STATE_TEXT[hold.state].ja}`, en: `Current state: ${STATE_TEXT[hold.state].en}` })}</p>`
      : '';
  const erased = hold?.bodyErased ? erasedText(hold.bodyErased) : undefined;
  const content = html`
<h1>${bi(p.title)}</h1>
<div class="alert error" role="alert" id="problem" data-problem="${problem}"><p>${bi(p.text)}</p>${state}${erased ? html`<p id="body-erased">${bi(erased)}</p>` : ''}</div>
<p class="en">HTTP ${p.status}</p>
`;
  return layout(p.title, nonce, content);
}

/** Retention (retention.bodyDays): the message was erased some days after the decision. */
function erasedText(erased: { at: number; days: number }): Bilingual {
  const at = timeText(erased.at);
  return {
    ja: `このメールの本文と添付ファイルは、保存期間（判断から ${erased.days} 日）を過ぎたため ${at.ja} に消去されました。`,
    en: `Its body and attachments were erased on ${at.en}, ${erased.days} days after the decision (retention period).`,
  };
}
