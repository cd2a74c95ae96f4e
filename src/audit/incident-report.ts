import { NOTICE_HEADER, REF_HEADER, formatTime } from '../hold/notices.js';
import { composeNotice } from '../message/compose.js';
import { oneLine } from '../message/one-line.js';
import { ruleName } from '../policy/rule-names.js';
import { actorName } from './actor-names.js';
import { jstStamp } from '../util/japan-time.js';
import { type Incident, type IncidentTrigger, type MessageState, type PasswordState, STATUS_LABELS, incidentStatus } from './incident-types.js';

/**
 * The prefilled incident report (遵守事項 第2), Japanese first, then English: what happened, when
 * it was recognised, the deadline, the message (sender, recipients, subject, attachment names and
 * SHA-256, rules and clauses, whether it and its password went out), who opened it, and its
 * incident number to quote. The same text goes to the client's contact and is printed by
 * `outguard incident show`. It never holds a body or a password, nor a link to the reviewer
 * pages (the client cannot open them).
 */

export interface ReportFormat {
  /** Whether outguard mails this report to the client's contact (else a person passes it on); default: whether it queued the incident's report. */
  mailed?: boolean;
  /** Time zone of the Japanese times. Default Asia/Tokyo. */
  timeZone?: string;
}

export const INCIDENT_HEADER = 'X-Outguard-Incident';

export const TRIGGER_LABELS: Record<IncidentTrigger, { ja: string; en: string }> = {
  manual: { ja: '担当者が登録', en: 'opened by a person' },
  mistake: { ja: '送信者が送信前の確認画面で「間違いだった」と報告', en: 'the sender reported a mistake on the confirmation page' },
  rule: { ja: 'ポリシーの規則が検知', en: 'detected by a policy rule' },
};

/** What opened an incident, in words; a trigger stored by a newer outguard is shown as it is. */
export const triggerLabel = (trigger: string): { ja: string; en: string } =>
  Object.hasOwn(TRIGGER_LABELS, trigger) ? TRIGGER_LABELS[trigger as IncidentTrigger] : { ja: trigger, en: trigger };

const STATE: Record<MessageState, { ja: string; en: string }> = {
  sent: { ja: '送信されました', en: 'sent' },
  held: { ja: '保留中（まだ送信されていません）', en: 'held, not sent yet' },
  'not-sent': { ja: '送信されていません', en: 'not sent' },
  unknown: { ja: '不明', en: 'unknown' },
};

const PASSWORD: Record<PasswordState, { ja: string; en: string }> = {
  sent: { ja: '送信済み', en: 'sent' },
  pending: { ja: 'まだ送信されていません（送信待ち）', en: 'not sent yet (queued)' },
  'not-sent': { ja: '送信されていません（失敗または取り消し）', en: 'not sent (failed or cancelled)' },
  'not-applicable': { ja: '該当なし（暗号化した添付ファイルなし）', en: 'not applicable (no attachment was encrypted)' },
  unknown: { ja: '不明（記録が残っていません）', en: 'unknown (no record left)' },
};

/** The incident's reviewer page, for the people who handle it (never in the report to the client). */
export function incidentLink(incident: Pick<Incident, 'id'>, publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/review/incidents/${encodeURIComponent(incident.id)}`;
}

/** The rules in words, for the client: the ids stay in the audit log and the exports. */
function rulesIn(lang: 'ja' | 'en', rules: string[]): string {
  return rules.map((r) => ruleName(r)[lang]).join(lang === 'ja' ? '、' : ', ');
}

/** Who opened the incident, in words (the sender of its message is named as such). */
function openedBy(i: Incident, lang: 'ja' | 'en'): string {
  return oneLine(actorName(i.openedBy, { sender: i.message?.sender })[lang]);
}

function minutesOf(i: Incident): number {
  return Math.round((i.deadline - i.openedAt) / 60_000);
}

function messageJa(i: Incident): string[] {
  const m = i.message;
  if (!m) return i.messageId ? [`対象のメール: outguard ID ${i.messageId}（記録なし）`] : [];
  const lines = ['対象のメール:', `  outguard ID: ${i.messageId ?? '-'}`, `  送信者: ${oneLine(m.sender) || '(なし)'}`, '  宛先:', ...m.recipients.map((r) => `    - ${oneLine(r)}`)];
  lines.push(`  件名: ${oneLine(m.subject) || '(件名なし)'}`);
  if (m.attachments.length === 0) lines.push('  添付ファイル: なし');
  else {
    lines.push(`  添付ファイル（${m.attachments.length}件）:`);
    for (const a of m.attachments) lines.push(`    - ${oneLine(a.name)}`, `      SHA-256: ${a.sha256}`);
  }
  lines.push(`  送信状況: ${STATE[m.state].ja}`);
  lines.push(`  パスワード通知: ${PASSWORD[m.password].ja}`);
  lines.push(`  検知した規則: ${m.rules.length > 0 ? rulesIn('ja', m.rules) : 'なし'}`);
  lines.push(`  該当条項: ${m.clauses.length > 0 ? m.clauses.join(', ') : 'なし'}`);
  return lines;
}

function messageEn(i: Incident): string[] {
  const m = i.message;
  if (!m) return i.messageId ? [`Message: outguard ID ${i.messageId} (no record)`] : [];
  const lines = ['Message:', `  outguard ID: ${i.messageId ?? '-'}`, `  Sender: ${oneLine(m.sender) || '(none)'}`, '  Recipients:', ...m.recipients.map((r) => `    - ${oneLine(r)}`)];
  lines.push(`  Subject: ${oneLine(m.subject) || '(no subject)'}`);
  if (m.attachments.length === 0) lines.push('  Attachments: none');
  else {
    lines.push(`  Attachments (${m.attachments.length}):`);
    for (const a of m.attachments) lines.push(`    - ${oneLine(a.name)}`, `      SHA-256: ${a.sha256}`);
  }
  lines.push(`  Message: ${STATE[m.state].en}`);
  lines.push(`  Password notice: ${PASSWORD[m.password].en}`);
  lines.push(`  Rules: ${m.rules.length > 0 ? rulesIn('en', m.rules) : 'none'}`);
  lines.push(`  Clauses: ${m.clauses.length > 0 ? m.clauses.join(', ') : 'none'}`);
  return lines;
}

/** The report as sent to the client's contact. */
export function incidentReportText(i: Incident, f: ReportFormat): string {
  const opened = formatTime(i.openedAt, f.timeZone);
  const deadline = formatTime(i.deadline, f.timeZone);
  const minutes = minutesOf(i);
  const mailed = f.mailed ?? i.noticeId !== undefined;
  return [
    '発注者ご担当者様',
    '',
    `受託者向け情報セキュリティ遵守事項 第2 に基づき、情報セキュリティインシデント（またはそのおそれ）を報告します。`,
    mailed ? 'この報告は outguard（送信メールの検査ゲートウェイ）が自動で作成・送信しました。' : 'この報告は outguard（送信メールの検査ゲートウェイ）が作成しました。',
    '',
    `インシデント番号: ${i.id}`,
    `概要: ${oneLine(i.summary, 1000)}`,
    `きっかけ: ${TRIGGER_LABELS[i.trigger].ja}`,
    `登録者: ${openedBy(i, 'ja')}`,
    `認識した日時: ${opened.ja}`,
    `報告期限: ${deadline.ja}（認識から${minutes}分以内）`,
    '',
    ...messageJa(i),
    '',
    `お問い合わせの際は、インシデント番号 ${i.id} をお伝えください。`,
    '',
    '----',
    'To the client contact,',
    '',
    'Under security clause 2 (受託者向け情報セキュリティ遵守事項 第2) we report the information security incident (or possible incident) below.',
    mailed ? 'This report was written and sent by outguard, the outbound mail gateway.' : 'This report was written by outguard, the outbound mail gateway.',
    '',
    `Incident: ${i.id}`,
    `What happened: ${oneLine(i.summary, 1000)}`,
    `How it was found: ${TRIGGER_LABELS[i.trigger].en}`,
    `Opened by: ${openedBy(i, 'en')}`,
    `Recognised at: ${opened.en}`,
    `Report due by: ${deadline.en} (within ${minutes} minutes of recognition)`,
    '',
    ...messageEn(i),
    '',
    `Please quote the incident number ${i.id} in any reply.`,
    '',
  ].join('\n');
}

/** The state of an incident for `outguard incident show`, above the report: for the people handling it, with its page. */
export function incidentStatusText(i: Incident, now: number, publicUrl: string): string {
  const status = incidentStatus(i, now);
  const lines = [
    `状態 / Status: ${STATUS_LABELS[status].ja} / ${STATUS_LABELS[status].en}`,
    `期限 / Deadline: ${jstStamp(i.deadline)}`,
    `ページ / Page: ${incidentLink(i, publicUrl)}`,
  ];
  if (i.notifiedAt !== undefined) lines.push(`通知 / Notified: ${jstStamp(i.notifiedAt)} → ${(i.notifiedTo ?? []).join(', ')}`);
  else if (i.noticeError !== undefined) lines.push(`通知 / Notified: 送信できませんでした / could not be sent: ${i.noticeError}`);
  else if (i.noticeId !== undefined) lines.push('通知 / Notified: 送信待ち / queued');
  else lines.push('通知 / Notified: なし（登録時に compliance.clientContact が未設定）: 担当者が報告してください / none (compliance.clientContact was not set): report it by hand');
  if (i.reportedAt !== undefined) {
    lines.push(`報告 / Reported: ${jstStamp(i.reportedAt)} by ${i.reportedBy ?? '?'}${i.reportNote ? ` — ${oneLine(i.reportNote, 1000)}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface IncidentNoticeInput {
  incident: Incident;
  /** compliance.from */
  from: string;
  /** compliance.clientContact */
  to: string[];
}

/** The notification to the client's contact (X-Outguard-Notice: incident). */
export function composeIncidentNotice(n: IncidentNoticeInput, f: Omit<ReportFormat, 'mailed'>): Promise<Buffer> {
  // composed before it is queued: the incident has no notice id yet
  const { incident } = n;
  return composeNotice({
    from: `outguard <${n.from}>`,
    to: n.to,
    subject: `【インシデント報告】${incident.id} / Security incident report ${incident.id}`,
    text: incidentReportText(incident, { ...f, mailed: true }),
    headers: {
      [NOTICE_HEADER]: 'incident',
      [REF_HEADER]: incident.messageId ?? incident.id,
      [INCIDENT_HEADER]: incident.id,
      'Auto-Submitted': 'auto-generated',
    },
  });
}
