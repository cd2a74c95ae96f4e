import { actorName } from '../audit/actor-names.js';
import { composeNotice } from '../message/compose.js';
import { lookalikeText } from './content.js';
import { oneLine } from '../message/one-line.js';
import { ruleName } from '../policy/rule-names.js';
import { type Finding, findingDetail, findingMessage } from '../policy/verdict.js';
import type { DeadlineAction, Hold, HoldRecipient } from './types.js';
import type { Mailbox } from '../message/mailbox.js';

/**
 * The notices of the confirmation hold (遵守事項 第6-1), Japanese first, then English:
 *
 * - `confirm`: to the sender (or each approver, or the escalation address), with everything to
 *   check and the release link;
 * - `hold-waiting`: to the sender when approvers decide, without a link;
 * - `hold-released` / `hold-discarded` / `hold-expired` / `hold-escalated`: to the sender, what
 *   happened to the message (`hold-failed`: released, but it could not be sent as the policy wants).
 *
 * Each carries `X-Outguard-Notice` and `X-Outguard-Ref: <hold id>`, and is sent from the null
 * sender so that it never bounces back into a loop.
 */

export type OutcomeKind = 'released' | 'discarded' | 'expired' | 'escalated' | 'failed';

export interface NoticeFormat {
  /** notices.from: who the notices come from. */
  from: Mailbox;
  /** Time zone of the times in the Japanese text. Default Asia/Tokyo. */
  timeZone?: string;
}

export const NOTICE_HEADER = 'X-Outguard-Notice';
export const REF_HEADER = 'X-Outguard-Ref';


/** Kept here too for the CLIs that list holds and incidents (src/message/one-line.ts). */
export { oneLine };

/** The start of the body, each of its lines (whatever ends it) quoted: no line of it stands alone. */
function quoted(body: string): string[] {
  if (body.trim() === '') return ['  (本文なし / no body text)'];
  return body
    .split(/\r\n|[\n\r\v\f\x85\u2028\u2029]/)
    .map((l) => `  > ${l.replace(/\p{Cc}/gu, (c) => (c === '\t' ? c : ' '))}`);
}

export function formatTime(ms: number, timeZone = 'Asia/Tokyo'): { ja: string; en: string } {
  const d = new Date(ms);
  const ja = new Intl.DateTimeFormat('ja-JP', {
    timeZone,
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).format(d);
  const en = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
    timeZoneName: 'short',
  }).format(d);
  const zone = timeZone === 'Asia/Tokyo' ? '日本時間' : timeZone;
  return { ja: `${ja} (${zone})`, en: `${en} (${d.toISOString()})` };
}

const bytes = (n: number) => n.toLocaleString('en-US');

function flagsJa(r: HoldRecipient): string {
  const flags = [r.external ? '社外' : '社内'];
  if (r.firstTimeDomain) flags.push('初めて送信するドメイン');
  if (r.lookalikeOf) flags.push(oneLine(lookalikeText(r.lookalikeOf).ja));
  return flags.map((f) => `【${f}】`).join('');
}

function flagsEn(r: HoldRecipient): string {
  const flags = [r.external ? 'external' : 'internal'];
  if (r.firstTimeDomain) flags.push('first-time domain');
  if (r.lookalikeOf) flags.push(oneLine(lookalikeText(r.lookalikeOf).en));
  return flags.map((f) => `[${f}]`).join(' ');
}

/**
 * Why the message is held, one finding in one language: the rule in words and its clause, what
 * the rule asks, and what exactly was found (each on one line: the detail names files and addresses).
 */
function findingLines(f: Finding, lang: 'ja' | 'en'): string[] {
  const name = ruleName(f.rule)[lang];
  const detail = findingDetail(f)?.[lang];
  return [
    lang === 'ja' ? `  - ${oneLine(name)}（${f.clause}）` : `  - ${oneLine(name)} (${f.clause})`,
    `    ${oneLine(findingMessage(f)[lang], 500)}`,
    ...(detail ? [`    ${oneLine(detail, 500)}`] : []),
  ];
}

function deadlineActionJa(a: DeadlineAction): string {
  switch (a.action) {
    case 'send':
      return '送信されます。';
    case 'escalate':
      return `${oneLine(a.to)} に確認を依頼します（エスカレーション）。`;
    default:
      return '破棄されます（送信されません）。';
  }
}

function deadlineActionEn(a: DeadlineAction): string {
  switch (a.action) {
    case 'send':
      return 'it will be sent.';
    case 'escalate':
      return `it will be escalated to ${oneLine(a.to)} for confirmation.`;
    default:
      return 'it will be discarded (not sent).';
  }
}

function summaryJa(hold: Hold, withBody: boolean): string[] {
  const lines = [`送信者: ${oneLine(hold.envelope.from) || '(なし)'}`, '宛先:'];
  for (const r of hold.recipients) lines.push(`  - ${oneLine(r.address)} ${flagsJa(r)}`);
  lines.push(`件名: ${oneLine(hold.subject) || '(件名なし)'}`);
  if (withBody) lines.push('本文（冒頭）:', ...quoted(hold.bodyStart));
  if (hold.attachments.length === 0) lines.push('添付ファイル: なし');
  else {
    lines.push(`添付ファイル（${hold.attachments.length}件）:`);
    for (const a of hold.attachments) lines.push(`  - ${oneLine(a.name)} (${bytes(a.size)} バイト)`, `    SHA-256: ${a.sha256}`);
  }
  if (withBody && hold.findings.length > 0) {
    lines.push('保留の理由:');
    for (const f of hold.findings) lines.push(...findingLines(f, 'ja'));
  }
  return lines;
}

function summaryEn(hold: Hold, withBody: boolean): string[] {
  const lines = [`Sender: ${oneLine(hold.envelope.from) || '(none)'}`, 'Recipients:'];
  for (const r of hold.recipients) lines.push(`  - ${oneLine(r.address)} ${flagsEn(r)}`);
  lines.push(`Subject: ${oneLine(hold.subject) || '(no subject)'}`);
  if (withBody) lines.push('Start of the body: (see above)');
  if (hold.attachments.length === 0) lines.push('Attachments: none');
  else {
    lines.push(`Attachments (${hold.attachments.length}):`);
    for (const a of hold.attachments) lines.push(`  - ${oneLine(a.name)} (${bytes(a.size)} bytes)`, `    SHA-256: ${a.sha256}`);
  }
  if (withBody && hold.findings.length > 0) {
    lines.push('Why it is held:');
    for (const f of hold.findings) lines.push(...findingLines(f, 'en'));
  }
  return lines;
}

function subjectLine(ja: string, en: string, subject: string): string {
  return `${ja} / ${en}: ${oneLine(subject, 120)}`;
}

export interface ConfirmNoticeInput {
  hold: Hold;
  to: string;
  role: 'sender' | 'approver';
  link: string;
  /** When the link stops working (the deadline). */
  expiry: number;
  /** The deadline passed and the hold was escalated to `to`. */
  escalated?: boolean;
}

/** The confirmation notice with the release link (X-Outguard-Notice: confirm). */
export function composeConfirmNotice(n: ConfirmNoticeInput, f: NoticeFormat): Promise<Buffer> {
  const { hold } = n;
  const when = formatTime(n.expiry, f.timeZone);
  const introJa = n.escalated
    ? `次のメールは送信前の確認のため保留されていましたが、期限までに操作がなかったため、あなたに確認が依頼されました（エスカレーション）。`
    : n.role === 'approver'
      ? `次のメールは上長承認のため保留されています。送信者: ${oneLine(hold.envelope.from) || '(なし)'}`
      : '次のメールは送信前の確認のため保留されています（遵守事項 第6-1）。';
  const introEn = n.escalated
    ? 'The message below was held for confirmation and nobody acted before the deadline, so it was escalated to you.'
    : n.role === 'approver'
      ? `The message below needs your approval before it is sent. Sender: ${oneLine(hold.envelope.from) || '(none)'}`
      : 'The message below is held for confirmation before it is sent (security clause 6-1).';
  const text = [
    introJa,
    '宛先、本文、添付ファイルを確認し、下のリンクから「送信」または「破棄」を選んでください。',
    '',
    ...summaryJa(hold, true),
    '',
    `期限: ${when.ja}`,
    `期限までに操作がない場合: ${deadlineActionJa(hold.onDeadline)}`,
    '',
    '確認して送信・破棄する:',
    n.link,
    '',
    'このリンクは期限まで有効で、送信または破棄の一度だけ使えます。他の人に転送しないでください。',
    '',
    '----',
    introEn,
    'Check the recipients, the body and the attachments, then send or discard it on the page below.',
    '',
    ...summaryEn(hold, true),
    '',
    `Deadline: ${when.en}`,
    `If nobody acts before the deadline, ${deadlineActionEn(hold.onDeadline)}`,
    '',
    'Review, then send or discard:',
    n.link,
    '',
    'The link works until the deadline, for one decision (send or discard). Do not forward it.',
    `outguard ID: ${hold.id}`,
    '',
  ].join('\n');
  const [ja, en] = n.role === 'approver' ? ['【承認依頼】', 'Approval needed'] : ['【送信保留】確認してください', 'Held: confirm before sending'];
  return composeNotice({
    from: f.from,
    to: [n.to],
    subject: subjectLine(ja, en, hold.subject),
    text,
    headers: { [NOTICE_HEADER]: 'confirm', [REF_HEADER]: hold.id, 'Auto-Submitted': 'auto-generated' },
  });
}

/** To the sender when approvers decide: the message waits for them (no link). */
export function composeWaitingNotice(hold: Hold, f: NoticeFormat): Promise<Buffer> {
  const when = formatTime(hold.deadline, f.timeZone);
  const approvers = hold.approvers.map((a) => oneLine(a)).join(', ');
  const text = [
    `次のメールは上長承認のため保留されています。承認者（${approvers}）が確認して送信または破棄します。`,
    '',
    ...summaryJa(hold, false),
    '',
    `期限: ${when.ja}`,
    `期限までに操作がない場合: ${deadlineActionJa(hold.onDeadline)}`,
    '結果はこのアドレスにお知らせします。',
    '',
    '----',
    `The message below is waiting for approval by ${approvers}, who will send or discard it.`,
    '',
    ...summaryEn(hold, false),
    '',
    `Deadline: ${when.en}`,
    `If nobody acts before the deadline, ${deadlineActionEn(hold.onDeadline)}`,
    'You will be told what happened.',
    `outguard ID: ${hold.id}`,
    '',
  ].join('\n');
  return composeNotice({
    from: f.from,
    to: [hold.envelope.from],
    subject: subjectLine('【承認待ち】', 'Waiting for approval', hold.subject),
    text,
    headers: { [NOTICE_HEADER]: 'hold-waiting', [REF_HEADER]: hold.id, 'Auto-Submitted': 'auto-generated' },
  });
}

export interface OutcomeNoticeInput {
  hold: Hold;
  kind: OutcomeKind;
  /** Escalated: to whom (the new deadline is the hold's). */
  escalatedTo?: string;
  /** Released: some copy went out with its attachments in an encrypted ZIP (a password notice follows). */
  encrypted?: boolean;
}

/** To the sender: what happened to the held message (the sender is always told). */
export function composeOutcomeNotice(n: OutcomeNoticeInput, f: NoticeFormat): Promise<Buffer> {
  const { hold } = n;
  let ja: string[];
  let en: string[];
  let subject: [string, string];
  const by = actorName(hold.decidedBy, { sender: hold.envelope.from, approvers: hold.approvers });
  const byJa = oneLine(by.ja);
  const byEn = oneLine(by.en);
  switch (n.kind) {
    case 'released':
      subject = ['【送信保留】送信されました', 'Sent'];
      ja = [
        hold.decidedBy === 'deadline'
          ? '期限までに操作がなかったため、ポリシーにより次のメールは送信されました。'
          : '保留されていた次のメールは送信されました。',
        `操作: ${byJa}`,
        ...(n.encrypted ? ['社外宛の添付ファイルは暗号化ZIPにまとめられ、パスワードは別のメールでお知らせします。'] : []),
      ];
      en = [
        hold.decidedBy === 'deadline' ? 'Nobody acted before the deadline, so the policy sent the message below.' : 'The held message below was sent.',
        `By: ${byEn}`,
        ...(n.encrypted ? ['Attachments to external recipients were packed into an encrypted ZIP; its password follows in a separate notice.'] : []),
      ];
      break;
    case 'discarded':
      subject = ['【送信保留】破棄されました', 'Discarded'];
      ja = ['保留されていた次のメールは破棄されました。送信されていません。', `操作: ${byJa}`];
      en = ['The held message below was discarded. It was not sent.', `By: ${byEn}`];
      if (hold.mistake) {
        ja.push('「間違いだった」と報告されたため、その旨を記録しました。');
        en.push('It was reported as a mistake, and that was recorded.');
      }
      break;
    case 'expired':
      subject = ['【送信保留】期限切れで破棄されました', 'Expired and discarded'];
      ja = ['期限までに送信の確認がなかったため、次のメールは破棄されました。送信されていません。必要であれば、もう一度送信してください。'];
      en = ['Nobody confirmed the message below before the deadline, so it was discarded. It was not sent; send it again if it is still needed.'];
      break;
    case 'failed':
      subject = ['【送信保留】送信できませんでした', 'Could not be sent'];
      ja = ['次のメールは送信が選ばれましたが、ポリシーの求める形（暗号化ZIPなど）で送信できなかったため、送信されていません。別の方法で送付してください。', `操作: ${byJa}`];
      en = ['Sending was chosen for the message below, but it could not be sent the way the policy requires (encrypted ZIP), so it was not sent. Send it by another route.', `By: ${byEn}`];
      break;
    case 'escalated': {
      const when = formatTime(hold.deadline, f.timeZone);
      subject = ['【送信保留】エスカレーションされました', 'Escalated'];
      ja = [
        `期限までに操作がなかったため、次のメールの確認を ${oneLine(n.escalatedTo)} に依頼しました（エスカレーション）。まだ送信されていません。`,
        `新しい期限: ${when.ja}`,
        `新しい期限までに操作がない場合: ${deadlineActionJa(hold.onDeadline)}`,
      ];
      en = [
        `Nobody acted before the deadline, so the message below was escalated to ${oneLine(n.escalatedTo)} for confirmation. It has not been sent.`,
        `New deadline: ${when.en}`,
        `If nobody acts before the new deadline, ${deadlineActionEn(hold.onDeadline)}`,
      ];
      break;
    }
  }
  const text = [...ja, '', ...summaryJa(hold, false), '', '----', ...en, '', ...summaryEn(hold, false), `outguard ID: ${hold.id}`, ''].join('\n');
  return composeNotice({
    from: f.from,
    to: [hold.envelope.from],
    subject: subjectLine(subject[0], subject[1], hold.subject),
    text,
    headers: { [NOTICE_HEADER]: `hold-${n.kind}`, [REF_HEADER]: hold.id, 'Auto-Submitted': 'auto-generated' },
  });
}
