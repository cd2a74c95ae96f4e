/**
 * The shipped rules named in words, for the people who read about them: senders (notices, the
 * release page), the client (incident reports) and reviewers. Rule ids stay in the audit log, the
 * CSV and JSON exports, the SMTP replies and the logs; words are only for reading.
 *
 * Keyed by rule id: the rules of policies/default.yaml (whose ids are the names of the built-in
 * checks) and the rules the engine applies itself (encryption-gate.ts). test/policy/rule-names
 * fails when a shipped rule has no name here.
 */
export const RULE_NAMES: Readonly<Record<string, { ja: string; en: string }>> = {
  'anonymous-recipient': { ja: '匿名・使い捨てのメールサービスへの送信', en: 'Anonymous or disposable mail service' },
  'anonymous-relay': { ja: '匿名の転送サービスへの送信', en: 'Anonymous relay or alias service' },
  'online-service-recipient': { ja: 'オンラインサービスへのメール投稿', en: 'E-mail-in address of an online service' },
  'file-transfer-link': { ja: '匿名のファイル転送サービスへのリンク', en: 'Link to an anonymous file-transfer service' },
  'attachment-type': { ja: '実行ファイルなど危険な添付ファイル', en: 'Executable or disguised attachment' },
  'password-in-body': { ja: '同じメールに書かれたパスワード', en: 'Password written in the same mail' },
  'external-attachment': { ja: '社外宛ての添付ファイル', en: 'Attachment to an outside address' },
  'lookalike-domain': { ja: '社内・取引先に似たドメイン', en: 'Lookalike recipient domain' },
  'first-time-domain': { ja: '初めて送信するドメイン', en: 'First message to a domain' },
  'recipient-exposure': { ja: '社外の宛先が互いに見える', en: 'External recipients visible to each other' },
  'sender-burst': { ja: '短時間の大量送信', en: 'Unusually many external messages' },
  'ambiguous-mime': { ja: '構造があいまいなメール', en: 'Ambiguous message structure' },
  'signed-message': { ja: '署名付きメールの添付ファイル', en: 'Attachments under a signature' },
  'already-encrypted': { ja: '暗号化済みの添付ファイル', en: 'Attachment already encrypted' },
  'embedded-file': { ja: '本文に埋め込まれたファイル', en: 'File embedded in the body text' },
};

/** A rule's name in words; a rule this table does not know (a plugin, an admin's own id) is named by its id. */
export function ruleName(id: string): { ja: string; en: string } {
  return Object.hasOwn(RULE_NAMES, id) ? RULE_NAMES[id]! : { ja: id, en: id };
}
