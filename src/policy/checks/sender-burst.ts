import { type Check, domainOf, param } from '../check.js';

/**
 * A leaking or hijacked account: more than `max` external messages from one sender within
 * `windowMinutes`. The counts come from the context (an in-process TTL cache of delivered mail).
 */
export const senderBurst: Check<{ max: number; windowMinutes: number }> = {
  name: 'sender-burst',
  params: (raw) => ({ max: param.number(raw, 'max', 30, 1), windowMinutes: param.number(raw, 'windowMinutes', 10, 1) }),
  run({ envelope }, ctx, { max, windowMinutes }) {
    const sender = envelope.from.toLowerCase();
    if (sender === '' || !envelope.to.some((a) => !ctx.isInternal(domainOf(a)))) return [];
    const count = ctx.recentExternalMessages(sender, windowMinutes) + 1;
    if (count <= max) return [];
    return [
      {
        value: sender,
        detail: { ja: `${windowMinutes}分間に社外宛てのメール${count}通（上限 ${max}通）`, en: `${count} external messages within ${windowMinutes} minutes (more than ${max})` },
      },
    ];
  },
};
