import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMime, type MimeNode } from '../../src/message/mime.js';
import { MessageModel } from '../../src/message/model.js';
import { type NewPart, assemble, base64Lines, rewriteParts } from '../../src/message/rewrite.js';
import { BufferSource, bytesToBuffer } from '../../src/message/source.js';
import { CORPUS_DIR, HAS_CORPUS, corpusFiles, corpusMessage } from '../support/corpus.js';
import { withAttachments } from '../support/mime.js';

const zipPart = (name = 'attachments.zip') => ({
  headers: [`Content-Type: application/zip; name="${name}"`, 'Content-Transfer-Encoding: base64', `Content-Disposition: attachment; filename="${name}"`],
  body: base64Lines(Buffer.from('PK fake zip')),
});

function leaves(node: MimeNode): MimeNode[] {
  return node.children.length ? node.children.flatMap(leaves) : [node];
}

const headerBlock = (raw: Buffer) => raw.subarray(0, raw.indexOf('\r\n\r\n'));

/** rewriteParts over a message in memory, its pieces read into one buffer to compare and parse again. */
const rewrite = (raw: Buffer, root: MimeNode, remove: ReadonlySet<MimeNode>, add: NewPart[]): Promise<Buffer> => {
  const source = new BufferSource(raw);
  return bytesToBuffer(assemble(source, rewriteParts(source, root, remove, add)));
};

describe('rewriteParts', () => {
  it('drops the attachments of a multipart/mixed, keeps headers and body bytes, appends the new part', async () => {
    const raw = withAttachments({ body: '本文です。\r\nパスワードは別送します。', files: [{ name: '見積書.pdf', content: Buffer.from('%PDF-1.7 x') }, { name: 'b.bin', content: Buffer.alloc(300, 1) }] });
    const message = MessageModel.parse(raw);
    const root = message.root;
    const out = await rewrite(raw, root, new Set(message.attachments.map((a) => a.node)), [zipPart()]);
    expect(headerBlock(out).equals(headerBlock(raw))).toBe(true);
    const text = leaves(root)[0]!;
    expect(out.includes(raw.subarray(text.start, text.end))).toBe(true);
    const again = MessageModel.parse(out);
    expect(again.attachments.map((a) => a.filename)).toEqual(['attachments.zip']);
    expect(again.textParts).toEqual(MessageModel.parse(raw).textParts);
  });

  it('wraps a message that is not multipart/mixed, keeping its content part intact', async () => {
    const raw = Buffer.from('From: a@example.co.jp\r\nTo: b@partner.example\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\x1b$B$3$s$K$A$O\x1b(B\r\n', 'latin1');
    const out = await rewrite(raw, parseMime(raw).root, new Set(), [zipPart()]);
    const again = MessageModel.parse(out);
    expect(again.root.contentType).toBe('multipart/mixed');
    expect(again.textParts).toEqual(['こんにちは\r\n']);
    expect(again.attachments.map((a) => a.filename)).toEqual(['attachments.zip']);
    expect(out.toString('latin1')).toContain('Subject: x\r\n');
    expect(out.toString('latin1').match(/^MIME-Version:/gim)).toHaveLength(1);
  });

  it('replaces a hand-made message that is only an attachment', async () => {
    const raw = Buffer.from(
      'From: a@example.co.jp\r\nTo: b@partner.example\r\nSubject: only a file\r\nMIME-Version: 1.0\r\nContent-Type: application/pdf; name="a.pdf"\r\n' +
        'Content-Disposition: attachment; filename="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQgdGVzdA==\r\n',
    );
    const message = MessageModel.parse(raw);
    const out = await rewrite(raw, message.root, new Set(message.attachments.map((a) => a.node)), [zipPart()]);
    expect(MessageModel.parse(out).attachments.map((a) => a.filename)).toEqual(['attachments.zip']);
    expect(MessageModel.parse(out).subject).toBe('only a file');
  });

  it.skipIf(!HAS_CORPUS)('replaces a message that is only an attachment', async () => {
    const raw = corpusMessage('mail-gem/attachment_emails/attachment_only_email.eml');
    const message = MessageModel.parse(raw);
    const out = await rewrite(raw, message.root, new Set(message.attachments.map((a) => a.node)), [zipPart()]);
    expect(MessageModel.parse(out).attachments.map((a) => a.filename)).toEqual(['attachments.zip']);
    expect(MessageModel.parse(out).subject).toBe(MessageModel.parse(raw).subject);
  });

  it.skipIf(!HAS_CORPUS)('keeps inline images of multipart/related and nested alternatives byte for byte', async () => {
    const raw = corpusMessage('mail-gem/attachment_emails/attachment_message_rfc822_inline_image.eml');
    const before = MessageModel.parse(raw);
    const remove = new Set(before.attachments.filter((a) => !a.inline).map((a) => a.node));
    const out = await rewrite(raw, before.root, remove, [zipPart()]);
    const after = MessageModel.parse(out);
    expect(after.attachments.map((a) => [a.filename, a.inline])).toEqual([
      ['img.png', true],
      ['attachments.zip', false],
    ]);
    expect(after.htmlParts).toEqual(before.htmlParts);
    const inline = before.attachments.find((a) => a.inline)!.node;
    expect(out.includes(raw.subarray(inline.start, inline.end))).toBe(true);
  });
});

describe.skipIf(!HAS_CORPUS)('rewriteParts over the whole corpus', () => {
  const files = HAS_CORPUS ? corpusFiles() : [];

  it.each(files.map((f) => [path.relative(CORPUS_DIR, f), f]))('%s: attachments out, bodies kept', async (_n, file) => {
    const raw = fs.readFileSync(file);
    const before = MessageModel.parse(raw);
    const out = await rewrite(raw, before.root, new Set(before.attachments.filter((a) => !a.inline).map((a) => a.node)), [zipPart()]);
    const after = MessageModel.parse(out);
    expect(after.attachments.filter((a) => !a.inline).map((a) => a.filename)).toEqual(['attachments.zip']);
    expect(after.textParts).toEqual(before.textParts);
    expect(after.htmlParts).toEqual(before.htmlParts);
    expect(after.subject).toBe(before.subject);
  });
});
