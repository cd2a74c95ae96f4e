import { describe, expect, it } from 'vitest';
import { type AmbiguityCode, type MimeNode, type MimeTree, headerValue, headerValues, parseMime } from '../../src/message/mime.js';
import { MessageModel } from '../../src/message/model.js';
import type { ByteSource } from '../../src/message/source.js';

const crlf = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'latin1');
const lf = (...lines: string[]): Buffer => Buffer.from(lines.join('\n'), 'latin1');
const crlfLines = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'latin1');
const codes = (tree: MimeTree): AmbiguityCode[] => tree.ambiguities.map((a) => a.code);
const whole = (raw: Buffer, node: MimeNode): string => raw.subarray(node.start, node.end).toString('latin1');
const body = (raw: Buffer, node: MimeNode): string => raw.subarray(node.bodyStart, node.end).toString('latin1');

/** A multipart/mixed message with boundary "b" around the given parts (each a list of lines). */
const mixed = (parts: string[][], eol = '\r\n'): Buffer => {
  const lines = ['Subject: t', 'Content-Type: multipart/mixed; boundary=b', ''];
  for (const p of parts) lines.push('--b', ...p);
  lines.push('--b--', '');
  return Buffer.from(lines.join(eol), 'latin1');
};

describe('parseMime: the tree and its byte offsets', () => {
  for (const [name, join] of [
    ['CRLF', crlf],
    ['LF-only', lf],
  ] as const) {
    it(`cuts each part exactly between its delimiters (${name}; the line break before a delimiter belongs to it)`, () => {
      const eol = name === 'CRLF' ? '\r\n' : '\n';
      const raw = join(
        'Subject: offsets',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        'This is a multi-part message in MIME format.',
        '--b',
        'Content-Type: text/plain',
        '',
        'one',
        '--b',
        'Content-Type: application/pdf; name=a.pdf',
        '',
        'two',
        '',
        '--b--',
        'epilogue',
        '',
      );
      const tree = parseMime(raw);
      expect(codes(tree)).toEqual([]);
      const [root, first, second] = tree.nodes;
      expect(tree.nodes).toHaveLength(3);
      expect(root!.start).toBe(0);
      expect(root!.end).toBe(raw.length);
      expect(body(raw, root!).startsWith('This is a multi-part')).toBe(true);
      expect(whole(raw, first!)).toBe(`Content-Type: text/plain${eol}${eol}one`);
      expect(body(raw, first!)).toBe('one');
      // a blank line before the delimiter: the part's text ends with one line break
      expect(whole(raw, second!)).toBe(`Content-Type: application/pdf; name=a.pdf${eol}${eol}two${eol}`);
      expect(body(raw, second!)).toBe(`two${eol}`);
      expect(tree.nodes.map((n) => n.id)).toEqual([0, 1, 2]);
      expect(tree.nodes.map((n) => n.depth)).toEqual([0, 1, 1]);
      expect(root!.children).toEqual([first, second]);
      expect(root!.boundary).toBe('b');
      expect(second!.filename).toBe('a.pdf');
    });
  }

  it('gives a part with no header lines a body starting right after the blank line', () => {
    const raw = mixed([['', 'plain']]);
    const part = parseMime(raw).nodes[1]!;
    expect(whole(raw, part)).toBe('\r\nplain');
    expect(body(raw, part)).toBe('plain');
    expect(part.contentType).toBe('text/plain');
    expect(part.headers).toEqual([]);
  });

  it('ends a part whose headers run into the next delimiter with an empty body', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: application/pdf; name=x.pdf', '--b', '', 'two', '--b--', '');
    const tree = parseMime(raw);
    const first = tree.nodes[1]!;
    expect(first.filename).toBe('x.pdf');
    expect(body(raw, first)).toBe('');
    expect(whole(raw, first)).toBe('Content-Type: application/pdf; name=x.pdf');
    expect(body(raw, tree.nodes[2]!)).toBe('two');
  });

  it('reads a single-part message as one node whose body runs to the end', () => {
    const raw = crlf('Subject: s', 'Content-Type: text/html; charset=utf-8', '', '<p>x</p>', '--b', '');
    const tree = parseMime(raw);
    expect(tree.nodes).toHaveLength(1);
    expect(tree.root.contentType).toBe('text/html');
    expect(tree.root.params).toEqual({ charset: 'utf-8' });
    expect(body(raw, tree.root)).toBe('<p>x</p>\r\n--b\r\n');
  });

  it('reads a message without Content-Type as text/plain, and an unreadable one as application/octet-stream', () => {
    expect(parseMime(crlf('Subject: s', '', 'x')).root.contentType).toBe('text/plain');
    expect(parseMime(crlf('Content-Type: nonsense', '', 'x')).root.contentType).toBe('application/octet-stream');
  });

  it('reads headers unfolded, names lower-cased, values trimmed and RFC 2047 decoded on request', () => {
    const raw = crlf('Subject: =?UTF-8?B?6KaL56mN?=', '  =?UTF-8?B?5pu4?=', 'X-Multi: one', 'x-multi: two', 'Content-ID:  <abc@x> ', '', 'x');
    const root = parseMime(raw).root;
    expect(root.headers[0]).toEqual({ name: 'subject', value: '=?UTF-8?B?6KaL56mN?=  =?UTF-8?B?5pu4?=' });
    expect(headerValue(root, 'subject')).toBe('見積書');
    expect(headerValues(root, 'x-multi')).toEqual(['one', 'two']);
    expect(headerValue(root, 'missing')).toBeUndefined();
    expect(root.contentId).toBe('abc@x');
  });

  it('takes the file name from Content-Disposition before Content-Type, and the transfer encoding lower-cased', () => {
    const raw = mixed([['Content-Type: application/pdf; name=type.pdf', 'Content-Disposition: ATTACHMENT; filename=disp.pdf', 'Content-Transfer-Encoding: BASE64 (comment)', '', 'QUJD']]);
    const part = parseMime(raw).nodes[1]!;
    expect(part.filename).toBe('disp.pdf');
    expect(part.disposition).toBe('attachment');
    expect(part.dispositionParams).toEqual({ filename: 'disp.pdf' });
    expect(part.transferEncoding).toBe('base64');
  });

  it('gives the parts of a multipart/digest the type message/rfc822 by default', () => {
    const tree = parseMime(crlf('Content-Type: multipart/digest; boundary=b', '', '--b', '', 'Subject: inner', '', 'x', '--b', 'Content-Type: text/plain', '', 'y', '--b--', ''));
    expect(tree.nodes.slice(1).map((n) => n.contentType)).toEqual(['message/rfc822', 'text/plain']);
  });

  it('ends the last part at the end of the message when the close delimiter is missing, without flagging it', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', '--b', '', 'two', '');
    const tree = parseMime(raw);
    expect(codes(tree)).toEqual([]);
    expect(tree.nodes.map((n) => body(raw, n)).slice(1)).toEqual(['one', 'two\r\n']);
    expect(tree.nodes[2]!.end).toBe(raw.length);
  });

  it('lets a delimiter of the outer multipart end an unclosed inner one', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      '',
      'a',
      '--outer',
      'Content-Type: application/pdf; name=after.pdf',
      '',
      'after',
      '--outer--',
      '',
    );
    const tree = parseMime(raw);
    expect(codes(tree)).toEqual([]);
    const [, alt, a, after] = tree.nodes;
    expect(alt!.contentType).toBe('multipart/alternative');
    expect(alt!.children).toEqual([a]);
    expect(body(raw, a!)).toBe('a');
    expect(body(raw, alt!)).toBe('--inner\r\n\r\na');
    expect(after!.depth).toBe(1);
    expect(after!.filename).toBe('after.pdf');
    expect(tree.root.children).toEqual([alt, after]);
  });

  it('takes delimiters with trailing spaces and tabs, and a delimiter line ending in CR CR LF', () => {
    const raw = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b \t\r\n\r\none\r\n--b\r\r\n\r\ntwo\r\n--b--\t \r\nepilogue\r\n', 'latin1');
    const tree = parseMime(raw);
    expect(codes(tree)).toEqual([]);
    expect(tree.nodes.slice(1).map((n) => body(raw, n))).toEqual(['one', 'two']);
  });

  it('does not take a line that only starts with the delimiter as one', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', '--bb', '--b x', 'still one', '--b--', '');
    const tree = parseMime(raw);
    expect(tree.nodes).toHaveLength(2);
    expect(body(raw, tree.nodes[1]!)).toBe('one\r\n--bb\r\n--b x\r\nstill one');
  });

  it('reads a folded boundary parameter and a boundary with a space in it', () => {
    const raw = crlf('Content-Type: multipart/mixed;', '\tboundary="x y"', '', '--x y', '', 'a', '--x y--');
    const tree = parseMime(raw);
    expect(codes(tree)).toEqual([]);
    expect(tree.root.boundary).toBe('x y');
    expect(body(raw, tree.nodes[1]!)).toBe('a');
  });
});

describe('parseMime: ambiguities in the structure', () => {
  it('reads delimiters without the spaces of boundary="abc " and flags boundary-whitespace', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary="abc "', '', '--abc', '', 'one', '--abc--', '');
    const tree = parseMime(raw);
    expect(codes(tree)).toEqual(['boundary-whitespace']);
    expect(tree.root.boundary).toBe('abc');
    expect(body(raw, tree.nodes[1]!)).toBe('one');
  });

  it('does not flag boundary-whitespace when the delimiters carry the spaces as declared', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary="abc "', '', '--abc ', '', 'one', '--abc --', '');
    const tree = parseMime(raw);
    expect(codes(tree)).toEqual([]);
    expect(tree.nodes).toHaveLength(2);
  });

  it('flags boundary-not-found only when the multipart body has text', () => {
    const withText = parseMime(crlf('Content-Type: multipart/mixed; boundary=b', '', 'just text, no delimiter', ''));
    expect(codes(withText)).toEqual(['boundary-not-found']);
    expect(withText.root.children).toEqual([]);
    expect(codes(parseMime(crlf('Content-Type: multipart/mixed; boundary=b', '', '')))).toEqual([]);
    expect(codes(parseMime(crlf('Content-Type: multipart/mixed; boundary=b', '')))).toEqual([]);
    expect(codes(parseMime(crlf('Content-Type: multipart/mixed; boundary=b', '', '  ', '\t', '', '')))).toEqual([]);
  });

  it('flags a nested multipart whose boundary never occurs before the outer delimiter', () => {
    const tree = parseMime(crlf('Content-Type: multipart/mixed; boundary=o', '', '--o', 'Content-Type: multipart/related; boundary=i', '', 'text', '--o--', ''));
    expect(codes(tree)).toEqual(['boundary-not-found']);
  });

  it('flags a multipart without a boundary, or with an empty one', () => {
    expect(codes(parseMime(crlf('Content-Type: multipart/mixed', '', 'x', '')))).toEqual(['no-boundary']);
    expect(codes(parseMime(crlf('Content-Type: multipart/mixed; boundary=""', '', 'x', '')))).toEqual(['no-boundary']);
    expect(parseMime(crlf('Content-Type: multipart/mixed', '', 'x', '')).root.children).toEqual([]);
  });

  it('flags a nested multipart that reuses the boundary of one it is in', () => {
    const tree = parseMime(crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: multipart/alternative; boundary=b', '', '--b', '', 'x', '--b--', ''));
    expect(codes(tree)).toContain('boundary-reused');
  });

  it('flags a part after the close delimiter', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', '--b--', '--b', 'Content-Type: application/pdf; name=late.pdf', '', 'two', '');
    const tree = parseMime(raw);
    expect(codes(tree)).toEqual(['part-after-close']);
    expect(tree.nodes[2]!.filename).toBe('late.pdf');
  });

  it('flags MIME headers in the preamble and in the epilogue, not ordinary preamble text', () => {
    const preamble = parseMime(crlf('Content-Type: multipart/mixed; boundary=b', '', 'Content-Type: text/html', '', '--b', '', 'one', '--b--', ''));
    expect(codes(preamble)).toEqual(['content-outside-parts']);
    expect(preamble.ambiguities[0]!.detail).toContain('preamble');
    const epilogue = parseMime(crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', '--b--', 'Content-Disposition: attachment; filename=x.exe', ''));
    expect(codes(epilogue)).toEqual(['content-outside-parts']);
    expect(epilogue.ambiguities[0]!.detail).toContain('epilogue');
    const plain = parseMime(crlf('Content-Type: multipart/mixed; boundary=b', '', 'This is a multi-part message in MIME format.', '', '--b', '', 'one', '--b--', 'bye', ''));
    expect(codes(plain)).toEqual([]);
  });

  it('flags a line that starts like a delimiter and goes on (--b-) when MIME headers follow it, not at the end', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', '--b-', 'Content-Type: text/html', '', 'x', '--b--', '');
    const tree = parseMime(raw);
    expect(codes(tree)).toEqual(['boundary-prefix']);
    // read exactly: the --b- line and what follows stay in the first part
    expect(tree.nodes).toHaveLength(2);
    expect(body(raw, tree.nodes[1]!)).toBe('one\r\n--b-\r\nContent-Type: text/html\r\n\r\nx');
    expect(codes(parseMime(crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', '--b-')))).toEqual([]);
    expect(codes(parseMime(crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', '--bX', 'plain text', '--b--')))).toEqual([]);
  });

  it('flags two different Content-Type, Content-Transfer-Encoding or Content-Disposition headers, and uses the first', () => {
    const ct = parseMime(crlf('Content-Type: text/plain', 'Content-Type: text/html', '', 'x'));
    expect(codes(ct)).toEqual(['duplicate-header']);
    expect(ct.root.contentType).toBe('text/plain');
    const cte = parseMime(crlf('Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: 7bit', '', 'x'));
    expect(codes(cte)).toEqual(['duplicate-header']);
    expect(cte.root.transferEncoding).toBe('base64');
    const cd = parseMime(mixed([['Content-Disposition: inline', 'Content-Disposition: attachment; filename=a.exe', '', 'x']]));
    expect(codes(cd)).toEqual(['duplicate-header']);
    expect(cd.ambiguities[0]!.detail).toBe('two different Content-Disposition headers in part 1');
    expect(cd.nodes[1]!.disposition).toBe('inline');
  });

  it('does not flag identical duplicates (case and spacing aside), nor duplicates of other headers', () => {
    expect(codes(parseMime(crlf('Content-Type: text/plain; charset=utf-8', 'content-type: TEXT/PLAIN;  charset=UTF-8', '', 'x')))).toEqual([]);
    expect(codes(parseMime(crlf('Received: a', 'Received: b', 'Subject: one', 'Subject: two', '', 'x')))).toEqual([]);
  });

  describe('header-not-a-header: only when a Content-* or MIME-Version header follows in the same block', () => {
    const flagged = (head: Buffer): boolean => codes(parseMime(head)).includes('header-not-a-header');
    const block = (...pieces: (string | Buffer)[]): Buffer =>
      Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(`${p}\r\n`, 'latin1') : Buffer.concat([p, Buffer.from('\r\n')]))));

    it('a junk line', () => {
      expect(flagged(block('Subject: x', 'junk line', 'Content-Type: text/html', '', 'body'))).toBe(true);
      expect(flagged(block('Subject: x', 'junk line', 'X-Other: y', 'Content-Transfer-Encoding: base64', '', 'body'))).toBe(true);
      expect(flagged(block('Subject: x', 'Content-Type: text/html', 'junk line', '', 'body'))).toBe(false);
      expect(flagged(block('Subject: x', 'junk line', 'X-Other: y', '', 'body'))).toBe(false);
    });

    it('reads on past the junk line, as tolerant clients do', () => {
      expect(parseMime(block('Subject: x', 'junk line', 'Content-Type: text/html', '', 'body')).root.contentType).toBe('text/html');
    });

    it('a space before the colon (the header is still read)', () => {
      const tree = parseMime(block('Subject: x', 'Content-Type : text/html', '', 'body'));
      expect(codes(tree)).toEqual(['header-not-a-header']);
      expect(tree.root.contentType).toBe('text/html');
      expect(flagged(block('Subject : x', 'MIME-Version: 1.0', '', 'body'))).toBe(true);
      expect(flagged(block('Content-Type: text/html', 'Subject : x', '', 'body'))).toBe(false);
    });

    it('8-bit bytes in a header name', () => {
      expect(flagged(block('Subject: x', Buffer.from('X-\xe9t\xe9: y', 'latin1'), 'Content-Type: text/html', '', 'body'))).toBe(true);
      expect(flagged(block('Subject: x', Buffer.from('X-\xe9t\xe9: y', 'latin1'), '', 'body'))).toBe(false);
    });

    it('a raw Shift_JIS line', () => {
      const sjis = Buffer.from('8ca990cf8f91', 'hex'); // 見積書
      expect(flagged(block('Subject: x', sjis, 'MIME-Version: 1.0', '', 'body'))).toBe(true);
      expect(flagged(block('Subject: x', sjis, '', 'body'))).toBe(false);
    });

    it('a folded line with no header before it', () => {
      expect(flagged(block(' folded', 'Content-Type: text/html', '', 'body'))).toBe(true);
    });

    it('a junk line in a header block cut off by the end of the message (strict parsers read it as body)', () => {
      expect(flagged(crlf('Subject: x', 'Content-Type: text/plain', 'junk line'))).toBe(true);
      expect(flagged(crlf('Subject: x', 'Content-Type: text/plain', 'X-Last: header'))).toBe(false);
    });

    it('a junk line in a part header block cut off by the next delimiter', () => {
      const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: application/pdf; name=a.pdf', 'Content-Transfer-Encoding: base64', 'JVBERi0xLjQgc2VjcmV0', '--b--', '');
      expect(MessageModel.parse(raw).attachments[0]!.size).toBe(0);
      expect(flagged(raw)).toBe(true);
    });

    it('in the header block of a part', () => {
      const tree = parseMime(mixed([['junk', 'Content-Type: text/html', '', 'x']]));
      expect(tree.ambiguities).toEqual([{ code: 'header-not-a-header', detail: 'a line that is not a header in the header block of part 1' }]);
      expect(tree.nodes[1]!.contentType).toBe('text/html');
    });
  });

  it('tolerates a UTF-8 BOM before the first header without flagging it', () => {
    const raw = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), crlf('Content-Type: text/html', 'Subject: s', '', 'x')]);
    const tree = parseMime(raw);
    expect(codes(tree)).toEqual([]);
    expect(tree.root.contentType).toBe('text/html');
    expect(headerValue(tree.root, 'subject')).toBe('s');
  });

  it('skips an mbox "From " line in front of the headers', () => {
    const tree = parseMime(crlf('From sender@example.com Mon Jan  1 00:00:00 2024', 'Content-Type: text/html', 'Subject: s', '', 'x'));
    expect(codes(tree)).toEqual([]);
    expect(tree.root.contentType).toBe('text/html');
    expect(tree.root.headers.map((h) => h.name)).toEqual(['content-type', 'subject']);
  });

  it('reads a folded line of only spaces as a continuation, not as the end of the headers', () => {
    const tree = parseMime(crlf('Subject: a', '   ', 'Content-Type: text/html', '', 'x'));
    expect(codes(tree)).toEqual([]);
    expect(tree.root.contentType).toBe('text/html');
    expect(body(crlf('Subject: a', '   ', 'Content-Type: text/html', '', 'x'), tree.root)).toBe('x');
  });

  it('flags a lone CR in the headers (bare-cr), and one before "--" in a multipart body', () => {
    expect(codes(parseMime(Buffer.from('Subject: a\rContent-Type: text/html\r\n\r\nx')))).toEqual(['bare-cr']);
    const body = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r--b\r\nContent-Type: text/html\r\n\r\ny\r\n--b--\r\n');
    expect(codes(parseMime(body))).toEqual(['bare-cr']);
    expect(codes(parseMime(Buffer.from('Content-Type: text/plain\r\n\r\nx\r--b\r\n')))).toEqual([]);
  });

  it('flags a multipart with a Content-Transfer-Encoding other than 7bit, 8bit or binary', () => {
    const tree = parseMime(crlf('Content-Type: multipart/mixed; boundary=b', 'Content-Transfer-Encoding: base64', '', '--b', '', 'x', '--b--', ''));
    expect(codes(tree)).toEqual(['encoded-multipart']);
    for (const cte of ['7bit', '8bit', 'binary']) {
      expect(codes(parseMime(crlf('Content-Type: multipart/mixed; boundary=b', `Content-Transfer-Encoding: ${cte}`, '', '--b', '', 'x', '--b--', '')))).toEqual([]);
    }
  });

  it('does not read into multiparts nested deeper than maxDepth (too-deep)', () => {
    const nested = (depth: number): Buffer => {
      const lines: string[] = [];
      for (let i = 0; i < depth; i++) lines.push(`Content-Type: multipart/mixed; boundary=b${i}`, '', `--b${i}`);
      lines.push('', 'leaf');
      return crlf(...lines);
    };
    const deep = parseMime(nested(3), { maxDepth: 2, maxParts: 100 });
    expect(codes(deep)).toEqual(['too-deep']);
    expect(deep.nodes).toHaveLength(3);
    expect(deep.nodes[2]!.contentType).toBe('multipart/mixed');
    expect(deep.nodes[2]!.children).toEqual([]);
    const fits = parseMime(nested(2), { maxDepth: 2, maxParts: 100 });
    expect(codes(fits)).toEqual([]);
    expect(fits.nodes.map((n) => n.contentType)).toEqual(['multipart/mixed', 'multipart/mixed', 'text/plain']);
  });

  it('stops reading at maxParts (too-many-parts)', () => {
    const parts = (k: number): Buffer => mixed(Array.from({ length: k }, (_, i) => [`Content-Type: application/pdf; name=f${i}.pdf`, '', `p${i}`]));
    const over = parseMime(parts(10), { maxDepth: 32, maxParts: 5 });
    expect(codes(over)).toEqual(['too-many-parts']);
    expect(over.nodes).toHaveLength(5);
    expect(over.nodes.map((n) => n.filename)).toEqual([undefined, 'f0.pdf', 'f1.pdf', 'f2.pdf', 'f3.pdf']);
    const exact = parseMime(parts(4), { maxDepth: 32, maxParts: 5 });
    expect(codes(exact)).toEqual([]);
    expect(exact.nodes).toHaveLength(5);
  });

  it('keeps every node id equal to its index', () => {
    const tree = parseMime(crlf('Content-Type: multipart/mixed; boundary=o', '', '--o', 'Content-Type: multipart/alternative; boundary=i', '', '--i', '', 'a', '--i', '', 'b', '--i--', '--o', '', 'c', '--o--'));
    expect(tree.nodes.map((n) => n.id)).toEqual([0, 1, 2, 3, 4]);
    expect(tree.nodes.map((n) => n.depth)).toEqual([0, 1, 2, 2, 1]);
  });
});

describe('parseMime: linear cost', () => {
  it('reads 50,000 tiny parts', () => {
    const lines = ['Content-Type: multipart/mixed; boundary=b', ''];
    for (let i = 0; i < 50_000; i++) lines.push('--b', '', 'p');
    lines.push('--b--', '');
    const tree = parseMime(crlfLines(lines), { maxDepth: 32, maxParts: 1_000_000 });
    expect(codes(tree)).toEqual([]);
    expect(tree.nodes).toHaveLength(50_001);
    expect(tree.root.children).toHaveLength(50_000);
  });

  it('reads a part of 200,000 lines, and a single-part message of 200,000 lines', () => {
    const text = 'line of text --not-a-delimiter\r\n'.repeat(200_000);
    const raw = Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n${text}--b--\r\n`);
    const tree = parseMime(raw);
    expect(tree.nodes).toHaveLength(2);
    expect(tree.nodes[1]!.end - tree.nodes[1]!.bodyStart).toBe(text.length - 2);
    const single = parseMime(Buffer.from(`Subject: s\r\n\r\n${text}`));
    expect(single.nodes).toHaveLength(1);
  });

  it('reads 100,000 lines that look like delimiters under 32 open multiparts', () => {
    const lines: string[] = [];
    for (let i = 0; i < 32; i++) lines.push(`Content-Type: multipart/mixed; boundary=b${i}`, '', `--b${i}`);
    lines.push('', 'leaf');
    for (let k = 0; k < 100_000; k++) lines.push(`--b${k % 32}x`);
    const tree = parseMime(crlfLines(lines));
    expect(tree.nodes).toHaveLength(33);
  });
});

/** A source that is not a BufferSource: serves at most `piece` bytes per read (from a copy), counting the calls. */
class PieceSource implements ByteSource {
  readonly calls: [number, number][] = [];
  constructor(
    private readonly buf: Buffer,
    private readonly piece = Infinity,
  ) {}
  get length(): number {
    return this.buf.length;
  }
  read(start: number, end: number): Buffer {
    this.calls.push([start, end]);
    return Buffer.from(this.buf.subarray(start, Math.min(end, start + this.piece)));
  }
}

describe('parseMime over a ByteSource that is not in memory', () => {
  const big = (): Buffer => {
    const lines = ['Subject: big', 'Content-Type: multipart/mixed; boundary=b', '', 'preamble'];
    const row = 'x'.repeat(70);
    for (let i = 0; i < 200; i++) {
      lines.push('--b', `Content-Type: application/octet-stream; name=f${i}.bin`, i % 2 ? 'Content-Transfer-Encoding: 8bit' : 'X-N: 1', '', ...Array<string>(160).fill(row));
    }
    lines.push('--b--', '');
    return crlfLines(lines);
  };

  it('reads a message of several MiB through windows, giving the same tree as from memory', () => {
    const raw = big();
    expect(raw.length).toBeGreaterThan(2 << 20);
    const source = new PieceSource(raw);
    const tree = parseMime(source);
    expect(tree).toEqual(parseMime(raw));
    expect(tree.nodes).toHaveLength(201);
    expect(source.calls.length).toBeGreaterThan(1);
    // never the whole message at once
    expect(Math.max(...source.calls.map(([s, e]) => e - s))).toBeLessThan(raw.length);
  });

  it('gives the same tree when the source hands out only a few bytes per read', () => {
    const raw = crlf(
      'From x@y Mon Jan  1 00:00:00 2024',
      'Subject: pieces',
      'Content-Type: multipart/mixed; boundary="abc "',
      '',
      'preamble',
      '--abc',
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      'Content-Type: text/plain',
      '',
      'hello',
      '--abc \t',
      'Content-Type: application/pdf;',
      ' name="a.pdf"',
      '',
      'PDF',
      '--abc-',
      'Content-Type: text/html',
      '',
      '--abc--',
      'Content-Type: text/html',
      '',
    );
    const source = new PieceSource(raw, 7);
    const tree = parseMime(source);
    expect(tree).toEqual(parseMime(raw));
    expect(codes(tree).sort()).toEqual(['boundary-prefix', 'boundary-whitespace', 'content-outside-parts']);
    expect(source.calls.length).toBeGreaterThanOrEqual(Math.floor(raw.length / 7));
  });

  it('lets the message model read attachments through the source as from memory', () => {
    const raw = big();
    const fromSource = MessageModel.parse(new PieceSource(raw));
    const fromBuffer = MessageModel.parse(raw);
    expect(fromSource.attachments.map((a) => [a.filename, a.sha256])).toEqual(fromBuffer.attachments.map((a) => [a.filename, a.sha256]));
    expect(fromSource.attachments).toHaveLength(200);
  });

  it('finds a delimiter and a lone CR before "--" deep inside a large part, across the windows it reads in', () => {
    const row = 'QUJD'.repeat(19);
    const before = Array<string>(40_000).fill(row);
    const lines = ['Subject: deep', 'Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '', ...before, `${row}\r--b`, ...before, '--b', 'Content-Type: text/plain', '', 'after', '--b--', ''];
    const raw = crlfLines(lines);
    expect(raw.length).toBeGreaterThan(5 << 20);
    const tree = parseMime(raw);
    expect(codes(tree)).toEqual(['bare-cr']);
    expect(tree.nodes.map((n) => n.contentType)).toEqual(['multipart/mixed', 'application/octet-stream', 'text/plain']);
    expect(body(raw, tree.nodes[2]!)).toBe('after');
    expect(parseMime(new PieceSource(raw, 65_521))).toEqual(tree);
  });
});

