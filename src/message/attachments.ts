import { createHash } from 'node:crypto';
import type { ParsedMessage } from './parse.js';

export interface AttachmentDigest {
  name: string;
  size: number;
  /** Lowercase hex SHA-256 of the decoded bytes, as the sender attached them. */
  sha256: string;
}

/** Attachments that are not inline images (the ones the encryption step packs), with size and SHA-256 of the decoded bytes. */
export function attachmentDigests(message: ParsedMessage): AttachmentDigest[] {
  return message.attachments
    .filter((a) => !a.inline)
    .map((a) => {
      const content = a.content();
      return { name: a.filename, size: content.length, sha256: createHash('sha256').update(content).digest('hex') };
    });
}
