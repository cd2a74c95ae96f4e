import { type Check, allRecipients, param } from '../check.js';

/**
 * 第6-3: a recipient (envelope RCPT TO or header To/Cc/Bcc) at an anonymous, disposable or
 * alias service named in a list. One rule per list, so each list gets its own action.
 */
export const anonymousRecipient: Check<{ list: string }> = {
  name: 'anonymous-recipient',
  params: (raw, env) => ({ list: param.list(raw, 'list', 'anonymous-mail', env) }),
  run(input, ctx, { list }) {
    const names = ctx.list(list);
    return allRecipients(input).flatMap((address) => {
      if (ctx.allowed(address)) return [];
      const entry = names.matchAddress(address);
      return entry ? [{ value: address, detail: `listed in ${list} as ${entry}` }] : [];
    });
  },
};
