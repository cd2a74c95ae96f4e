import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_LINE, hasLongLine, longLineReplacements, partsWithLongLines, substitute } from '../../src/message/long-lines.js';
import { MessageModel } from '../../src/message/model.js';
import { assemble } from '../../src/message/rewrite.js';
import { BufferSource, bytesToBuffer } from '../../src/message/source.js';

const source = (text: string | Buffer) => new BufferSource(Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1'));

describe('lines too long to send', () => {
  it('finds a line over 998 characters, wherever the 256 KiB pieces it is read in cut it', () => {
    const row = `${'x'.repeat(MAX_LINE)}\r\n`;
    const ok = row.repeat(600);
    expect(hasLongLine(source(ok), 0, ok.length)).toBe(false);
    for (const rows of [0, 262, 263, 599]) {
      const text = `${row.repeat(rows)}${'z'.repeat(MAX_LINE + 1)}\r\n${row.repeat(600 - rows)}`;
      expect(hasLongLine(source(text), 0, text.length)).toBe(true);
    }
    expect(hasLongLine(source(`${'x'.repeat(MAX_LINE)}\n`), 0, MAX_LINE + 1)).toBe(false);
    expect(hasLongLine(source('x'.repeat(MAX_LINE + 1)), 0, MAX_LINE + 1)).toBe(true);
  });

  it('re-encodes only the parts with long lines; what a client decodes stays the same, byte for byte', async () => {
    const binary = randomBytes(3000);
    const text = `${'é'.repeat(700)} trailing space \r\nnext\tline=with=equals\r\n${'a'.repeat(1200)}`;
    const raw = Buffer.from(
      [
        'Subject: t', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '',
        '--b', 'Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: 8bit', '', text,
        '--b', 'Content-Type: text/plain', '', 'short',
        '--b', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '', binary.toString('base64'),
        '--b--', '',
      ].join('\r\n'),
      'utf8',
    );
    const message = MessageModel.parse(raw);
    expect(partsWithLongLines(message).map((n) => n.id)).toEqual([1, 3]);
    const copy = await bytesToBuffer(assemble(message.source, substitute([{ from: 0, to: raw.length }], longLineReplacements(message))));
    expect(Math.max(...copy.toString('latin1').split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(76);
    const again = MessageModel.parse(copy);
    expect(again.textParts).toEqual([text, 'short']);
    expect(again.attachments[0]!.content().equals(binary)).toBe(true);
    expect(again.ambiguities).toEqual([]);
    // the short part is the original's bytes
    expect(copy.includes('Content-Type: text/plain\r\n\r\nshort')).toBe(true);
  });

  it('re-encodes a single-part message, adding MIME-Version so clients read the encoding', async () => {
    const raw = Buffer.from(`From: a@example.co.jp\nSubject: one part\n\n${'w'.repeat(1500)}\n`);
    const message = MessageModel.parse(raw);
    const copy = await bytesToBuffer(assemble(message.source, substitute([{ from: 0, to: raw.length }], longLineReplacements(message))));
    expect(copy.toString('latin1')).toMatch(/^From: a@example\.co\.jp\nSubject: one part\nMIME-Version: 1\.0\nContent-Transfer-Encoding: quoted-printable\n\n/);
    expect(copy.includes('\r')).toBe(false);
    expect(MessageModel.parse(copy).textParts).toEqual([`${'w'.repeat(1500)}\n`]);
  });
});
