/**
 * Test data the benchmarks share: seeded Japanese business prose (the same text on every run) and
 * files of random bytes.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

const MiB = 1024 * 1024;

/** A small, seeded PRNG, so the text is the same on every run. */
export function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

export const SUBJECTS = ['当課', '受託者', '委託者', '情報政策課', '総務部', '担当者', '保守事業者', '本市', '監査法人', '利用部署', '再委託先', '運用チーム'];
export const OBJECTS = ['個人情報', '業務データ', '設計書', '見積書', '議事録', 'ログファイル', 'アクセス権限', '電子メール', '外部記録媒体', 'バックアップ', '仕様書', '納品物', '端末', 'パスワード'];
const VERBS = ['適切に管理する', '速やかに報告する', '定期的に確認する', '暗号化して送付する', '施錠保管する', '確実に消去する', '事前に承認を得る', '記録として保存する', '点検を実施する', '是正措置を講じる'];
const CLAUSES = ['ことが求められる', 'ものとする', '必要がある', 'よう努めなければならない', '予定である', 'ことを確認した', 'べきである'];
const OPENERS = ['なお、', 'また、', 'ただし、', '前回の打合せを受け、', '先般ご依頼の件につき、', '監査の指摘事項として、', '令和8年度においては、', ''];
export const NAMES = ['山田', '鈴木', '佐藤', '高橋', '田中', '伊藤', '渡辺', '中村', '小林', '加藤'];

/** Japanese business prose, paragraphs of varied sentences with dates, amounts and names. */
export function japaneseProse(bytes: number, seed = 42): Buffer {
  const r = prng(seed);
  const pick = <T>(a: T[]) => a[r(a.length)]!;
  const parts: string[] = [];
  let n = 0;
  let para = 0;
  while (n < bytes) {
    let p = `${++para}．${pick(OBJECTS)}の取扱いについて\n`;
    for (let s = 3 + r(5); s > 0; s--) {
      p += `${pick(OPENERS)}${pick(SUBJECTS)}は、${pick(OBJECTS)}及び${pick(OBJECTS)}を${pick(VERBS)}${pick(CLAUSES)}。`;
      if (r(3) === 0) p += `（${2026 + r(2)}年${1 + r(12)}月${1 + r(28)}日、${pick(NAMES)}${r(2) ? '主任' : '係長'}確認、金額${(r(900) + 100) * 1000}円）`;
    }
    p += '\n\n';
    parts.push(p);
    n += Buffer.byteLength(p);
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

export function writeRandom(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w');
  for (let left = bytes; left > 0; left -= MiB) fs.writeSync(fd, randomBytes(Math.min(MiB, left)));
  fs.closeSync(fd);
}
