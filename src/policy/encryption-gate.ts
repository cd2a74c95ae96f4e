import type { AmbiguityCode } from '../message/mime.js';
import type { MessageModel } from '../message/model.js';
import { type CheckContext, type CheckInput, domainOf } from './check.js';
import type { EncryptionSettings } from './encryption.js';
import type { Bilingual } from '../render/bilingual.js';
import { type Finding, detailFields } from './verdict.js';

const CLAUSE = '遵守事項 第6-2';

/** The rules built into the engine (no policy can drop them), with their texts for people. */
export const BUILT_IN_RULES = {
  'ambiguous-mime': {
    clause: CLAUSE,
    ja: 'メールの構造があいまいで、メールソフトによって見える添付ファイルが異なる可能性があります。そのままでは社外に送信できません。',
    en: 'message structure is ambiguous: mail clients could show different attachments',
  },
  'signed-message': {
    clause: CLAUSE,
    ja: '署名付きメールの添付ファイルは、署名を壊さずに暗号化できません。',
    en: 'signed message with attachments cannot be encrypted without breaking the signature',
  },
  'already-encrypted': {
    clause: CLAUSE,
    ja: '添付ファイルがすでに暗号化されています。',
    en: 'attachment is already encrypted',
  },
  'embedded-file': {
    clause: CLAUSE,
    ja: '本文中に埋め込まれたファイル（uuencode、BinHex、yEnc、data: URI）があるため、メール全体を暗号化ZIPに入れて送信します。',
    en: 'files embedded in the body text: the whole message goes into the encrypted ZIP',
  },
} as const;

export type BuiltInRule = keyof typeof BUILT_IN_RULES;

/** What each kind of ambiguity means, for the sender on the release page and for reviewers. */
const AMBIGUITY_JA: Record<AmbiguityCode, string> = {
  'duplicate-header': '同じ種類のMIMEヘッダーが内容を変えて2つあります',
  'content-type-unclear': 'Content-Type の書き方が、メールソフトによって異なる読み方をされます',
  'header-not-a-header': 'ヘッダー部分にヘッダーでない行があります',
  'bare-cr': 'CRだけの改行があります',
  'no-boundary': 'マルチパートに区切り文字列（boundary）がありません',
  'boundary-not-found': '宣言された区切り文字列が本文に現れません',
  'boundary-whitespace': '区切り文字列の宣言と実際の区切りで空白が異なります',
  'boundary-reused': '入れ子のパートが外側と同じ区切り文字列を使っています',
  'boundary-conflict': '区切り文字列が2つ宣言されています',
  'boundary-prefix': '区切り文字列で始まり別の文字が続く行の後にMIMEヘッダーがあります',
  'content-outside-parts': 'パートの外（前置き・後書き）にMIMEヘッダーがあります',
  'part-after-close': '終了の区切りの後にパートがあります',
  'too-deep': 'マルチパートの入れ子が深すぎます',
  'too-many-parts': 'MIMEパートが多すぎます',
  'undecodable-base64': 'base64 のデータが不完全、またはパディングの後に続きがあり、デコーダーによって結果が異なります',
  'encoded-multipart': 'マルチパートに転送エンコーディングが指定されています',
};

/** A built-in rule's texts by id (for pages), or undefined for any other id. */
export function builtInRule(id: string): (typeof BUILT_IN_RULES)[BuiltInRule] | undefined {
  return Object.hasOwn(BUILT_IN_RULES, id) ? BUILT_IN_RULES[id as BuiltInRule] : undefined;
}

function finding(rule: BuiltInRule, severity: Finding['severity'], value: string, detail?: Bilingual): Finding {
  const r = BUILT_IN_RULES[rule];
  return { rule, clause: r.clause, severity, message: `${r.ja} / ${r.en}`, reason: r.en, value, ...detailFields(detail) };
}

/** At most 1,000 characters of a detail: a message can have up to 50 ambiguities. */
const capped = (text: string) => (text.length > 1000 ? `${text.slice(0, 1000)}…` : text);

/**
 * 第6-2 as the engine applies it to every message with an outside recipient (while encryption is
 * on): what cannot leave as the encryption step would send it. A message clients could read
 * differently is held or rejected (`encryption.ambiguous`); files under a signature are held or
 * rejected (`encryption.signed`: re-packing breaks the signature, passing them leaves them in the
 * clear); already-encrypted files are held when `encryption.alreadyEncrypted: hold`; files inside
 * the body text are recorded (the message then goes whole into the ZIP).
 */
export function encryptionFindings(input: CheckInput, ctx: CheckContext, settings: EncryptionSettings): Finding[] {
  if (!settings.enabled) return [];
  if (!input.envelope.to.some((a) => !ctx.isInternal(domainOf(a)))) return [];
  const message: MessageModel = input.message;
  const out: Finding[] = [];
  if (message.ambiguities.length > 0) {
    const codes = [...new Set(message.ambiguities.map((a) => a.code))];
    const ja = message.ambiguities.map((a) => `${AMBIGUITY_JA[a.code]}（${a.detail}）`).join('; ');
    const en = message.ambiguities.map((a) => a.detail).join('; ');
    out.push(finding('ambiguous-mime', settings.ambiguous, codes.join(', '), { ja: capped(ja), en: capped(en) }));
  }
  const files = message.files;
  const signed = files.filter((f) => f.signed);
  if (signed.length > 0) out.push(finding('signed-message', settings.signed, names(signed)));
  if (settings.alreadyEncrypted === 'hold') {
    const encrypted = files.filter((f) => f.origin === 'part' && f.encryption !== undefined);
    if (encrypted.length > 0) out.push(finding('already-encrypted', 'hold', names(encrypted)));
  }
  const embedded = message.embedded;
  if (embedded.length > 0) {
    const origins = [...new Set(embedded.map((f) => f.origin))].join(', ');
    out.push(finding('embedded-file', 'monitor', names(embedded), { ja: `埋め込みの形式: ${origins}`, en: `embedded as ${origins}` }));
  }
  return out;
}

/** Already password-protected files that travel as they are: recorded (第6-2 is met by their own encryption). */
export function passedAsIsFinding(files: string[]): Finding {
  return { ...finding('already-encrypted', 'monitor', files.join(', ')), message: 'すでに暗号化された添付ファイルをそのまま送信しました。 / attachment already encrypted, sent as it is', reason: 'attachment already encrypted, sent as it is' };
}

function names(files: { filename: string }[]): string {
  const list = files.map((f) => f.filename);
  return list.length > 20 ? `${list.slice(0, 20).join(', ')} … (${list.length})` : list.join(', ');
}
