import { type Check, allRecipients, param } from '../check.js';

/**
 * A recipient (envelope RCPT TO or header To/Cc/Bcc) found in a named list. Used for 第6-3
 * (anonymous, disposable and alias mail services) and 第7 (e-mail-in addresses of online
 * services): one rule per list, so each list has its own action.
 */
function listedRecipient(name: string, defaultList: string, what: { ja: string; en: string }): Check<{ list: string }> {
  return {
    name,
    params: (raw, env) => ({ list: param.list(raw, 'list', defaultList, env) }),
    run(input, ctx, { list }) {
      const entries = ctx.list(list);
      return allRecipients(input).flatMap((address) => {
        if (ctx.allowed(address)) return [];
        const entry = entries.matchAddress(address);
        return entry ? [{ value: address, detail: { ja: `${what.ja}（${list}: ${entry}）`, en: `${what.en} (${list}: ${entry})` } }] : [];
      });
    },
  };
}

export const anonymousRecipient = listedRecipient('anonymous-recipient', 'anonymous-mail', {
  ja: '匿名・使い捨てのメールサービス',
  en: 'anonymous or disposable mail service',
});
export const onlineServiceRecipient = listedRecipient('online-service-recipient', 'online-service', {
  ja: 'オンラインサービスのメール投稿用アドレス',
  en: 'e-mail-in address of an online service',
});
