import type { Bilingual } from '../render/bilingual.js';
import type { DamagedMessage, DeadlineAction, HoldState, TokenProblem } from '../hold/types.js';


/** Why a release link or a request did not work, as HTTP status and words. */
export type WebProblem =
  | TokenProblem
  | 'not-held'
  | DamagedMessage
  | 'csrf'
  | 'confirmation-required'
  | 'missing-request-header'
  | 'unsupported-media-type'
  | 'invalid-json'
  | 'invalid-request'
  | 'payload-too-large'
  | 'not-found'
  | 'method-not-allowed'
  | 'unavailable'
  | 'internal';

export const PROBLEMS: Record<WebProblem, { status: number; title: Bilingual; text: Bilingual }> = {
  forged: {
    status: 403,
    title: { ja: 'このリンクは無効です', en: 'This link is not valid' },
    text: {
      ja: 'リンクが改ざんされているか、正しい確認リンクではありません。確認通知メールのリンクをそのまま開いてください。',
      en: 'The link was altered or is not a release link. Open the link from the confirmation notice exactly as it is.',
    },
  },
  expired: {
    status: 410,
    title: { ja: 'このリンクは有効期限切れです', en: 'This link has expired' },
    text: {
      ja: '保留の期限を過ぎたため、このリンクでは操作できません。期限時の処理（破棄・送信・上長への確認依頼）が行われます。',
      en: "The hold's deadline has passed, so this link no longer works. The deadline action (discard, send or escalate) takes over.",
    },
  },
  used: {
    status: 410,
    title: { ja: 'このリンクは使用済みです', en: 'This link has already been used' },
    text: {
      ja: '確認リンクで行える操作（送信または破棄）は一度だけです。この保留については既に操作が行われました。',
      en: 'A release link works for one decision (send or discard) only, and it was already used for this hold.',
    },
  },
  unknown: {
    status: 404,
    title: { ja: '保留が見つかりません', en: 'No such hold' },
    text: {
      ja: 'このリンクに対応する保留中のメールはありません。',
      en: 'There is no held message for this link.',
    },
  },
  'not-held': {
    status: 410,
    title: { ja: 'このメールは既に保留中ではありません', en: 'This message is no longer held' },
    text: {
      ja: 'このメールは既に送信・破棄されたか、期限切れになっています。',
      en: 'It was already released, discarded or expired.',
    },
  },
  damaged: {
    status: 500,
    title: { ja: '保存されたメールを読み出せません', en: 'The held message cannot be read' },
    text: {
      ja: '保存中のメールが破損しているため、送信できません（何も送信されていません）。メールは保留のまま残ります。管理者に連絡してください。',
      en: 'The stored message is damaged, so it cannot be sent (nothing was sent). It stays held; contact your mail administrator.',
    },
  },
  csrf: {
    status: 403,
    title: { ja: 'フォームを確認できませんでした', en: 'The form could not be verified' },
    text: {
      ja: '何も送信・破棄されていません。確認通知メールのリンクからページを開き直して、もう一度操作してください。',
      en: 'Nothing was sent or discarded. Open the page again from the link in the confirmation notice and retry.',
    },
  },
  'confirmation-required': {
    status: 422,
    title: { ja: '確認が完了していません', en: 'Not confirmed' },
    text: {
      ja: '送信されていません。宛先・本文・添付ファイルの3項目すべてを確認し、チェックを入れてから送信してください。',
      en: 'Nothing was sent. Check the recipients, the body and the attachments, tick all three, then send.',
    },
  },
  'missing-request-header': {
    status: 403,
    title: { ja: '必要なヘッダーがありません', en: 'Missing request header' },
    text: {
      ja: 'API への POST には X-Outguard-Request: 1 ヘッダーが必要です。',
      en: 'POSTs to the API need the header X-Outguard-Request: 1.',
    },
  },
  'unsupported-media-type': {
    status: 415,
    title: { ja: '対応していない形式です', en: 'Unsupported media type' },
    text: {
      ja: 'このリクエストの本文の形式には対応していません。',
      en: 'The request body has a media type this endpoint does not accept.',
    },
  },
  'invalid-json': {
    status: 400,
    title: { ja: 'JSON を読み取れません', en: 'Invalid JSON' },
    text: { ja: 'リクエスト本文が正しい JSON オブジェクトではありません。', en: 'The request body is not a valid JSON object.' },
  },
  'invalid-request': {
    status: 400,
    title: { ja: 'リクエストが正しくありません', en: 'Invalid request' },
    text: { ja: 'リクエストの内容が正しくありません。', en: 'The request is not valid.' },
  },
  'payload-too-large': {
    status: 413,
    title: { ja: 'リクエストが大きすぎます', en: 'Request too large' },
    text: { ja: 'リクエスト本文が大きすぎます。', en: 'The request body is too large.' },
  },
  'not-found': {
    status: 404,
    title: { ja: 'ページが見つかりません', en: 'Not found' },
    text: { ja: 'このアドレスにはページがありません。', en: 'There is no page at this address.' },
  },
  'method-not-allowed': {
    status: 405,
    title: { ja: 'この操作はできません', en: 'Method not allowed' },
    text: { ja: 'このアドレスではこの HTTP メソッドを使えません。', en: 'This address does not accept this HTTP method.' },
  },
  unavailable: {
    status: 503,
    title: { ja: '確認保留は利用できません', en: 'Confirmation hold unavailable' },
    text: { ja: 'このゲートウェイでは確認保留が有効になっていません。', en: 'The confirmation hold is not enabled on this gateway.' },
  },
  internal: {
    status: 500,
    title: { ja: 'エラーが発生しました', en: 'Something went wrong' },
    text: {
      ja: '処理中にエラーが発生しました。しばらくしてからもう一度お試しください。解決しない場合は管理者に連絡してください。',
      en: 'An error occurred. Try again in a moment; if it persists, contact your mail administrator.',
    },
  },
};

export const STATE_TEXT: Record<HoldState, Bilingual> = {
  held: { ja: '保留中', en: 'held' },
  released: { ja: '送信済み', en: 'released' },
  discarded: { ja: '破棄済み', en: 'discarded' },
  expired: { ja: '期限切れ', en: 'expired' },
};

/** What happens when nobody acts by the deadline. */
export function deadlineText(action: DeadlineAction): Bilingual {
  switch (action.action) {
    case 'discard':
      return {
        ja: '期限までに操作がない場合、このメールは破棄され、送信されません。',
        en: 'If nobody acts by the deadline, the message is discarded and not sent.',
      };
    case 'send':
      return {
        ja: '期限までに操作がない場合、このメールはそのまま送信されます。',
        en: 'If nobody acts by the deadline, the message is sent as it is.',
      };
    case 'escalate':
      return {
        ja: `期限までに操作がない場合、${action.to} に確認が依頼されます。`,
        en: `If nobody acts by the deadline, ${action.to} is asked to decide.`,
      };
  }
}

const jaTime = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', dateStyle: 'long', timeStyle: 'short' });
const enTime = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', dateStyle: 'medium', timeStyle: 'short' });

/** A moment in Japan time, both ways. */
export function timeText(ms: number): Bilingual {
  const d = new Date(ms);
  return { ja: `${jaTime.format(d)}（日本時間）`, en: `${enTime.format(d)} JST` };
}

/** Time left until `ms`, coarse. */
export function remainingText(ms: number, now: number): Bilingual {
  const minutes = Math.max(0, Math.floor((ms - now) / 60000));
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (h > 0) return { ja: `残り ${h}時間${m}分`, en: `${h} h ${m} min left` };
  // not "0 min": the link still works for the seconds left
  if (m === 0) return { ja: '残り 1分未満', en: 'under 1 min left' };
  return { ja: `残り ${m}分`, en: `${m} min left` };
}

/** A byte count for people: exact bytes, and KB/MB when large. */
export function sizeText(bytes: number): string {
  const exact = `${bytes.toLocaleString('en-US')} B`;
  if (bytes < 1024) return exact;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]} (${exact})`;
}
