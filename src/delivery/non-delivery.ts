import { composeNotice } from '../message/compose.js';
import type { Envelope } from '../message/envelope.js';
import { ID_HEADER, prependHeader } from '../message/headers.js';
import { newMessageId } from '../message/id.js';
import { oneLine } from '../message/one-line.js';

export interface Refusal {
  address: string;
  reply: string;
}

/**
 * The notice to the sender when the next hop took a message for some recipients and refused
 * others for good: like a bounce, from the null sender so it can never loop.
 */
export async function nonDeliveryNotice(opts: { ref: string; sender: string; subject: string; refused: Refusal[]; hostname: string }): Promise<{ id: string; envelope: Envelope; raw: Buffer }> {
  // the subject, the addresses and the next server's replies each on one line (src/message/one-line.ts)
  const subject = oneLine(opts.subject);
  const list = opts.refused.map((r) => `  ${oneLine(r.address)}\n    ${oneLine(r.reply, 500)}`).join('\n');
  const text = [
    '次の宛先にはメールを配信できませんでした。他の宛先には配信されています。',
    '',
    `件名: ${subject || '(件名なし)'}`,
    `outguard ID: ${opts.ref}`,
    '',
    '配信できなかった宛先と、配送先サーバーの応答:',
    list,
    '',
    '----',
    'Your message could not be delivered to the recipients below. It was delivered to the others.',
    '',
    `Subject: ${subject || '(no subject)'}`,
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
    subject: `配信できなかった宛先があります / Undelivered recipients: ${oneLine(opts.subject, 120)}`,
    text,
    headers: { 'X-Outguard-Notice': 'non-delivery', 'X-Outguard-Ref': opts.ref, 'Auto-Submitted': 'auto-replied' },
  });
  return { id, envelope: { from: '', to: [opts.sender] }, raw: prependHeader(raw, ID_HEADER, id) };
}
