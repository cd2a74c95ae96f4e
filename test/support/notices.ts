/**
 * Reading what the gateway sends (copies and its notices) and acting on a confirmation notice.
 * Free of vitest: bench/soak.ts uses it through crash-harness.ts.
 */
import { MessageModel } from '../../src/message/model.js';

/** The value of a header in the top header block (its first line, trimmed). */
export function headerOf(raw: Buffer, name: string): string | undefined {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
  return new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head)?.[1]?.trim();
}

/** The password from a notice: its one line "Password: …" (undefined when there is not exactly one). */
export function passwordOf(notice: Buffer): string | undefined {
  const lines = MessageModel.parse(notice)
    .textParts.join('\n')
    .split(/\r?\n/)
    .filter((l) => l.startsWith('Password: '));
  return lines.length === 1 ? lines[0]!.slice('Password: '.length).trim() : undefined;
}

/** The first release link (http://127.0.0.1:PORT/hold/TOKEN) in the text parts of a confirmation notice. */
export function releaseLinkOf(notice: Buffer): string | undefined {
  return /(http:\/\/127\.0\.0\.1:\d+\/hold\/\S+)/.exec(MessageModel.parse(notice).textParts.join('\n'))?.[1];
}

/** Releases a hold as the sender does on its release page: the page's JSON API, every confirmation ticked. */
export function releaseByApi(link: string): Promise<Response> {
  return fetch(link.replace('/hold/', '/api/holds/') + '/release', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-outguard-request': '1' },
    body: JSON.stringify({ confirm: { recipients: true, body: true, attachments: true } }),
  });
}
