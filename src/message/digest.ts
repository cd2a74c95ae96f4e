import { createHmac } from 'node:crypto';
import type { Envelope } from './envelope.js';
import { type ByteSource, rangeChunks, toSource } from './source.js';

/**
 * A keyed digest of a message as its client sent it (envelope and bytes). The same message sent
 * again — a client retrying after a lost answer or a crash — has the same digest, so outguard can
 * recognise it and not send it (or hold it) twice. Keyed, so the digest says nothing of the
 * message to anyone without the data-at-rest key.
 */
export function messageDigest(key: Buffer, envelope: Envelope, raw: Buffer | ByteSource): string {
  const hmac = createHmac('sha256', key).update(`${envelope.from}\0${envelope.to.join('\n')}\0`);
  for (const piece of rangeChunks(toSource(raw))) hmac.update(piece);
  return hmac.digest('hex');
}
