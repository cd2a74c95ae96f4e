import path from 'node:path';
import { type Config, DEFAULTS } from '../config/schema.js';
import { KNOWN_DOMAINS_FILE_NAME } from '../store/known-domains.js';
import { KEY_FILE_NAME, SECRET_ENV } from '../store/secret-key.js';
import { SPOOL_DIR_NAME } from '../store/spool.js';
import { DATABASE_FILE_NAME } from '../store/sqlite.js';

/**
 * 別記様式「電子データの保存等に関する届出書」 (特記事項 第3-4: declare where the data of the
 * contract is stored) for outguard's own storage, filled from config.compliance and the data
 * directory. A fact the config does not give is left visibly blank (BLANK) and named in
 * `warnings` (with its config key), so the form can still be printed and completed by hand.
 */

export const BLANK = '（未記入）';

export interface NoticeForm {
  /** The date on the form, 2026年11月26日. */
  date: string;
  /** 宛先: the client the form goes to (compliance.contract.client); '' when not set (a line to fill in). */
  addressee: string;
  address: string;
  name: string;
  contractDate: string;
  contractTitle: string;
  /** 1: the media, and what outguard itself keeps there (a note under the item, files by name). */
  medium: string;
  stores: string[];
  /** 2 */
  location: string;
  onlyInJapan: boolean;
  countries: string;
  overseasData: string;
  /** 3: none: 無. */
  cloudServices: { service: string; provider: string; location: string }[];
  /** 4: none: 無. */
  subcontractors: { name: string; work: string }[];
  /** One line per missing fact, naming its config key. */
  warnings: string[];
}

/** 2026-11-26 → 2026年11月26日; other text as written. */
export function japaneseDate(text: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  return m ? `${m[1]}年${Number(m[2])}月${Number(m[3])}日` : text;
}

/** Whether text is a real calendar date written YYYY-MM-DD. */
export function isIsoDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text);
}

/** Today in Japan time, YYYY-MM-DD. */
export function todayInJapan(now: number = Date.now()): string {
  return new Date(now + 9 * 3_600_000).toISOString().slice(0, 10);
}

export function noticeForm(config: Config, options: { date: string; env?: NodeJS.ProcessEnv }): NoticeForm {
  const warnings: string[] = [];
  const fact = (value: string, key: string, what: string): string => {
    if (value.trim() !== '') return value;
    warnings.push(`${key} is not set: ${what} is printed as ${BLANK}`);
    return BLANK;
  };
  const c = config.compliance;
  const s = c.storage;
  const location = s.location === DEFAULTS.compliance.storage.location ? '' : s.location;
  // the addressee's blank is a line to write on, not （未記入）: a name is written there by hand, with 殿 printed
  const addressee = c.contract.client.trim();
  if (addressee === '') warnings.push('compliance.contract.client is not set: the addressee (宛先) is printed as a line to fill in');
  return {
    date: japaneseDate(options.date),
    addressee,
    address: fact(c.contractor.address, 'compliance.contractor.address', '（住所）'),
    name: fact(c.contractor.name, 'compliance.contractor.name', '（氏名又は法人名等）'),
    contractDate: japaneseDate(fact(c.contract.date, 'compliance.contract.date', 'the contract date / 契約日')),
    contractTitle: fact(c.contract.title, 'compliance.contract.title', 'the contract title / 業務委託契約名'),
    medium: fact(s.medium, 'compliance.storage.medium', 'item 1 / 媒体等の名称'),
    stores: whatOutguardStores(config, options.env ?? process.env),
    location: fact(location, 'compliance.storage.location', 'item 2, where the server stands / 物理的な所在地'),
    onlyInJapan: s.onlyInJapan,
    countries: s.onlyInJapan ? '' : fact(s.countries.join('、'), 'compliance.storage.countries', 'item 2, the countries outside Japan / 国名'),
    overseasData: s.onlyInJapan ? '' : fact(s.overseasData, 'compliance.storage.overseasData', 'item 2, what is kept outside Japan / 日本国外に保存する電子データの概要'),
    cloudServices: s.cloudServices.map((e, i) => ({
      service: fact(e.service, `compliance.storage.cloudServices[${i}].service`, 'item 3 ア サービス名称'),
      provider: fact(e.provider, `compliance.storage.cloudServices[${i}].provider`, 'item 3 イ 利用契約先の名称'),
      location: fact(e.location, `compliance.storage.cloudServices[${i}].location`, 'item 3 ウ 物理的保存先'),
    })),
    subcontractors: s.subcontractors.map((e, i) => ({
      name: fact(e.name, `compliance.storage.subcontractors[${i}].name`, 'item 4 再委託先等の名称'),
      work: fact(e.work, `compliance.storage.subcontractors[${i}].work`, 'item 4 委託する具体的な業務内容'),
    })),
    warnings,
  };
}

/**
 * What outguard keeps, from the config: the note under item 1. Files are named, not their paths
 * on the server: the reader needs to know what is kept, and a server path tells the client nothing
 * (and belongs to no government form).
 */
function whatOutguardStores(config: Config, env: NodeJS.ProcessEnv): string[] {
  const days = config.retention.bodyDays;
  const lines = [
    `${DATABASE_FILE_NAME}（SQLite データベース）：保留中のメール（本文・添付ファイルを 1 通ごとの鍵で AES-256-GCM 暗号化、判断から ${days} 日後に鍵ごと消去）、送信キュー（通知と送信待ちのメール、同様に暗号化、送信後に消去）、監査ログ（ハッシュチェーン、本文は含まない）、インシデントの記録`,
    env[SECRET_ENV] ? `保存時暗号化の鍵：環境変数 ${SECRET_ENV} から与えられ、データディレクトリには保存しない` : `${KEY_FILE_NAME}：保存時暗号化の鍵（所有者のみ読み取り可）`,
    `${KNOWN_DOMAINS_FILE_NAME}：送信したことのある社外ドメインの一覧`,
    `${SPOOL_DIR_NAME} フォルダ：受信中・処理中の大きなメール（1 通ごとにメモリ上だけにある鍵で AES-256-GCM 暗号化、応答後すぐに削除）`,
  ];
  if (config.nextHop.kind === 'file') lines.push(`配送先フォルダ（${path.basename(config.nextHop.dir)}）：配送したメール（1 通 1 ファイル、暗号化なし。次の配送先をフォルダにしている場合）`);
  return lines;
}
