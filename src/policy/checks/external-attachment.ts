import { type Check, domainOf } from '../check.js';

/**
 * 第6-1: a message with attachments (not inline images) going to an external recipient. By
 * default such mail is held, so the sender looks at what is attached before it leaves.
 */
export const externalAttachment: Check<Record<string, never>> = {
  name: 'external-attachment',
  params: () => ({}),
  run({ message, envelope }, ctx) {
    const external = envelope.to.filter((a) => !ctx.isInternal(domainOf(a)) && !ctx.allowed(a));
    if (external.length === 0) return [];
    const files = message.attachments.filter((a) => !a.inline).map((a) => a.filename);
    if (files.length === 0) return [];
    const to = external.join(', ');
    return [{ value: files.join(', '), detail: { ja: `社外の宛先 ${to} へ添付ファイル${files.length}件`, en: `${files.length} attachment(s) to ${to}` } }];
  },
};
