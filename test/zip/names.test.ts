import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { encodeEntryName, EntryNames, sanitizeEntryName } from '../../src/zip/names.js';

describe('sanitizeEntryName', () => {
  it('keeps ordinary Japanese names, spaces and full-width characters as they are', () => {
    for (const name of ['見積書.txt', '請求書 2026年11月.xlsx', '議事録 （第３回）　最終版.docx', 'ﾃｽﾄ.csv', '.env']) expect(sanitizeEntryName(name)).toBe(name);
  });

  it('drops directory components, / and \\ alike', () => {
    expect(sanitizeEntryName('../../etc/passwd')).toBe('passwd');
    expect(sanitizeEntryName('C:\\Users\\yamada\\見積書.pdf')).toBe('見積書.pdf');
    expect(sanitizeEntryName('/abs/path/a.txt')).toBe('a.txt');
    expect(sanitizeEntryName('dir/')).toBe('attachment');
  });

  it('turns empty and dots-only names into "attachment"', () => {
    for (const name of ['', '.', '..', '...', '  ', '\u3000', '\u0000\u0001', 'a/..', 'a\\.']) expect(sanitizeEntryName(name)).toBe('attachment');
  });

  it('removes control characters and bidi overrides that disguise extensions', () => {
    expect(sanitizeEntryName('a\u0000b\tc\r\n.txt')).toBe('abc.txt');
    expect(sanitizeEntryName('invoice\u202efdp.exe')).toBe('invoicefdp.exe');
    expect(sanitizeEntryName('\ufeff報告書.pdf')).toBe('報告書.pdf');
  });

  it('replaces characters Windows forbids, drops trailing dots and spaces, escapes device names', () => {
    expect(sanitizeEntryName('a<b>c:d"e|f?g*h.txt')).toBe('a_b_c_d_e_f_g_h.txt');
    expect(sanitizeEntryName('report.txt. . ')).toBe('report.txt');
    expect(sanitizeEntryName('CON')).toBe('_CON');
    expect(sanitizeEntryName('nul.txt')).toBe('_nul.txt');
    expect(sanitizeEntryName('com1.log')).toBe('_com1.log');
    expect(sanitizeEntryName('console.txt')).toBe('console.txt');
  });

  it('composes NFD names (as macOS mailers send them) into NFC', () => {
    const nfd = 'データ一覧.txt'.normalize('NFD');
    expect(nfd).not.toBe('データ一覧.txt');
    expect(sanitizeEntryName(nfd)).toBe('データ一覧.txt');
  });

  it('shortens names over 255 UTF-16 units, keeping the extension and whole characters', () => {
    const long = `${'あ'.repeat(300)}.xlsx`;
    const out = sanitizeEntryName(long);
    expect(out.length).toBe(255);
    expect(out.endsWith('あ.xlsx')).toBe(true);
    const emoji = sanitizeEntryName(`${'😀'.repeat(200)}.txt`);
    expect(emoji.length).toBeLessThanOrEqual(255);
    expect(emoji).toMatch(/^(😀)+\.txt$/u);
  });
});

describe('encodeEntryName', () => {
  it('UTF-8: the name as UTF-8 bytes', () => {
    expect(encodeEntryName('見積書.txt', 'utf8')).toEqual({ name: '見積書.txt', bytes: Buffer.from('見積書.txt') });
  });

  it('CP932: Shift_JIS bytes, including those with 0x5C as second byte (表, ソ)', () => {
    const { name, bytes } = encodeEntryName('表計算ソフト.csv', 'cp932');
    expect(name).toBe('表計算ソフト.csv');
    expect(bytes.toString('hex')).toBe('955c8c768e5a835c837483672e637376');
    expect(iconv.decode(bytes, 'cp932')).toBe(name);
  });

  it('CP932: NEC and IBM extensions (①, ㈱, 髙, 﨑) are kept', () => {
    const { name, bytes } = encodeEntryName('①㈱髙﨑.txt', 'cp932');
    expect(name).toBe('①㈱髙﨑.txt');
    expect(iconv.decode(bytes, 'cp932')).toBe(name);
  });

  it('CP932: JIS code points become their Microsoft look-alikes; ¥ never becomes 0x5C', () => {
    expect(encodeEntryName('4月〜6月−‖—.txt', 'cp932').name).toBe('4月～6月－∥―.txt');
    const yen = encodeEntryName('¥1000.txt', 'cp932');
    expect(yen.name).toBe('￥1000.txt');
    expect(yen.bytes.includes(0x5c)).toBe(false);
  });

  it('CP932: other characters fall back to a compatible form, a base letter, or "_"', () => {
    expect(encodeEntryName('café ﬁle Ⅻ.txt', 'cp932').name).toBe('cafe file XII.txt');
    expect(encodeEntryName('報告😀.txt', 'cp932').name).toBe('報告_.txt');
    expect(encodeEntryName('한국어.txt', 'cp932').name).toBe('___.txt');
    for (const s of ['café.txt', '報告😀.txt']) {
      const { name, bytes } = encodeEntryName(s, 'cp932');
      expect(iconv.decode(bytes, 'cp932')).toBe(name);
    }
  });
});

describe('EntryNames', () => {
  it('de-duplicates names as Windows compares them: a.txt, a (2).txt, A (3).TXT', () => {
    const names = new EntryNames('utf8');
    expect(['a.txt', 'a.txt', 'A.TXT', 'dir/a.txt', 'b'].map((n) => names.add(n).name)).toEqual(['a.txt', 'a (2).txt', 'A (3).TXT', 'a (4).txt', 'b']);
  });

  it('de-duplicates Japanese names and names equal only after sanitising', () => {
    const names = new EntryNames('utf8');
    expect(['見積書.txt', '見積書.txt', 'x/見積書.txt', '..', '', 'b', 'b'].map((n) => names.add(n).name)).toEqual([
      '見積書.txt',
      '見積書 (2).txt',
      '見積書 (3).txt',
      'attachment',
      'attachment (2)',
      'b',
      'b (2)',
    ]);
  });

  it('does not hand out a generated name that a later file really has', () => {
    const names = new EntryNames('utf8');
    expect(['a.txt', 'a.txt', 'a (2).txt'].map((n) => names.add(n).name)).toEqual(['a.txt', 'a (2).txt', 'a (2) (2).txt']);
  });

  it('CP932: names that become equal after encoding are de-duplicated too', () => {
    const names = new EntryNames('cp932');
    expect(['é.txt', 'e.txt', '😀.txt', '🙂.txt'].map((n) => names.add(n).name)).toEqual(['e.txt', 'e (2).txt', '_.txt', '_ (2).txt']);
  });
});
