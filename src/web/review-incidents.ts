import type { Incident, IncidentActions, IncidentProblem } from '../audit/incident-types.js';
import { redirect } from './http.js';
import { clockScript } from './review-incident-clock.js';
import { type Clock, MAX_TEXT, incidentContent, listContent, messageSection } from './review-incident-view.js';
import type { MessageSection } from './review-message.js';
import { type ReviewContext, ReviewError, type ReviewRoute } from './review-router.js';
import type { Bilingual } from '../render/bilingual.js';

export interface IncidentPagesOptions {
  incidents: IncidentActions;
  /** compliance.incidentMinutes, for the words around the clock. */
  incidentMinutes: number;
  now: () => number;
}

/** The most incidents the list shows, newest first. */
const LIST_LIMIT = 500;

const DONE: Record<string, Bilingual> = {
  opened: { ja: 'インシデントを登録しました。報告期限の計測を始めました。', en: 'The incident was opened; its clock is running.' },
  reported: { ja: '報告済みとして記録しました。', en: 'Recorded as reported.' },
};

const INCIDENT_PATH = /^\/review\/incidents\/([^/]+)$/;
const REPORTED_PATH = /^\/review\/incidents\/([^/]+)\/reported$/;

const bad = (ja: string, en: string) => new ReviewError(400, { ja: '入力が正しくありません', en: 'Invalid input' }, { ja, en });

function noIncident(): ReviewError {
  return new ReviewError(404, { ja: 'インシデントが見つかりません', en: 'No such incident' }, { ja: 'この ID のインシデントはありません。', en: 'There is no incident with this id.' });
}

/** The service's refusal as a page: what went wrong, and that nothing changed. */
function refused(problem: IncidentProblem, detail: string): ReviewError {
  switch (problem) {
    case 'unknown-incident':
      return noIncident();
    case 'unknown-message':
      return new ReviewError(404, { ja: 'メールが見つかりません', en: 'No such message' }, { ja: 'この ID のメールの記録はありません。インシデントは登録されていません。', en: 'There is no record of a message with this id. No incident was opened.' });
    case 'already-reported':
      return new ReviewError(409, { ja: '既に報告済みです', en: 'Already reported' }, { ja: `このインシデントは既に報告済みとして記録されています。何も変更されていません。（${detail}）`, en: `This incident was already recorded as reported. Nothing was changed. (${detail})` });
    case 'invalid':
      return bad('入力が足りません。何も変更されていません。', `Incomplete input: ${detail}. Nothing was changed.`);
  }
}

/** One moment for the whole page, so every clock on it agrees. */
function clockOf(o: IncidentPagesOptions): Clock {
  const now = o.now();
  return { now, status: (i: Incident) => o.incidents.status(i, now) };
}

/** A form's text field, trimmed, at most MAX_TEXT characters. */
function text(ctx: ReviewContext, name: string, label: Bilingual): string {
  const value = (ctx.form.get(name) ?? '').trim();
  if (value.length > MAX_TEXT) throw bad(`${label.ja}が長すぎます（${MAX_TEXT} 文字まで）。何も変更されていません。`, `The ${label.en} is too long (at most ${MAX_TEXT} characters). Nothing was changed.`);
  return value;
}

/**
 * The incident pages (遵守事項 第2): GET /review/incidents (newest first; ?show=open for the
 * unreported ones), GET /review/incidents/:id (status, 60-minute clock, notification, the
 * prefilled report), POST /review/incidents (open one about a message, from its page) and POST
 * /review/incidents/:id/reported (record a report made another way). Both roles may do all of
 * it: reporting is the compliance staff's job; only releasing and discarding mail is for admins.
 */
export function incidentRoutes(o: IncidentPagesOptions): ReviewRoute[] {
  const clock = () => clockOf(o);
  return [
    {
      method: 'GET',
      path: /^\/review\/incidents\/?$/,
      async handle(ctx) {
        const show = ctx.url.searchParams.get('show') ?? 'all';
        if (show !== 'all' && show !== 'open') throw bad(`表示の指定「${show}」が正しくありません（all または open）。`, `show must be all or open, got "${show}".`);
        const openOnly = show === 'open';
        const c = clock();
        const incidents = await o.incidents.list({ ...(openOnly ? { open: true } : {}), limit: LIST_LIMIT });
        ctx.send(200, { ja: 'インシデント', en: 'Incidents' }, listContent(incidents, { openOnly, limit: LIST_LIMIT, clock: c, incidentMinutes: o.incidentMinutes, mailsReports: o.incidents.mailsReports }), {
          current: '/review/incidents',
          script: clockScript(c.now),
        });
      },
    },
    {
      method: 'POST',
      path: /^\/review\/incidents\/?$/,
      async handle(ctx) {
        const messageId = text(ctx, 'message', { ja: 'メールの ID', en: 'message id' });
        const reason = text(ctx, 'reason', { ja: '何が起きたか', en: 'reason' });
        if (messageId === '') throw bad('どのメールのインシデントかが指定されていません。メールの記録のページから登録してください。', 'No message was given. Open the incident from the message page.');
        if (reason === '') throw bad('何が起きたかを入力してください。インシデントは登録されていません。', 'Say what happened. No incident was opened.');
        const done = await o.incidents.open({ messageId, reason, by: `web:${ctx.user!.username}` });
        if ('problem' in done) throw refused(done.problem, done.detail);
        redirect(ctx.res, `/review/incidents/${encodeURIComponent(done.incident.id)}?done=opened`);
      },
    },
    {
      method: 'GET',
      path: INCIDENT_PATH,
      async handle(ctx) {
        const incident = await o.incidents.get(ctx.params[0]!);
        if (!incident) throw noIncident();
        const doneKey = ctx.url.searchParams.get('done') ?? '';
        const done = Object.hasOwn(DONE, doneKey) ? DONE[doneKey] : undefined;
        const c = clock();
        const content = incidentContent(incident, { clock: c, reportText: o.incidents.reportText(incident), csrfField: ctx.csrfField(), username: ctx.user!.username, ...(done ? { done } : {}) });
        ctx.send(200, { ja: `インシデント ${incident.id}`, en: `Incident ${incident.id}` }, content, { current: '/review/incidents', script: clockScript(c.now) });
      },
    },
    {
      method: 'POST',
      path: REPORTED_PATH,
      async handle(ctx) {
        const id = ctx.params[0]!;
        const note = text(ctx, 'note', { ja: 'メモ', en: 'note' });
        const done = await o.incidents.markReported(id, `web:${ctx.user!.username}`, note || undefined);
        if ('problem' in done) throw refused(done.problem, done.detail);
        redirect(ctx.res, `/review/incidents/${encodeURIComponent(id)}?done=reported`);
      },
    },
  ];
}

/** The section on every message page: the message's incidents and the form that opens one. */
export function incidentSection(o: IncidentPagesOptions): MessageSection {
  return async (ctx, messageId) => {
    const incidents = await o.incidents.list({ messageId });
    return messageSection(messageId, incidents, { clock: clockOf(o), csrfField: ctx.csrfField(), incidentMinutes: o.incidentMinutes, mailsReports: o.incidents.mailsReports });
  };
}
