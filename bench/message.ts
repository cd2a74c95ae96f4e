/**
 * Benchmark messages: about 5 KB, shaped like a Japanese municipal office's outbound mail
 * (Received trace, MIME-encoded display names and subject, threading headers, a UTF-8 plain-text
 * body in base64 as Outlook and Thunderbird send it). CRLF line ends, 7-bit on the wire.
 */
import { randomBytes } from 'node:crypto';

export interface BenchMessage {
  /** Message-ID without the angle brackets; the sink reports it back. */
  id: string;
  envelope: { from: string; to: string[] };
  raw: Buffer;
}

/**
 * The organisation the traffic comes from, for outguard's config: mail from internal staff to one
 * external contact (To) with an internal colleague in Cc, as most outbound mail is. The external
 * domains are a partner plus domains the gateway has delivered to before (relay.ts seeds them
 * into its delivery history), so the default policy lets the traffic through after running every
 * check on it, as it would for the bulk of production mail.
 */
export const ORG = {
  internalDomains: ['city.example.lg.jp'],
  partnerDomains: ['partner.example.co.jp'],
  knownDomains: ['tokyo-sisutemu.co.jp', 'nihon-consulting.co.jp', 'daiichi-insatsu.co.jp', 'yamato-kensetsu.co.jp', 'midori-bank.co.jp', 'hokuto-denki.co.jp', 'sakura-net.ne.jp'],
};
const EXTERNAL = [...ORG.partnerDomains, ...ORG.knownDomains];
const SURNAMES = ['suzuki', 'takahashi', 'tanaka', 'watanabe', 'ito', 'yamamoto', 'nakamura', 'kobayashi', 'kato', 'yoshida'];
/**
 * Distinct senders, used in turn across all messages of a run: outguard's sender-burst rule holds
 * a sender's 31st external message within 10 minutes, and real traffic comes from many people.
 */
const SENDERS = 2000;
let sent = 0;

const mimeWord = (s: string) => `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;

const wrap76 = (b64: string) => b64.match(/.{1,76}/g)!.join('\r\n');

const PARAGRAPHS = [
  '株式会社パートナー 契約担当 山田様',
  'いつも大変お世話になっております。総務部情報政策課の鈴木です。',
  '先日ご相談いたしました令和6年度庁内ネットワーク更改業務の件につきまして、仕様書の修正版と質問回答書を取りまとめましたのでご連絡いたします。' +
    '主な変更点は、第3章の可用性要件(稼働率99.9%以上)の測定方法の明確化、第5章の情報セキュリティ要件における外部サービス利用時の承認手続きの追加、ならびに別紙2の機器一覧の数量訂正です。',
  'つきましては、以下の日程でオンライン説明会を開催いたします。ご都合のよい回をお知らせください。\n' +
    '  第1回 5月20日(月) 10:00~11:00\n  第2回 5月21日(火) 14:00~15:00\n  第3回 5月23日(木) 16:00~17:00',
  'なお、添付ファイルにつきましては、本市の情報セキュリティポリシーに基づき、別途パスワードを通知いたします。' +
    'パスワード通知メールが届かない場合は、お手数ですが下記の担当までお電話にてご連絡ください。',
  'Please note: the English summary of the revised specification (Annex E) will follow next week. ' +
    'If your team has questions about the availability requirements or the on-site maintenance window, ' +
    'reply to this message before the end of the month so that we can include the answers in the Q&A sheet.',
  '【質問回答書の主な内容】\n' +
    '  Q1. 既設スイッチの撤去費用は本業務に含まれますか。 → A1. 含みます。撤去後の機器は本市指定の場所まで運搬してください。\n' +
    '  Q2. 夜間作業の時間帯に制約はありますか。 → A2. 平日22時から翌6時まで、及び閉庁日の終日とします。\n' +
    '  Q3. 障害発生時の駆けつけ時間の基準は何ですか。 → A3. 通報受付から4時間以内に現地到着としてください。\n' +
    '  Q4. 再委託は可能ですか。 → A4. 事前に書面で承認を得た場合に限り可能です。',
  'ご不明な点がございましたら、お気軽にお問い合わせください。引き続きどうぞよろしくお願いいたします。',
  '────────────────────────\n○○市 総務部 情報政策課 情報基盤係\n鈴木 花子 (Suzuki Hanako)\n〒100-0000 ○○市中央1丁目1番1号 本庁舎5階\nTEL: 03-0000-0000 (内線 1234) / FAX: 03-0000-0001\nE-mail: hanako.suzuki@city.example.lg.jp\n────────────────────────',
];

// One body for every message: the gateway sees the same bytes, only the headers differ.
const BODY = wrap76(Buffer.from(`${PARAGRAPHS.join('\n\n')}\n`.replace(/\n/g, '\r\n'), 'utf8').toString('base64'));

/** `count` distinct messages; `tag` goes into every Message-ID so rounds never mix. */
export function makeMessages(tag: string, count: number): BenchMessage[] {
  const out: BenchMessage[] = [];
  const date = new Date().toUTCString().replace('GMT', '+0000');
  const nonce = randomBytes(4).toString('hex');
  for (let i = 0; i < count; i++) {
    const n = sent++;
    const from = `${SURNAMES[n % SURNAMES.length]}.${String(n % SENDERS).padStart(4, '0')}@${ORG.internalDomains[0]}`;
    const to = `${SURNAMES[(n + 3) % SURNAMES.length]}@${EXTERNAL[n % EXTERNAL.length]}`;
    const cc = `${SURNAMES[(n + 7) % SURNAMES.length]}.${String((n + 1) % SENDERS).padStart(4, '0')}@${ORG.internalDomains[0]}`;
    const id = `${tag}.${i}.${nonce}@city.example.lg.jp`;
    const queueId = `4V${(i * 7919 + 12345).toString(36).toUpperCase().padStart(8, '0')}`;
    const headers = [
      `Received: from pc-${String(i % 500).padStart(4, '0')}.soumu.city.example.lg.jp (pc-${String(i % 500).padStart(4, '0')}.soumu.city.example.lg.jp [10.20.${i % 200}.${(i % 250) + 1}])`,
      `\tby mx-int.city.example.lg.jp (Postfix) with ESMTPS id ${queueId}`,
      `\tfor <${to}>; ${date}`,
      `Received: from mx-int.city.example.lg.jp (mx-int.city.example.lg.jp [10.1.0.25])`,
      `\tby relay01.city.example.lg.jp (Postfix) with ESMTP id R${queueId}`,
      `\tfor <${to}>; ${date}`,
      `Date: ${date}`,
      `From: ${mimeWord('鈴木 花子')} <${from}>`,
      `To: ${mimeWord('山田 太郎')} <${to}>`,
      `Cc: ${mimeWord('情報政策課 共有')} <${cc}>`,
      `Subject: ${mimeWord(`【○○市】庁内ネットワーク更改業務 仕様書修正版の送付について(No.${i})`)}`,
      `Message-ID: <${id}>`,
      `In-Reply-To: <prev.${i}.${nonce}@${EXTERNAL[n % EXTERNAL.length]}>`,
      `References: <first.${nonce}@city.example.lg.jp> <prev.${i}.${nonce}@${EXTERNAL[n % EXTERNAL.length]}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset="UTF-8"; format=flowed',
      'Content-Transfer-Encoding: base64',
      'Content-Language: ja-JP',
      'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.11.0',
      'Organization: City of Example, General Affairs Department',
      `X-Priority: 3`,
    ];
    out.push({ id, envelope: { from, to: [to, cc] }, raw: Buffer.from(`${headers.join('\r\n')}\r\n\r\n${BODY}\r\n`, 'utf8') });
  }
  return out;
}
