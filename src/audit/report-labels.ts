import type { IncidentStatus } from './report.js';
import type { Bilingual } from '../render/bilingual.js';

/** The words of the monthly report, Japanese first: shared by its HTML and CSV forms. */
export const REPORT_LABELS = {
  title: { ja: '月次報告', en: 'Monthly report' },
  clause: { ja: '特記事項 第9（報告等）', en: 'Special provisions, article 9 (reports)' },
  period: { ja: '対象期間', en: 'Period' },
  generated: { ja: '作成日時', en: 'Generated' },
  events: { ja: '監査イベント数', en: 'Audit events' },
  chainHead: { ja: '監査ログの連鎖（期間末、件数:MAC）', en: 'Audit chain at the end of the period (COUNT:MAC)' },
  chainHeadNote: {
    ja: 'この値を報告書とともに保管してください。「outguard audit verify --expect 件数:MAC」で、ログがその後も書き換えられていないことを確認できます。',
    en: 'Keep this value with the report: "outguard audit verify --expect COUNT:MAC" checks that the log was not rewritten since.',
  },
  messages: { ja: '受信したメール（判定件数）', en: 'Messages judged' },
  byAction: { ja: '処理別件数', en: 'Events by action' },
  byRule: { ja: 'ルール別件数', en: 'Messages by rule' },
  byClause: { ja: '条項別件数', en: 'Messages by clause' },
  bySenderDomain: { ja: '送信者ドメイン別件数', en: 'Messages by sender domain' },
  holds: { ja: '送信前の確認（保留）', en: 'Confirmation holds' },
  held: { ja: '保留', en: 'held' },
  released: { ja: '送信（保留解除）', en: 'released' },
  discarded: { ja: '破棄', en: 'discarded' },
  expired: { ja: '期限切れ', en: 'expired' },
  median: { ja: '保留から送信までの時間（中央値、分）', en: 'Median minutes from held to released' },
  incidents: { ja: 'インシデント（遵守事項 第2）', en: 'Incidents (clause 2)' },
  noIncidents: { ja: 'この期間のインシデントはありません。', en: 'No incidents in this period.' },
  running: { ja: 'この月はまだ終わっていません。作成日時までの集計です。', en: 'This month is not over yet: counted up to the time the report was made.' },
  incidentLimit: (minutes: number): Bilingual => ({
    ja: `報告期限：事案の認識から ${minutes} 分以内に発注者へ連絡。各インシデントは登録した時点で決まった自身の期限で判定します。`,
    en: `Limit: report to the client within ${minutes} minutes of recognising the incident. Each incident is judged by its own deadline, set when it was opened.`,
  }),
  none: { ja: 'なし', en: 'none' },
  noMessages: { ja: 'この期間に判定したメールはありません。', en: 'No messages were judged in this period.' },
  underAMinute: { ja: '1 分以内', en: 'under 1 min' },
} satisfies Record<string, Bilingual | ((minutes: number) => Bilingual)>;

export const INCIDENT_STATUS: Record<IncidentStatus, Bilingual> = {
  'reported-in-time': { ja: '期限内に報告', en: 'reported in time' },
  'reported-late': { ja: '期限後に報告', en: 'reported late' },
  overdue: { ja: '未報告・期限超過', en: 'overdue, not reported' },
  open: { ja: '未報告（期限内）', en: 'not yet reported' },
};

/** The period line: the month's bounds in Japan time. */
export function periodText(since: string, until: string, jst: (iso: string) => string): Bilingual {
  return { ja: `${jst(since)} 〜 ${jst(until)}（日本時間、UTC+9）`, en: `${jst(since)} to ${jst(until)} JST (UTC+9), end exclusive` };
}
