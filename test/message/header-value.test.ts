import { describe, expect, it } from 'vitest';
import { parseHeaderValue, parseStrictHeaderValue } from '../../src/message/header-value.js';
import { parseMime } from '../../src/message/mime.js';

/** 見積書 in ISO-2022-JP (JIS X 0208 between ESC $ B and ESC ( B). */
const MITSUMORI_JIS = Buffer.from('1b2442382b40513d711b2842', 'hex');
/** 見積書 in Shift_JIS. */
const MITSUMORI_SJIS = Buffer.from('8ca990cf8f91', 'hex');
const pct = (bytes: Buffer): string => [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

describe('parseHeaderValue: the value and its parameters as tolerant clients read them', () => {
  it('reads an ordinary Content-Type, lower-casing the type and the parameter names but not the values', () => {
    expect(parseHeaderValue('Text/HTML; Charset="UTF-8"; Name=Report.HTML')).toEqual({
      value: 'text/html',
      params: { charset: 'UTF-8', name: 'Report.HTML' },
      conflicting: [],
    });
  });

  it('drops comments anywhere, nested ones and ones holding quoted pairs included', () => {
    expect(parseHeaderValue('(lead) text/plain (why) ; charset = "utf-8" (another (nested \\) one) here)')).toEqual({
      value: 'text/plain',
      params: { charset: 'utf-8' },
      conflicting: [],
    });
    expect(parseHeaderValue('attachment; (c) filename=(c2)"report.pdf"(c3); size=(x)12').params).toEqual({ filename: 'report.pdf', size: '12' });
  });

  it('keeps parentheses inside a quoted value (they are not a comment there)', () => {
    expect(parseHeaderValue('attachment; filename="invoice (1).pdf"').params.filename).toBe('invoice (1).pdf');
    expect(parseHeaderValue('attachment; filename="a \\" (b).pdf"').params.filename).toBe('a " (b).pdf');
  });

  it('reads a first parameter glued to the value without a semicolon', () => {
    expect(parseHeaderValue('attachment filename=x.csv')).toEqual({ value: 'attachment', params: { filename: 'x.csv' }, conflicting: [] });
    expect(parseHeaderValue('text/html charset=utf-8')).toEqual({ value: 'text/html', params: { charset: 'utf-8' }, conflicting: [] });
    expect(parseHeaderValue('multipart/mixed boundary="abc"').params.boundary).toBe('abc');
  });

  it('reads a later parameter glued to an unquoted value without a semicolon', () => {
    expect(parseHeaderValue('attachment; filename=a.pdf size=12').params).toEqual({ filename: 'a.pdf', size: '12' });
  });

  it('allows spaces around "=" and "/"', () => {
    expect(parseHeaderValue('text / html ; charset = utf-8')).toEqual({ value: 'text/html', params: { charset: 'utf-8' }, conflicting: [] });
    expect(parseHeaderValue('attachment; filename = "spaced.pdf"').params.filename).toBe('spaced.pdf');
  });

  it('keeps "=" and "/" inside unquoted values, and drops the spaces around them', () => {
    expect(parseHeaderValue('multipart/mixed; boundary=----=_Part_1').params.boundary).toBe('----=_Part_1');
    expect(parseHeaderValue('multipart/mixed; boundary=----=_Part_1/x=2').params.boundary).toBe('----=_Part_1/x=2');
    expect(parseHeaderValue('attachment; filename=  spaced.pdf  ').params.filename).toBe('spaced.pdf');
    // a space inside an unquoted value that is not followed by `name=` belongs to the value
    expect(parseHeaderValue('attachment; filename=my file.pdf').params.filename).toBe('my file.pdf');
  });

  it('undoes quoted pairs in quoted values', () => {
    expect(parseHeaderValue('attachment; filename="a\\"b\\\\c.txt"').params.filename).toBe('a"b\\c.txt');
  });

  it('drops text after a closing quote up to the next semicolon', () => {
    expect(parseHeaderValue('attachment; filename="a.txt" junk; size=3').params).toEqual({ filename: 'a.txt', size: '3' });
    expect(parseHeaderValue('text/plain; charset="utf-8" format=flowed').params).toEqual({ charset: 'utf-8' });
  });

  it('reads an unterminated quoted value to the end', () => {
    expect(parseHeaderValue('attachment; filename="unterminated.pdf').params.filename).toBe('unterminated.pdf');
  });

  it('skips parameters without a value and empty segments', () => {
    expect(parseHeaderValue('text/plain; charset; ;; format=flowed;')).toEqual({ value: 'text/plain', params: { format: 'flowed' }, conflicting: [] });
    expect(parseHeaderValue('')).toEqual({ value: '', params: {}, conflicting: [] });
  });

  it('decodes an RFC 2231 extended value (charset, language, %XX)', () => {
    expect(parseHeaderValue("attachment; filename*=UTF-8''%E8%A6%8B%E7%A9%8D.pdf").params.filename).toBe('見積.pdf');
    expect(parseHeaderValue("attachment; filename*=iso-8859-1'en'%A3%20rates.txt").params.filename).toBe('£ rates.txt');
    expect(parseHeaderValue("attachment; filename*=''plain%20name.txt").params.filename).toBe('plain name.txt');
  });

  it('joins RFC 2231 continuations (name*0=, name*1=) in section order', () => {
    expect(parseHeaderValue('attachment; filename*0="abc"; filename*1="def.txt"').params.filename).toBe('abcdef.txt');
    expect(parseHeaderValue("attachment; filename*1*=%E5%BA%A6.pdf; filename*0*=utf-8''%E8%A6%8B").params.filename).toBe('見度.pdf');
  });

  it('joins encoded continuations in ISO-2022-JP before decoding (escape sequences span sections)', () => {
    const bytes = Buffer.concat([MITSUMORI_JIS, Buffer.from('.pdf')]);
    // cut inside the JIS run: only the joined bytes decode
    const v = `attachment; filename*0*=ISO-2022-JP''${pct(bytes.subarray(0, 5))}; filename*1*=${pct(bytes.subarray(5))}`;
    expect(parseHeaderValue(v).params.filename).toBe('見積書.pdf');
  });

  it('joins encoded continuations in Shift_JIS, a character split between two sections', () => {
    const v = `attachment; filename*0*=Shift_JIS''${pct(MITSUMORI_SJIS.subarray(0, 3))}; filename*1*=${pct(MITSUMORI_SJIS.subarray(3))}.xlsx`;
    expect(parseHeaderValue(v).params.filename).toBe('見積書.xlsx');
  });

  it('takes a section without "*" literally (RFC 2231: no %XX decoding there)', () => {
    expect(parseHeaderValue("attachment; filename*0*=utf-8''%E8%A6%8B; filename*1=%41.pdf").params.filename).toBe('見%41.pdf');
  });

  it('decodes RFC 2047 words in quoted values, also in ISO-2022-JP and also unquoted', () => {
    expect(parseHeaderValue(`application/pdf; name="=?ISO-2022-JP?B?${MITSUMORI_JIS.toString('base64')}?=.pdf"`).params.name).toBe('見積書.pdf');
    expect(parseHeaderValue('attachment; filename="=?UTF-8?B?6KaL56mN?= =?UTF-8?Q?=E6=9B=B8?=.pdf"').params.filename).toBe('見積書.pdf');
    expect(parseHeaderValue('attachment; filename==?UTF-8?B?6KaL56mN?=.pdf').params.filename).toBe('見積.pdf');
  });

  it('keeps the first of duplicate parameters, listing the name as conflicting only when the values differ', () => {
    expect(parseHeaderValue('attachment; filename=a.pdf; filename=b.pdf')).toEqual({ value: 'attachment', params: { filename: 'a.pdf' }, conflicting: ['filename'] });
    expect(parseHeaderValue('attachment; filename=a.pdf; FILENAME="a.pdf"').conflicting).toEqual([]);
    expect(parseHeaderValue('attachment; filename*0=a; filename*0=b').conflicting).toEqual(['filename']);
  });

  it('lets an RFC 2231 value win over a plain one of the same name, in either order', () => {
    expect(parseHeaderValue("attachment; filename=plain.pdf; filename*=UTF-8''%E8%A6%8B.pdf").params.filename).toBe('見.pdf');
    expect(parseHeaderValue("attachment; filename*=UTF-8''%E8%A6%8B.pdf; filename=plain.pdf").params.filename).toBe('見.pdf');
  });

  it('never throws on odd input', () => {
    for (const s of ['(', ')', '"', '\\', ';;;', '=', 'a/b; =x', '((((a', 'x; y*=%', "x; y*0*=''%", 'x; y*99999999999999999999=1', '\u0000\uffff']) {
      expect(() => parseHeaderValue(s)).not.toThrow();
      expect(() => parseStrictHeaderValue(s)).not.toThrow();
    }
  });
});

describe('parseStrictHeaderValue: the same value read by RFC 2045 only', () => {
  it('reads a well-formed value as the tolerant reader does', () => {
    const v = 'multipart/mixed; boundary="----=_Part_1"; charset=utf-8';
    expect(parseStrictHeaderValue(v)).toEqual({ value: 'multipart/mixed', params: { boundary: '----=_Part_1', charset: 'utf-8' } });
    expect(parseStrictHeaderValue(v).params).toEqual(parseHeaderValue(v).params);
  });

  it('refuses comments', () => {
    expect(parseStrictHeaderValue('text/plain (c)').value).toBe('');
    expect(parseStrictHeaderValue('multipart/mixed; boundary="b" (c)').params.boundary).toBeUndefined();
  });

  it('refuses a missing semicolon', () => {
    expect(parseStrictHeaderValue('text/html charset=utf-8')).toEqual({ value: '', params: {} });
    expect(parseStrictHeaderValue('multipart/mixed; boundary=b charset=x').params.boundary).toBeUndefined();
  });

  it('refuses an unquoted value holding "=" (or any non-token character)', () => {
    expect(parseStrictHeaderValue('multipart/mixed; boundary=----=_Part_1')).toEqual({ value: 'multipart/mixed', params: {} });
    expect(parseStrictHeaderValue('multipart/mixed; boundary=a/b').params).toEqual({});
  });

  it('takes spaces around "=" but not around "/", and neither RFC 2231 nor RFC 2047', () => {
    expect(parseStrictHeaderValue('text/plain; charset = utf-8').params.charset).toBe('utf-8');
    expect(parseStrictHeaderValue('text / plain').value).toBe('');
    expect(parseStrictHeaderValue("attachment; filename*=UTF-8''%E8%A6%8B.pdf").params).toEqual({ 'filename*': "UTF-8''%E8%A6%8B.pdf" });
    expect(parseStrictHeaderValue('a/b; name="=?UTF-8?B?6KaL?="').params.name).toBe('=?UTF-8?B?6KaL?=');
  });

  it('keeps the first of duplicate parameters', () => {
    expect(parseStrictHeaderValue('multipart/mixed; boundary=a; boundary=b').params.boundary).toBe('a');
  });
});

describe('parseMime flags content-type-unclear exactly when the two readings disagree', () => {
  const unclear = (contentType: string): boolean => {
    const multipart = /^\s*multipart/i.test(contentType);
    const body = multipart ? '--b\r\n\r\nx\r\n--b--\r\n' : 'x\r\n';
    const tree = parseMime(Buffer.from(`Content-Type: ${contentType}\r\n\r\n${body}`, 'latin1'));
    return tree.ambiguities.some((a) => a.code === 'content-type-unclear');
  };

  it('does not flag well-formed values, nor oddities in parameters that decide nothing', () => {
    expect(unclear('text/plain; charset=utf-8')).toBe(false);
    expect(unclear('TEXT/Plain; Charset="UTF-8"')).toBe(false);
    expect(unclear('multipart/mixed; boundary="b"')).toBe(false);
    expect(unclear('multipart/mixed; boundary=b')).toBe(false);
    // a broken parameter of a single part: both read text/plain
    expect(unclear('text/plain; charset=utf-8 (comment)')).toBe(false);
    expect(unclear('text/plain; name=a=b.txt')).toBe(false);
    // a multipart with an odd parameter other than the boundary
    expect(unclear('multipart/mixed; boundary="b"; x=a=b')).toBe(false);
  });

  it('flags a type the strict reading does not see', () => {
    expect(unclear('text/plain (comment)')).toBe(true);
    expect(unclear('text/html charset=utf-8')).toBe(true);
    expect(unclear('text / html')).toBe(true);
  });

  it('flags a multipart whose boundary the strict reading does not see', () => {
    expect(unclear('multipart/mixed; boundary=b (comment)')).toBe(true);
    expect(unclear('multipart/mixed boundary="b"')).toBe(true);
    expect(unclear('multipart/mixed; boundary=b charset=x')).toBe(true);
  });

  it('flags the boundary of the tolerant reading having = in it unquoted, and reads the parts by it', () => {
    const raw = Buffer.from('Content-Type: multipart/mixed; boundary=----=_Part_1\r\n\r\n------=_Part_1\r\n\r\nx\r\n------=_Part_1--\r\n');
    const tree = parseMime(raw);
    expect(tree.ambiguities.map((a) => a.code)).toEqual(['content-type-unclear']);
    expect(tree.root.children).toHaveLength(1);
  });

  it('does not RFC 2047-decode a boundary that looks like an encoded word', () => {
    expect(parseHeaderValue('multipart/mixed; boundary="=?utf-8?B?YWJj?="').params.boundary).toBe('=?utf-8?B?YWJj?=');
    const b = '=?utf-8?B?YWJj?=';
    const tree = parseMime(Buffer.from(`Content-Type: multipart/mixed; boundary="${b}"\r\n\r\n--${b}\r\n\r\nhello\r\n--${b}\r\nContent-Type: application/pdf; name=a.pdf\r\n\r\nPDF\r\n--${b}--\r\n`));
    expect(tree.ambiguities).toEqual([]);
    expect(tree.root.children).toHaveLength(2);
  });

  it('flags two different boundaries in one Content-Type as boundary-conflict', () => {
    const tree = parseMime(Buffer.from('Content-Type: multipart/mixed; boundary=a; boundary=b\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n'));
    expect(tree.ambiguities.map((a) => a.code)).toEqual(['boundary-conflict']);
    expect(tree.root.boundary).toBe('a');
  });
});
