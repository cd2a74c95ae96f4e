import { composeNotice } from '../message/compose.js';
import type { Envelope } from '../message/envelope.js';
import { ID_HEADER, prependHeader } from '../message/headers.js';
import { newMessageId } from '../message/id.js';

export interface Refusal {
  address: string;
  reply: string;
}

/**
 * The notice to the sender when the next hop took a message for some recipients and refused
 * others for good: like a bounce, from the null sender so it can never loop.
 */
export async function nonDeliveryNotice(opts: { ref: string; sender: string; subject: string; refused: Refusal[]; hostname: string }): Promise<{ id: string; envelope: Envelope; raw: Buffer }> {
  const list = opts.refused.map((r) => `  ${r.address}\n    ${r.reply.replace(/[\r\n]+/g, ' ')}`).join('\n');
  const text = [
    '次の宛先にはメールを配信できませんでした。他の宛先には配信されています。',
    '',
    `件名: ${opts.subject}`,
    `outguard ID: ${opts.ref}`,
    '',
    '配信できなかった宛先と、配送先サーバーの応答:',
    list,
    '',
    '----',
    'Your message could not be delivered to the recipients below. It was delivered to the others.',
    '',
    `Subject: ${opts.subject}`,
    `outguard ID: ${opts.ref}`,
    '',
    'Recipients not delivered, with the reply of the next server:',
    list,
    '',
  ].join('\n');
  const id = newMessageId();
  const raw = await composeNotice({
    from: `MAILER-DAEMON@${opts.hostname}`,
    to: [opts.sender],
    subject: `配信できなかった宛先があります / Undelivered recipients: ${opts.subject}`.slice(0, 200),
    text,
    headers: { 'X-Outguard-Notice': 'non-delivery', 'X-Outguard-Ref': opts.ref, 'Auto-Submitted': 'auto-replied' },
  });
  return { id, envelope: { from: '', to: [opts.sender] }, raw: prependHeader(raw, ID_HEADER, id) };
}
