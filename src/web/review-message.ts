import type { AuditStore } from '../audit/audit-store.js';
import type { AuditAttachment, AuditEvent } from '../audit/events.js';
import type { Hold, HoldAdmin } from '../hold/types.js';
import { actorName } from '../audit/actor-names.js';
import type { RuleMessage } from '../policy/rule-messages.js';
import { ruleName } from '../policy/rule-names.js';
import { findingDetail, findingMessage } from '../policy/verdict.js';
import { redirect } from './http.js';
import { type ReviewContext, ReviewError, type ReviewRoute } from './review-router.js';
import { jstAndUtc } from './review-text.js';
import type { SessionUser } from './session.js';
import { STATE_TEXT, sizeText, timeText } from './text.js';
import { html, type SafeHtml } from '../render/html.js';
import { bi, type Bilingual, named } from '../render/bilingual.js';
import { eventType } from '../audit/event-names.js';
import { PROBLEMS } from './text.js';

/** A section another part adds to the message page (incidents): its HTML for this message. */
export type MessageSection = (ctx: ReviewContext, messageId: string) => Promise<SafeHtml>;

export interface MessageOptions {
  store: Pick<AuditStore, 'list'>;
  /** Holds by id; without it the page shows no hold state and no buttons. */
  holds?: HoldAdmin;
  /** The policy's text for a rule id, when it is still in the policy. */
  ruleText?: (id: string) => RuleMessage | undefined;
  /** Sections other parts add below the summary (the incidents section), in order. */
  sections?: MessageSection[];
}

const ONLY_ADMINS: Bilingual = {
  ja: '保留中のメールを送信・破棄できるのは管理者（admin）だけです。監査担当者（reviewer）は閲覧のみできます。何も変更されていません。',
  en: 'Only admins may release or discard held mail. Reviewers can read, not change. Nothing was changed.',
};

const DONE: Record<string, Bilingual> = {
  released: { ja: '保留を解除し、送信キューに渡しました。', en: 'Released: the message was handed to the outbound queue.' },
  discarded: { ja: '保留中のメールを破棄しました。送信されません。', en: 'Discarded: the message will not be sent.' },
};

const MESSAGE_PATH = /^\/review\/message\/([^/]+)$/;
const ACTION_PATH = /^\/review\/message\/([^/]+)\/(release|discard)$/;

/**
 * GET /review/message/:id: one message — sender, recipients, subject, attachments with SHA-256,
 * the rules and clauses with their reasons, and its timeline (every audit event with its id).
 * POST …/release and …/discard: admins decide a held message (recorded as `web:<username>`);
 * the router refuses reviewers with 403 before anything happens.
 */
export function messageRoutes(o: MessageOptions): ReviewRoute[] {
  const decide = (action: 'release' | 'discard'): ReviewRoute => ({
    method: 'POST',
    path: new RegExp(ACTION_PATH.source.replace('(release|discard)', action)),
    access: 'admin',
    forbidden: ONLY_ADMINS,
    async handle(ctx) {
      const id = ctx.params[0]!;
      if (!o.holds) throw notHeld();
      const actor = `web:${ctx.user!.username}`;
      const done = action === 'release' ? await o.holds.releaseById(id, actor) : await o.holds.discardById(id, actor);
      if ('problem' in done) throw done.problem === 'unknown' ? notFound() : done.problem === 'damaged' ? damaged() : notHeld();
      redirect(ctx.res, `/review/message/${encodeURIComponent(id)}?done=${action === 'release' ? 'released' : 'discarded'}`);
    },
  });
  return [
    {
      method: 'GET',
      path: MESSAGE_PATH,
      async handle(ctx) {
        const id = ctx.params[0]!;
        const [events, hold] = await Promise.all([o.store.list({ messageId: id }), o.holds?.get(id) ?? null]);
        if (events.length === 0 && !hold) throw notFound();
        const extras = await Promise.all((o.sections ?? []).map((section) => section(ctx, id)));
        const doneKey = ctx.url.searchParams.get('done') ?? '';
        const done = Object.hasOwn(DONE, doneKey) ? DONE[doneKey] : undefined;
        const content = messageContent({ id, events, hold, user: ctx.user!, csrfField: ctx.csrfField(), ruleText: o.ruleText, extras, ...(done ? { done } : {}) });
        ctx.send(200, { ja: 'メールの記録', en: 'Message record' }, content, { current: '/review/search' });
      },
    },
    decide('release'),
    decide('discard'),
  ];
}

function notFound(): ReviewError {
  return new ReviewError(404, { ja: 'メールが見つかりません', en: 'No such message' }, { ja: 'この ID のメールの記録はありません。', en: 'There is no record of a message with this id.' });
}

function notHeld(): ReviewError {
  return new ReviewError(409, { ja: 'このメールは保留中ではありません', en: 'This message is not held' }, { ja: '既に送信・破棄されたか、期限切れになっています。何も変更されていません。', en: 'It was already released, discarded or expired. Nothing was changed.' });
}

function damaged(): ReviewError {
  const { title, text } = PROBLEMS.damaged;
  return new ReviewError(PROBLEMS.damaged.status, title, text);
}

interface MessageView {
  id: string;
  events: AuditEvent[];
  hold: Hold | null;
  user: SessionUser;
  csrfField: string;
  ruleText: MessageOptions['ruleText'];
  extras: SafeHtml[];
  done?: Bilingual;
}

/** Each value once, in the order first seen. */
const unique = <T>(items: Iterable<T>, key: (t: T) => string = String): T[] => [...new Map([...items].map((t) => [key(t), t] as const)).values()];

function messageContent(v: MessageView): SafeHtml {
  const withSender = v.events.find((e) => e.sender !== undefined);
  const sender = v.hold?.envelope.from ?? withSender?.sender;
  const recipients = v.hold ? v.hold.recipients.map((r) => r.address) : unique(v.events.flatMap((e) => e.recipients ?? []));
  const subject = v.hold?.subject ?? v.events.find((e) => e.subject !== undefined)?.subject;
  const attachments: (AuditAttachment & { size?: number })[] = v.hold?.attachments ?? unique(v.events.flatMap((e) => e.attachments ?? []), (a) => `${a.name}\0${a.sha256}`);
  const rules = unique([...(v.hold?.findings.map((f) => f.rule) ?? []), ...v.events.flatMap((e) => e.rules ?? [])]);
  const clauses = unique([...(v.hold?.findings.map((f) => f.clause) ?? []), ...v.events.flatMap((e) => e.clauses ?? [])].filter((c) => c !== ''));

  const actor = (id: string | undefined) => (id === undefined ? '' : named(actorName(id, { sender, approvers: v.hold?.approvers }), id));
  const ruleRow = (rule: string) => {
    const finding = v.hold?.findings.find((f) => f.rule === rule);
    const policy = v.ruleText?.(rule);
    const reason = finding ? findingMessage(finding) : policy;
    const clause = finding?.clause ?? policy?.clause ?? '';
    const detail = finding && findingDetail(finding);
    return html`<tr><td>${named(ruleName(rule), rule)}</td><td>${clause}</td><td>${reason ? html`${reason.ja}${reason.en ? html`<span class="en" lang="en">${reason.en}</span>` : ''}` : html`<span class="en">—</span>`}${finding?.value ? html`<div class="mono">${finding.value}</div>` : ''}${detail ? html`<div>${bi(detail)}</div>` : ''}</td></tr>`;
  };

  return html`<h1>メールの記録<span class="en" lang="en">Message record</span></h1>
${v.done ? html`<div class="alert ok" role="status" id="done"><p>${bi(v.done)}</p></div>` : ''}
<section class="card" aria-labelledby="h-summary">
<h2 id="h-summary">概要<span class="en" lang="en">Summary</span></h2>
<dl class="summary">
<dt>ID</dt><dd class="mono" id="message-id">${v.id}</dd>
<dt>差出人 <span class="en" lang="en">Sender</span></dt><dd class="addr" id="sender">${sender === '' ? '<>' : (sender ?? '—')}</dd>
<dt>宛先 <span class="en" lang="en">Recipients</span></dt><dd class="addr" id="recipients">${recipients.length === 0 ? '—' : recipients.map((r, i) => html`${i > 0 ? html`<br>` : ''}${r}`)}</dd>
<dt>件名 <span class="en" lang="en">Subject</span></dt><dd id="subject">${subject ?? '—'}</dd>
<dt>条項 <span class="en" lang="en">Clauses</span></dt><dd id="clauses">${clauses.length === 0 ? '—' : clauses.join('、')}</dd>
</dl>
</section>
${v.hold ? holdSection(v.hold, v.user, v.csrfField, actor) : ''}
<section class="card" aria-labelledby="h-rules">
<h2 id="h-rules">ルールと条項<span class="en" lang="en">Rules and clauses</span></h2>
${
  rules.length === 0
    ? html`<p>${bi({ ja: 'ルールの検出はありません。', en: 'No rule found anything.' })}</p>`
    : html`<table id="rules" class="fixed"><colgroup><col class="rule"><col class="clause"><col></colgroup><thead><tr><th>ルール <span class="en" lang="en">Rule</span></th><th>条項 <span class="en" lang="en">Clause</span></th><th>理由 <span class="en" lang="en">Reason</span></th></tr></thead>
<tbody>${rules.map(ruleRow)}</tbody></table>`
}
</section>
<section class="card" aria-labelledby="h-attachments">
<h2 id="h-attachments">添付ファイル<span class="en" lang="en">Attachments</span></h2>
${
  attachments.length === 0
    ? html`<p id="attachments">${bi({ ja: '記録された添付ファイルはありません。', en: 'No attachments recorded.' })}</p>`
    : html`<table id="attachments" class="fixed"><colgroup><col><col class="size"><col class="hash"></colgroup><thead><tr><th>ファイル名 <span class="en" lang="en">File name</span></th><th>サイズ <span class="en" lang="en">Size</span></th><th>SHA-256</th></tr></thead>
<tbody>${attachments.map((a) => html`<tr><td class="filename">${a.name}</td><td>${a.size !== undefined ? sizeText(a.size) : '—'}</td><td class="hash">${a.sha256}</td></tr>`)}</tbody></table>`
}
</section>
<section class="card" aria-labelledby="h-timeline">
<h2 id="h-timeline">経過<span class="en" lang="en">Timeline</span></h2>
${
  v.events.length === 0
    ? html`<p>${bi({ ja: 'このメールの監査記録はまだありません。', en: 'No audit events for this message yet.' })}</p>`
    : html`<table id="timeline"><thead><tr><th>#</th><th>日時 <span class="en" lang="en">Time</span></th><th>種別 <span class="en" lang="en">Type</span></th><th>処理 <span class="en" lang="en">Action</span></th><th>操作者 <span class="en" lang="en">Actor</span></th><th>詳細 <span class="en" lang="en">Detail</span></th></tr></thead>
<tbody>${v.events.map((e) => {
        const t = jstAndUtc(e.time);
        const type = eventType(e.type);
        return html`<tr data-type="${e.type}"><td>${e.seq}</td><td class="time">${t.jst}<span class="utc">${t.utc}</span></td><td><span class="type ${e.type}">${type.ja}</span><span class="en" lang="en">${type.en}</span></td><td>${e.action}</td><td>${actor(e.actor)}</td><td>${e.detail}</td></tr>`;
      })}</tbody></table>`
}
</section>
<div id="message-extras">${v.extras}</div>
<p><a href="/review/search">← 検索に戻る <span lang="en">Back to search</span></a></p>`;
}

function holdSection(hold: Hold, user: SessionUser, csrfField: string, actor: (id: string) => SafeHtml | string): SafeHtml {
  const state = STATE_TEXT[hold.state];
  const deadline = timeText(hold.deadline);
  const path = `/review/message/${encodeURIComponent(hold.id)}`;
  const decided =
    hold.decidedBy !== undefined && hold.decidedAt !== undefined
      ? html`<dt>判断 <span class="en" lang="en">Decided</span></dt><dd>${jstAndUtc(hold.decidedAt).jst} — ${actor(hold.decidedBy)}${hold.mistake ? html`（${bi({ ja: '送信者が間違いと申告', en: 'the sender reported a mistake' })}）` : ''}</dd>`
      : '';
  let actions: SafeHtml | string = '';
  if (hold.state === 'held') {
    actions =
      user.role === 'admin'
        ? html`<div class="actions">
<form method="post" action="${path}/release"><input type="hidden" name="csrf" value="${csrfField}"><button type="submit" class="send" id="release">送信（保留解除） <span lang="en">(Release)</span></button></form>
<form method="post" action="${path}/discard"><input type="hidden" name="csrf" value="${csrfField}"><button type="submit" class="discard" id="discard">破棄 <span lang="en">(Discard)</span></button></form>
</div>`
        : html`<p id="admins-only">${bi({ ja: '保留中のメールの送信・破棄は管理者（admin）だけが行えます。', en: 'Only admins may release or discard held mail.' })}</p>`;
  }
  return html`<section class="card" aria-labelledby="h-hold" id="hold">
<h2 id="h-hold">確認保留<span class="en" lang="en">Confirmation hold</span></h2>
<dl class="summary">
<dt>状態 <span class="en" lang="en">State</span></dt><dd id="hold-state" data-state="${hold.state}">${state.ja}<span class="en" lang="en">${state.en}</span></dd>
<dt>期限 <span class="en" lang="en">Deadline</span></dt><dd>${deadline.ja}<span class="en" lang="en">${deadline.en}</span></dd>
${decided}
</dl>
${actions}
</section>`;
}
