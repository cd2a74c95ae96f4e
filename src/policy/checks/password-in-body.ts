import { htmlToText } from '../../message/urls.js';
import { type Check } from '../check.js';

// A label, then a separator or "は"/"is", then something password-like on the same line.
const PASSWORD_LINE =
  /(パスワード|ﾊﾟｽﾜｰﾄﾞ|暗証番号|解凍キー|\bpass(?:word|wd|code| word)?\b|\bpwd\b|\bP\/?W\b)(?:\s*(?:[:：=＝]|は|is\b)\s*[「『"']?|\s*[「『])([\x21-\x7e]{4,}|[Ａ-Ｚａ-ｚ０-９]{4,})/i;


/**
 * 第6-2: the password of an encrypted attachment written into the same mail. Only reported when
 * the message really carries an encrypted attachment, so a sign-up mail mentioning "password" passes.
 */
export const passwordInBody: Check<Record<string, never>> = {
  name: 'password-in-body',
  params: () => ({}),
  run({ message }) {
    if (message.attachments.length === 0) return [];
    const texts = [...message.textParts, ...message.htmlParts.map(htmlToText)];
    let line: string | undefined;
    for (const text of texts) {
      for (const l of text.split(/\r?\n/)) {
        if (PASSWORD_LINE.test(l)) {
          line = l.trim();
          break;
        }
      }
      if (line) break;
    }
    if (!line) return [];
    const encrypted = message.attachments.find((a) => a.encryption !== undefined);
    if (!encrypted) return [];
    // never echo the password itself: show the label only
    const label = PASSWORD_LINE.exec(line)![1]!;
    return [
      {
        value: encrypted.filename,
        detail: {
          ja: `本文に「${label}」の行があり、暗号化された添付ファイル ${encrypted.filename} と同じメールに入っています`,
          en: `a "${label}" line in the body and the encrypted attachment ${encrypted.filename} in the same message`,
        },
      },
    ];
  },
};
