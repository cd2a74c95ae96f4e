import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findDataUris, findEncodedBlocks, MAX_EMBEDDED, type EmbeddedFile } from '../../src/message/embedded.js';
import { macutilsBinhex, requirePythonModule, requireTool, sharutilsUuencode } from '../support/tools.js';
import { Rng } from '../fuzz/random.js';

// The genuine blocks come from encoders nobody here wrote:
//   uuencode and begin-base64: `uuencode` / `uuencode -m` from Debian's sharutils;
//   BinHex 4.0: `binhex -d` from Debian's macutils (its marker line reads
//     "(This file must be converted; you knew that already.)", so the standard marker is tested too);
//   yEnc: the `yenc` module of Debian's python3-yenc (data lines; the =ybegin/=yend lines are one
//     printf each, as in every poster), run by Debian's /usr/bin/python3, where apt puts the module;
//   data: URIs: Node's base64 and a 1×1 PNG written by python3's zlib/struct.

const hasSharutils = requireTool('uuencode', 'sharutils');
const hasMacutils = requireTool('binhex', 'macutils');
// the yEnc script below runs under /usr/bin/python3, where apt puts the module
const hasYenc = requirePythonModule('yenc', 'python3-yenc', ['/usr/bin/python3']) !== undefined;
const hasPython = requireTool('python3', 'python3');

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Seeded (mulberry32), so a failing mutation can be replayed. */
function random(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

const randomBytes = (n: number, seed: number): Buffer => new Rng(seed).bytes(n);

/** A file with what makes encoders work: every byte value, runs (BinHex RLE, 0x90 itself), zeros. */
const FILE = Buffer.concat([
  Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'),
  randomBytes(6000, 1),
  Buffer.alloc(700),
  Buffer.alloc(300, 0x90),
  Buffer.alloc(500, 0x41),
  Buffer.from([0x90, 0x00, 0x90, 0x0a, 0x0d, 0x3d]),
  randomBytes(123, 2),
]);
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\n', 'latin1'), randomBytes(400, 3), Buffer.from('\n%%EOF\n')]);

const uuencode = (data: Buffer, name: string, base64 = false): Buffer => sharutilsUuencode(name, data, base64);
const binhex = (data: Buffer, name: string): Buffer => macutilsBinhex(name, data);

const YENC = `
import sys, yenc
name, part, total, begin = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = sys.stdin.buffer.read()
e = yenc.Encoder(); e.feed(data); e.terminate()
out = sys.stdout.buffer
if total > 1:
    out.write(b'=ybegin part=%d total=%d line=128 size=%d name=%s\\r\\n' % (part, total, 99999, name.encode()))
    out.write(b'=ypart begin=%d end=%d\\r\\n' % (begin, begin + len(data) - 1))
    out.write(e.getEncoded())
    out.write(b'=yend size=%d part=%d pcrc32=%s\\r\\n' % (len(data), part, e.getCrc32().encode()))
else:
    out.write(b'=ybegin line=128 size=%d name=%s\\r\\n' % (len(data), name.encode()))
    out.write(e.getEncoded())
    out.write(b'=yend size=%d crc32=%s\\r\\n' % (len(data), e.getCrc32().encode()))
`;
const yencode = (data: Buffer, name: string, part = 1, total = 1, begin = 1): Buffer =>
  execFileSync('/usr/bin/python3', ['-c', YENC, name, String(part), String(total), String(begin)], { input: data });

const PNG_1X1 = `
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
sys.stdout.buffer.write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 1, 1, 8, 6, 0, 0, 0))
    + chunk(b'IDAT', zlib.compress(b'\\x00\\xff\\x00\\x00\\xff')) + chunk(b'IEND', b''))
`;

const crlf = (b: Buffer): Buffer => Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
const text = (...parts: (string | Buffer)[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
const PROSE_BEFORE = 'お世話になっております。\nPlease find the file below.\n\n';
const PROSE_AFTER = '\nBest regards,\n山田\n';

/** The one block in `prose + block + prose`, checked to cover exactly the block. */
function onlyBlock(block: Buffer): EmbeddedFile {
  const body = text(PROSE_BEFORE, block, PROSE_AFTER);
  const found = findEncodedBlocks(body);
  expect(found).toHaveLength(1);
  const start = Buffer.byteLength(PROSE_BEFORE);
  expect([found[0]!.start, found[0]!.end]).toEqual([start, start + block.length]);
  return found[0]!;
}

describe.runIf(hasSharutils)('uuencode blocks (sharutils uuencode)', () => {
  it('decodes a classic block to the original bytes, with LF or CRLF line ends', () => {
    const block = uuencode(FILE, 'report 2024.pdf');
    for (const b of [block, crlf(block)]) {
      const f = onlyBlock(b);
      expect(f).toMatchObject({ kind: 'uuencode', name: 'report 2024.pdf', type: 'application/octet-stream' });
      expect(sha(f.content)).toBe(sha(FILE));
    }
  });

  it('decodes a begin-base64 block to the original bytes', () => {
    const block = uuencode(FILE, 'data.xlsx', true);
    expect(block.toString('latin1')).toMatch(/^begin-base64 644 data\.xlsx\n/);
    const f = onlyBlock(block);
    expect(f).toMatchObject({ kind: 'uuencode', name: 'data.xlsx' });
    expect(sha(f.content)).toBe(sha(FILE));
  });

  it('reads a Japanese UTF-8 name, a four-digit mode and trailing blanks', () => {
    const block = uuencode(PDF, '見積書（最終版）.pdf');
    expect(onlyBlock(block).name).toBe('見積書（最終版）.pdf');
    const loose = Buffer.from(block.toString('utf8').replace(/^begin 644 (.*)\n/, 'begin 0644 $1  \t\r\n'));
    const f = onlyBlock(loose);
    expect(f.name).toBe('見積書（最終版）.pdf');
    expect(sha(f.content)).toBe(sha(PDF));
  });

  it('reports an empty file and a block cut short (what decoded so far)', () => {
    const empty = onlyBlock(uuencode(Buffer.alloc(0), 'empty.txt'));
    expect(empty.content.length).toBe(0);

    const lines = uuencode(FILE, 'cut.bin').toString('latin1').split('\n');
    const cut = Buffer.from(lines.slice(0, 11).join('\n') + '\n', 'latin1'); // begin + 10 full lines, no end
    const body = text(cut, '\nthe rest of the message is ordinary text.\n');
    const found = findEncodedBlocks(body);
    expect(found).toHaveLength(1);
    expect(found[0]!.end).toBe(cut.length);
    expect(sha(found[0]!.content)).toBe(sha(FILE.subarray(0, 450)));
  });

  it('finds every block of a body, in order', () => {
    const body = text('one\n', uuencode(PDF, 'a.pdf'), 'two\n', uuencode(FILE, 'b.bin', true), 'three\n');
    expect(findEncodedBlocks(body).map((f) => f.name)).toEqual(['a.pdf', 'b.bin']);
  });
});

describe.runIf(hasMacutils)('BinHex 4.0 blocks (macutils binhex)', () => {
  it('returns the data fork and the header name, whatever the marker says, LF or CRLF', () => {
    const block = binhex(FILE, 'budget.xls');
    expect(block.toString('latin1')).toMatch(/^\(This file must be converted; you knew that already\.\)\n/);
    const standard = Buffer.from(block.toString('latin1').replace(/^.*\n/, '(This file must be converted with BinHex 4.0)\n'), 'latin1');
    for (const b of [block, standard, crlf(standard)]) {
      const f = onlyBlock(b);
      expect(f).toMatchObject({ kind: 'binhex', name: 'budget.xls', type: 'application/octet-stream' });
      expect(sha(f.content)).toBe(sha(FILE));
    }
  });

  it('reads a UTF-8 name and an empty data fork', () => {
    expect(onlyBlock(binhex(PDF, 'レポート.pdf')).name).toBe('レポート.pdf');
    const empty = onlyBlock(binhex(Buffer.alloc(0), 'empty'));
    expect(empty).toMatchObject({ name: 'empty' });
    expect(empty.content.length).toBe(0);
  });

  it('still reports a block that does not decode: no name, the raw block as content', () => {
    const block = binhex(PDF, 'broken.pdf');
    const s = block.toString('latin1');
    const at = s.indexOf('\n:') + 200; // a data character well inside
    const broken = Buffer.from(s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1), 'latin1'); // the CRC no longer fits
    const f = onlyBlock(broken);
    expect(f).toMatchObject({ kind: 'binhex', name: '' });
    expect(f.content.equals(broken)).toBe(true);

    const truncated = Buffer.from(s.slice(0, s.lastIndexOf(':')), 'latin1'); // no closing colon
    const t = findEncodedBlocks(truncated);
    expect(t).toHaveLength(1);
    expect(t[0]).toMatchObject({ name: '', start: 0, end: truncated.length });
  });
});

describe.runIf(hasYenc)('yEnc blocks (python3-yenc)', () => {
  it('decodes a single-part block to the original bytes, name with spaces', () => {
    const f = onlyBlock(yencode(FILE, 'photos from the trip.zip'));
    expect(f).toMatchObject({ kind: 'yenc', name: 'photos from the trip.zip', type: 'application/octet-stream' });
    expect(sha(f.content)).toBe(sha(FILE));
  });

  it('reports each part of a multi-part post (=ypart lines), each decoded', () => {
    const half = 3000;
    const body = text(yencode(FILE.subarray(0, half), 'big.bin', 1, 2, 1), 'between\n', yencode(FILE.subarray(half), 'big.bin', 2, 2, half + 1));
    const found = findEncodedBlocks(body);
    expect(found.map((f) => f.name)).toEqual(['big.bin', 'big.bin']);
    expect(sha(Buffer.concat(found.map((f) => f.content)))).toBe(sha(FILE));
  });
});

describe('blocks that are not files', () => {
  it('ignores prose that looks like a header', () => {
    const bodies = [
      'begin 644 days ago we met, and the rest is history.\nWe talked for hours.\n',
      'begin 644 days ago\nTHE END\n',
      'begin-base64 is a variant of uuencode.\nSee the manual.\n',
      'Please use BinHex to convert the file.\n(This file must be converted with BinHex 4.0)\nThanks!\n',
      'Old Mac files came as BinHex (.hqx); ours do not.\n',
      '=ybegin\nsome text\n=yend\n',
      '=ybegin line=128 size=10\nsome text\n=yend size=10\n',
      '=ybegin line=128 size=0 name=empty.bin\n=yend size=0\n',
      'We will begin 644 meetings next year.\n  begin 644 x\nM86)C\n',
    ];
    for (const b of bodies) expect(findEncodedBlocks(Buffer.from(b)), b).toEqual([]);
  });

  it('is empty for a body without candidates', () => {
    expect(findEncodedBlocks(Buffer.alloc(0))).toEqual([]);
    expect(findEncodedBlocks(Buffer.from('Hello,\r\nthe meeting is at 10:00.\r\n'))).toEqual([]);
  });
});

describe.runIf(hasPython)('data: URIs in HTML', () => {
  const png = execFileSync('python3', ['-c', PNG_1X1]);
  const b64 = (b: Buffer): string => b.toString('base64');
  const octets = randomBytes(300, 4);
  const zip = Buffer.concat([Buffer.from('PK\x03\x04'), randomBytes(200, 5)]);
  const html = Buffer.from(
    [
      '<html><head><style>.bg { background: url(data:application/zip;base64,' + b64(zip) + ') }</style></head><body>',
      '<p>Logo: <img src="data:image/png;base64,' + b64(png) + '" alt="logo"></p>',
      '<p><a href="data:application/pdf;base64,' + b64(PDF).replace(/.{76}/g, '$&\n') + '">見積書</a></p>',
      "<iframe src='data:application/octet-stream;base64," + b64(octets) + "'></iframe>",
      '<img src="data:image/png;base64,' + b64(PDF) + '">',
      '<a href="data&#58;text/plain,hello">1</a> <a href="data&#x003A;text/plain;charset=utf-8,%E3%81%82">2</a>',
      '<a href=DATA&colon;text/html,%3Ch1%3Ehi%3C%2Fh1%3E>3</a>',
      '<div style="background-image:url(\'Data:application/x-msdownload;base64,' + b64(octets) + '\')"></div>',
      '<p>the data: see below, and the metadata:foo,bar is not a URI.</p>',
      '</body></html>',
    ].join('\n'),
  );
  const found = findDataUris(html);

  it('reports every non-image URI, in order, with its lower-case type', () => {
    expect(found.map((f) => f.type)).toEqual([
      'application/zip',
      'application/pdf',
      'application/octet-stream',
      'image/png',
      'text/plain',
      'text/plain',
      'text/html',
      'application/x-msdownload',
    ]);
    for (const f of found) expect(f).toMatchObject({ kind: 'data-uri', name: '' });
  });

  it('decodes the contents (base64 wrapped over lines, percent-encoding)', () => {
    expect(sha(found[0]!.content)).toBe(sha(zip));
    expect(sha(found[1]!.content)).toBe(sha(PDF));
    expect(sha(found[2]!.content)).toBe(sha(octets));
    expect(sha(found[3]!.content)).toBe(sha(PDF)); // image/png on the label, a PDF inside
    expect(found.slice(4, 7).map((f) => f.content.toString())).toEqual(['hello', 'あ', '<h1>hi</h1>']);
    expect(sha(found[7]!.content)).toBe(sha(octets));
  });

  it('gives offsets covering the URI itself', () => {
    for (const f of found) expect(html.toString('latin1', f.start, f.start + 4).toLowerCase()).toBe('data');
    const pdf = found[1]!;
    expect(html[pdf.end]).toBe(0x22); // stops before the closing quote
    expect(html.toString('latin1', found[0]!.end, found[0]!.end + 1)).toBe(')');
  });

  it('lets whole images through: png, jpeg, gif, webp, bmp (start and end of the format both present)', () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xd9]);
    const webpBody = Buffer.concat([Buffer.from('WEBPVP8L', 'latin1'), randomBytes(10, 6)]);
    const webp = Buffer.concat([Buffer.from('RIFF', 'latin1'), Buffer.from([webpBody.length, 0, 0, 0]), webpBody]);
    const bmp = Buffer.alloc(58);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(58, 2);
    const gif = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
    const images = [
      ['image/png', png],
      ['image/jpeg', jpeg],
      ['image/gif', gif],
      ['image/webp', webp],
      ['image/bmp', bmp],
    ] as const;
    const page = images.map(([type, bytes]) => `<img src="data:${type};base64,${b64(bytes)}">`).join('');
    expect(findDataUris(Buffer.from(page))).toEqual([]);
    expect(findDataUris(Buffer.from(`<img src="data:image/svg+xml;base64,${b64(Buffer.from('<svg/>'))}">`))).toHaveLength(1);
  });

  it('reports an image that is only a header, or one with a file glued on behind', () => {
    const fragment = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]);
    const glued = Buffer.concat([png, PDF]);
    expect(findDataUris(Buffer.from(`<img src="data:image/jpeg;base64,${b64(fragment)}"><img src="data:image/png;base64,${b64(glued)}">`))).toHaveLength(2);
  });

  it('ignores data: in prose and in other schemes', () => {
    const prose = 'The data: see below. Our metadata:x,y and userdata:1,2 fields; data:, nothing? data:image/png;base64 has no comma';
    expect(findDataUris(Buffer.from(prose)).map((f) => f.type)).toEqual(['text/plain']); // "data:," is a (empty) URI
    expect(findDataUris(Buffer.from('the data: see below, as discussed'))).toEqual([]);
    expect(findDataUris(Buffer.from('<p>Data: 10:00, &amp; more</p>'))).toEqual([]);
  });
});

describe('robustness', () => {
  /** Flips, inserts, deletes and cuts bytes: each mutant must be scanned without an exception. */
  function mutate(sample: Buffer, next: () => number): Buffer {
    const b = Buffer.from(sample);
    const kind = Math.floor(next() * 4);
    const at = Math.floor(next() * b.length);
    const byte = next() < 0.5 ? Math.floor(next() * 256) : ':=`M\r\n \x90&#;,'.charCodeAt(Math.floor(next() * 14));
    if (kind === 0) {
      for (let k = 0; k < 1 + next() * 8; k++) b[Math.floor(next() * b.length)] = byte;
      return b;
    }
    if (kind === 1) return Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at)]);
    if (kind === 2) return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(next() * 40))]);
    return b.subarray(0, at);
  }

  function fuzz(sample: Buffer, seed: number, scan: (b: Buffer) => EmbeddedFile[]): void {
    const next = random(seed);
    for (let i = 0; i < 2000; i++) {
      const m = mutate(sample, next);
      const found = scan(m);
      for (const f of found) {
        expect(f.start >= 0 && f.start < f.end && f.end <= m.length, `seed ${seed} mutant ${i}`).toBe(true);
      }
    }
  }

  const small = PDF.subarray(0, 300);
  it.runIf(hasSharutils)('survives mutated uuencode blocks', () => {
    fuzz(uuencode(small, 'a.bin'), 11, findEncodedBlocks);
    fuzz(uuencode(small, 'a.bin', true), 12, findEncodedBlocks);
  });
  it.runIf(hasMacutils)('survives mutated BinHex blocks', () => {
    fuzz(Buffer.concat([binhex(small, 'a.bin'), binhex(Buffer.alloc(400, 7), 'runs')]), 13, findEncodedBlocks);
  });
  it.runIf(hasYenc)('survives mutated yEnc blocks', () => {
    fuzz(yencode(small, 'a.bin', 1, 2, 1), 14, findEncodedBlocks);
  });
  it('survives mutated data: URIs', () => {
    const html = Buffer.from(
      `<a href="data:application/pdf;base64,${small.toString('base64')}">x</a><a href=data&#x3a;text/plain,a%2 >y</a>` +
        `<div style="background:url(data:image/png;base64,iVBORw0KGgo=)">`,
    );
    fuzz(html, 15, findDataUris);
    fuzz(html, 16, findEncodedBlocks);
  });

  it('stays linear on 20 MB of candidates that are not blocks', () => {
    const begins = Buffer.alloc(20 << 20, 'begin 644 x\n');
    expect(findEncodedBlocks(begins)).toEqual([]);
    const ybegins = Buffer.alloc(20 << 20, '=ybegin line=1 size=1\n');
    expect(findEncodedBlocks(ybegins)).toEqual([]);
    const markers = Buffer.alloc(20 << 20, '(This file must be converted with BinHex 4.0)\n');
    expect(findEncodedBlocks(markers)).toEqual([]);
    const datas = Buffer.alloc(20 << 20, 'data:');
    expect(findDataUris(datas)).toEqual([]);
    const entities = Buffer.alloc(20 << 20, 'data&#58;data&colon;');
    expect(findDataUris(entities)).toEqual([]);
  });

  it(`stops at ${MAX_EMBEDDED} results on 20 MB of real blocks`, () => {
    expect(findEncodedBlocks(Buffer.alloc(20 << 20, 'begin 644 x\n`\nend\n'))).toHaveLength(MAX_EMBEDDED);
    expect(findDataUris(Buffer.alloc(20 << 20, 'data:,x '))).toHaveLength(MAX_EMBEDDED);
  });
});
