import { type Check, domainOf, param } from '../check.js';

/**
 * 第6-1: more than `max` external addresses visible to each other in To/Cc (a customer list
 * exposed to every customer). Bcc is the remedy, so Bcc is not counted.
 */
export const recipientExposure: Check<{ max: number }> = {
  name: 'recipient-exposure',
  params: (raw) => ({ max: param.number(raw, 'max', 1, 0) }),
  run({ message }, ctx, { max }) {
    const visible = new Set(
      [...message.to, ...message.cc].map((a) => a.address.toLowerCase()).filter((a) => !ctx.isInternal(domainOf(a)) && !ctx.allowed(a)),
    );
    if (visible.size <= max) return [];
    return [
      {
        value: [...visible].join(', '),
        detail: {
          ja: `社外のアドレス${visible.size}件が To/Cc で互いに見えています（上限 ${max}件）。Bcc を使ってください`,
          en: `${visible.size} external addresses visible in To/Cc (more than ${max}); use Bcc`,
        },
      },
    ];
  },
};
