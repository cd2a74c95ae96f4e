/**
 * The hand-written structures: each case is a template that draws its names, contents and
 * boundaries from the PRNG. A case returns the whole message as a latin1 string, and may add a
 * suffix to its name (where a variant was chosen at random, e.g. `related-pdf@alternative`).
 */
import { binhex, fakeEncrypted7z, fakeEncryptedOffice, pdf, png, tnef, uuencode, xlsx, yencode, zip } from './files.js';
import { type Ctx, part } from './mime.js';

export interface Case {
  name: string;
  build(c: Ctx): { raw: string; variant?: string };
  /** Too heavy for the random mix: generated once per run, at its fixed index. */
  once?: boolean;
}

const mixed = (c: Ctx, ...parts: string[]) => c.multipart('mixed', [c.textPart(), ...parts]);
const simple = (name: string, build: (c: Ctx) => string, once = false): Case => ({ name, build: (c) => ({ raw: build(c) }), once });

// ---- multipart/related --------------------------------------------------------------------------

/** Puts a multipart/related at the top, inside mixed, inside alternative, or deeper. */
function placeRelated(c: Ctx, related: string): { raw: string; variant: string } {
  const where = c.rng.pick(['top', 'mixed', 'alternative', 'mixed-alternative', 'deep'] as const);
  let top: string;
  switch (where) {
    case 'top':
      top = related;
      break;
    case 'mixed':
      top = c.multipart('mixed', [related, ...(c.rng.bool() ? [c.anyFile()] : [])]);
      break;
    case 'alternative':
      top = c.multipart('alternative', [c.textPart(), related]);
      break;
    case 'mixed-alternative':
      top = c.multipart('mixed', [c.multipart('alternative', [c.textPart(), related])]);
      break;
    default: {
      top = c.multipart('alternative', [c.textPart(), related]);
      for (let i = c.rng.range(2, 5); i > 0; i--) top = c.multipart(c.rng.pick(['mixed', 'related', 'alternative']), c.rng.bool() ? [c.textPart(), top] : [top]);
    }
  }
  return { raw: c.mail(top), variant: where };
}

/** HTML referencing the given cids, then the related parts. */
function related(c: Ctx, referenced: string[], parts: string[]): string {
  const html = c.htmlPart(referenced.map((cid) => `<img src="cid:${cid}" alt="x">`).join('\r\n'));
  const b = c.boundary();
  return c.multipart('related', [html, ...parts], { boundary: b, param: `type="text/html"; boundary="${b}"` });
}

function relatedCase(name: string, inner: (c: Ctx) => string): Case {
  return { name, build: (c) => placeRelated(c, inner(c)) };
}

const disp = (c: Ctx) => c.rng.pick(['inline', 'attachment', null]);

const RELATED: Case[] = [
  relatedCase('related-pdf', (c) => {
    const cid = c.cid();
    return related(c, c.rng.bool() ? [cid] : [], [c.file({ type: 'application/pdf', content: pdf(c.rng), cid, disp: disp(c) })]);
  }),
  relatedCase('related-xlsx', (c) => {
    const cid = c.cid();
    return related(c, [], [c.file({ type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', content: xlsx(c.rng), name: c.name('xlsx'), cid, disp: disp(c) })]);
  }),
  relatedCase('related-csv', (c) => {
    const cid = c.cid();
    return related(c, [], [c.file({ type: 'text/csv', content: Buffer.from(c.rng.csv(c.rng.range(3, 40))), name: c.name('csv'), cid, disp: disp(c), cte: c.rng.pick(['base64', 'quoted-printable', '7bit']) })]);
  }),
  relatedCase('related-unreferenced-png', (c) => {
    const shown = c.cid();
    return related(c, [shown], [
      c.file({ type: 'image/png', content: png(c.rng), name: 'logo.png', cid: shown, disp: 'inline' }),
      c.file({ type: 'image/png', content: png(c.rng), name: 'passport-scan.png', cid: c.cid(), disp: disp(c) }),
    ]);
  }),
  relatedCase('related-referenced-png', (c) => {
    // the one image that may legitimately stay inline
    const cid = c.cid();
    return related(c, [cid], [c.file({ type: 'image/png', content: png(c.rng), name: c.name('png'), cid, disp: c.rng.pick(['inline', null]) })]);
  }),
  relatedCase('related-png-typed-pdf', (c) => {
    const cid = c.cid();
    return related(c, [cid], [c.file({ type: 'image/png', content: pdf(c.rng), name: c.name('png'), cid, disp: c.rng.pick(['inline', null]) })]);
  }),
  relatedCase('related-only-pdf', (c) =>
    c.multipart('related', [c.file({ type: 'application/pdf', content: pdf(c.rng), cid: c.cid(), disp: disp(c) })]),
  ),
];

// ---- files that look encrypted ------------------------------------------------------------------

const FAKE_ENCRYPTED: Case[] = [
  simple('zip-mixed-encryption', (c) => {
    const z = zip([
      { name: 'dummy.txt', data: c.rng.bytes(c.rng.range(20, 200)), encrypted: true },
      { name: `${c.rng.token(6)}.csv`, data: Buffer.from(c.rng.csv(c.rng.range(5, 40))), encrypted: false },
    ]);
    return c.mail(mixed(c, c.file({ type: 'application/zip', content: z, name: c.name('zip') })));
  }),
  simple('zip-central-encrypted-local-plain', (c) => {
    const z = zip([{ name: `${c.rng.token(6)}.txt`, data: Buffer.from(c.rng.text(c.rng.range(100, 1500))), encrypted: true, localEncrypted: false }]);
    return c.mail(mixed(c, c.file({ type: 'application/zip', content: z, name: c.name('zip') })));
  }),
  simple('pdf-fake-encrypt', (c) => c.mail(mixed(c, c.file({ type: 'application/pdf', content: pdf(c.rng, { encryptMarker: true }), name: c.name('pdf') })))),
  simple('csv-pdf-marker', (c) => {
    const csv = `%PDF-1.4,${c.rng.token(8)},/Encrypt\r\n${c.rng.csv(c.rng.range(5, 40))}/Encrypt\r\n`;
    return c.mail(mixed(c, c.file({ type: 'text/csv', content: Buffer.from(csv), name: c.name('csv'), cte: c.rng.pick(['base64', '7bit']) })));
  }),
  simple('ole-fake-encrypted', (c) => c.mail(mixed(c, c.file({ type: 'application/vnd.ms-excel', content: fakeEncryptedOffice(c.rng), name: c.name('xls') })))),
  simple('7z-fake-aes', (c) => c.mail(mixed(c, c.file({ type: 'application/x-7z-compressed', content: fakeEncrypted7z(c.rng), name: c.name('7z') })))),
];

// ---- nesting ------------------------------------------------------------------------------------

function nested(depth: number): Case {
  return simple(`nest-${depth}`, (c) => {
    let p = c.multipart('mixed', [c.textPart(), c.anyFile()]);
    for (let i = 1; i < depth; i++) p = c.multipart(c.rng.pick(['mixed', 'alternative', 'related', 'mixed']), c.rng.bool(0.3) ? [c.textPart(c.text(40)), p] : [p]);
    return c.mail(p);
  });
}

// ---- boundaries ---------------------------------------------------------------------------------

const BOUNDARIES: Case[] = [
  simple('boundary-trailing-space', (c) => {
    const b = `abc${c.rng.token(6)}`;
    return c.mail(c.multipart('mixed', [c.textPart(), c.anyFile()], { param: `boundary="${b} "`, delim: b }));
  }),
  simple('boundary-empty', (c) => c.mail(c.multipart('mixed', [c.textPart(), c.anyFile()], { param: 'boundary=""', delim: '' }))),
  simple('multipart-without-boundary-attachment', (c) => {
    const name = c.name('pdf');
    const inner = part(['Content-Type: multipart/mixed', `Content-Disposition: attachment; filename=${name}`, 'Content-Transfer-Encoding: base64'], pdf(c.rng).toString('base64').replace(/.{76}/g, '$&\r\n'));
    return c.mail(c.multipart('mixed', [c.textPart(), inner]));
  }),
  simple('boundary-reused-nested', (c) => {
    // CPython test_email msg_15.txt: the inner multipart declares its parent's boundary
    const b = c.boundary();
    const inner = `Content-Type: multipart/alternative; boundary="${b}"\r\n\r\n--${b}\r\n${c.textPart()}\r\n--${b}--\r\n`;
    const body = `--${b}\r\n${c.textPart()}\r\n--${b}\r\n${inner}\r\n--${b}\r\n${c.anyFile()}\r\n--${b}--\r\n`;
    return c.mail(part([`Content-Type: multipart/mixed; boundary="${b}"`], body));
  }),
  simple('boundary-duplicate-param', (c) => {
    const [a, b] = [c.boundary(), c.boundary()];
    const body = `--${a}\r\n${c.textPart()}\r\n--${b}\r\n${c.anyFile()}\r\n--${a}\r\n${c.anyFile()}\r\n--${b}--\r\n--${a}--\r\n`;
    return c.mail(part([`Content-Type: multipart/mixed; boundary="${a}"; boundary="${b}"`], body));
  }),
  simple('part-in-preamble', (c) => c.mail(c.multipart('mixed', [c.textPart(), ...(c.rng.bool() ? [c.anyFile()] : [])], { preamble: c.anyFile() }))),
  simple('part-in-epilogue', (c) => c.mail(c.multipart('mixed', [c.textPart(), ...(c.rng.bool() ? [c.anyFile()] : [])], { epilogue: `${c.anyFile()}\r\n` }))),
  simple('boundary-never-found', (c) => c.mail(c.multipart('mixed', [c.textPart(), c.anyFile()], { param: `boundary="${c.boundary()}"`, delim: c.boundary() }))),
];

// ---- header blocks ------------------------------------------------------------------------------

/** A message whose top header block (or the attachment's) is edited by `edit` (a list of lines). */
function headerCase(name: string, where: 'top' | 'part' | 'either', edit: (lines: string[], c: Ctx) => string[]): Case {
  return {
    name,
    build(c) {
      const w = where === 'either' ? c.rng.pick(['top', 'part'] as const) : where;
      const file = c.anyFile();
      if (w === 'part') {
        const [head, ...body] = file.split('\r\n\r\n');
        const edited = edit(head!.split('\r\n'), c).join('\r\n');
        return { raw: c.mail(c.multipart('mixed', [c.textPart(), `${edited}\r\n\r\n${body.join('\r\n\r\n')}`])), variant: w };
      }
      const msg = c.mail(c.multipart('mixed', [c.textPart(), file]));
      const cut = msg.indexOf('\r\n\r\n');
      return { raw: edit(msg.slice(0, cut).split('\r\n'), c).join('\r\n') + msg.slice(cut), variant: w };
    },
  };
}

/** Inserts `line` before the Content-Type line (or at a random place when there is none). */
function beforeContentType(lines: string[], line: string, c: Ctx): string[] {
  const i = lines.findIndex((l) => /^content-type:/i.test(l));
  const at = i >= 0 ? i : c.rng.int(lines.length + 1);
  return [...lines.slice(0, at), line, ...lines.slice(at)];
}

const SJIS_TEST = '\x83e\x83X\x83g'; // テスト in Shift_JIS

const HEADERS: Case[] = [
  simple('bom-before-headers', (c) => `\xef\xbb\xbf${c.mail(mixed(c, c.anyFile()))}`),
  headerCase('header-no-colon-top', 'top', (l, c) => beforeContentType(l, `${c.rng.token(5)} ${c.rng.token(7)}`, c)),
  headerCase('header-no-colon-part', 'part', (l, c) => beforeContentType(l, `${c.rng.token(5)} ${c.rng.token(7)}`, c)),
  headerCase('header-name-space', 'part', (l) => l.map((x) => x.replace(/^Content-Type:/, 'Content Type:'))),
  headerCase('header-name-space-extra', 'either', (l, c) => beforeContentType(l, `X Memo: ${c.rng.token(6)}`, c)),
  headerCase('header-name-8bit', 'either', (l, c) => beforeContentType(l, `X-M\xe9mo\xff: ${c.rng.token(6)}`, c)),
  headerCase('header-sjis-line', 'either', (l, c) => beforeContentType(l, c.rng.bool() ? SJIS_TEST : `X-Memo: ${SJIS_TEST}`, c)),
  headerCase('header-sjis-filename', 'part', (l) => l.map((x) => x.replace(/filename="[^"]*"/, `filename="${SJIS_TEST}.pdf"`).replace(/name="[^"]*"/, `name="${SJIS_TEST}.pdf"`))),
  simple('subject-space-colon', (c) => c.mail(mixed(c, c.anyFile())).replace(/^Subject:/m, 'Subject :')),
  headerCase('content-header-space-colon', 'either', (l) => l.map((x) => x.replace(/^Content-(Type|Disposition):/, 'Content-$1 :'))),
  simple('headers-bare-lf', (c) => {
    const msg = c.mail(mixed(c, c.anyFile()));
    const cut = msg.indexOf('\r\n\r\n');
    return msg.slice(0, cut).replace(/\r\n/g, '\n') + '\n\n' + msg.slice(cut + 4);
  }),
  simple('headers-bare-cr', (c) => {
    const msg = c.mail(mixed(c, c.anyFile()));
    const cut = msg.indexOf('\r\n\r\n');
    return msg.slice(0, cut).replace(/\r\n/g, '\r') + '\r\r' + msg.slice(cut + 4);
  }),
];

// ---- Content-Disposition ------------------------------------------------------------------------

function dispositionCase(name: string, header: (c: Ctx) => string, type = 'text/csv'): Case {
  return simple(name, (c) => {
    const content = type === 'text/csv' ? Buffer.from(c.rng.csv(c.rng.range(3, 40))) : pdf(c.rng);
    const cte = c.rng.pick(['base64', '7bit'] as const);
    const p = part([`Content-Type: ${type}${c.rng.bool(0.3) ? `; name=${c.name('csv')}` : ''}`, header(c), `Content-Transfer-Encoding: ${cte}`], cte === 'base64' ? content.toString('base64').replace(/.{76}/g, '$&\r\n') : content.toString('latin1'));
    return c.mail(mixed(c, p));
  });
}

const DISPOSITIONS: Case[] = [
  dispositionCase('cd-comment', (c) => `Content-Disposition: attachment (${c.rng.token(5)}); filename=${c.name('pdf')}`, 'application/pdf'),
  dispositionCase('cd-no-semicolon', (c) => `Content-Disposition: attachment filename=${c.name('csv')}`),
  dispositionCase('cd-uppercase', (c) => `Content-Disposition: ATTACHMENT; FILENAME="${c.name('csv')}"`),
  dispositionCase('cd-rfc2231-utf8', () => "Content-Disposition: attachment; filename*=UTF-8''%E8%A6%8B.csv"),
  dispositionCase('cd-rfc2231-continuation', (c) => `Content-Disposition: attachment; filename*0="${c.rng.token(6)}"; filename*1="-${c.rng.token(6)}.csv"`),
  dispositionCase('cd-rfc2231-encoded-continuation', () => "Content-Disposition: attachment;\r\n filename*0*=UTF-8''%E8%A6%8B%E7%A9%8D;\r\n filename*1*=%E6%9B%B8.csv"),
  dispositionCase('cd-unknown', () => 'Content-Disposition: foo'),
  dispositionCase('cd-inline-filename', (c) => `Content-Disposition: inline; filename="${c.name('csv')}"`),
  dispositionCase('cd-unknown-text-plain', () => 'Content-Disposition: foo', 'text/plain'),
  dispositionCase('cd-inline-filename-text-plain', (c) => `Content-Disposition: inline; filename="${c.name('txt')}"`, 'text/plain'),
];

// ---- duplicated headers -------------------------------------------------------------------------

function duplicateCase(name: string, headers: (c: Ctx, fname: string) => string[], cte: 'base64' | '7bit' = 'base64'): Case {
  return simple(name, (c) => {
    const content = pdf(c.rng);
    const fname = c.name('pdf');
    const hs = headers(c, fname);
    if (!hs.some((h) => /^content-transfer-encoding/i.test(h))) hs.push(`Content-Transfer-Encoding: ${cte}`);
    if (c.rng.bool(0.3) && !hs.some((h) => /^content-disposition/i.test(h))) hs.push(`Content-Disposition: attachment; filename="${fname}"`);
    return c.mail(mixed(c, part(hs, cte === 'base64' ? content.toString('base64').replace(/.{76}/g, '$&\r\n') : content.toString('latin1'))));
  });
}

const DUPLICATES: Case[] = [
  duplicateCase('dup-ct-text-first', (_c, f) => ['Content-Type: text/plain; charset=us-ascii', `Content-Type: application/pdf; name="${f}"`]),
  duplicateCase('dup-ct-pdf-first', (_c, f) => [`Content-Type: application/pdf; name="${f}"`, 'Content-Type: text/plain; charset=us-ascii']),
  duplicateCase('dup-cte-7bit-then-base64', (_c, f) => [`Content-Type: application/pdf; name="${f}"`, 'Content-Transfer-Encoding: 7bit', 'Content-Transfer-Encoding: base64']),
  duplicateCase('dup-cd', (c, f) => {
    const both = ['Content-Disposition: inline', `Content-Disposition: attachment; filename="${f}"`];
    return [`Content-Type: ${c.rng.pick(['application/pdf', 'text/plain'])}`, ...(c.rng.bool() ? both : both.reverse())];
  }),
];

// ---- files inside bodies ------------------------------------------------------------------------

function bodyCase(name: string, block: (c: Ctx) => string, cte = '7bit', charset = 'us-ascii'): Case {
  return simple(name, (c) => {
    const body = `${c.text(c.rng.range(40, 200))}\r\n${block(c)}\r\n\r\n${c.text(c.rng.range(20, 200))}`;
    const text = part([`Content-Type: text/plain; charset=${charset}`, `Content-Transfer-Encoding: ${cte}`], body);
    return c.mail(c.rng.bool() ? text : c.multipart('mixed', [text]));
  });
}

function dataUriCase(name: string, type: string): Case {
  return simple(name, (c) => {
    const uri = `data:${type};base64,${pdf(c.rng).toString('base64')}`;
    const inner = c.rng.bool() ? `<a href="${uri}" download="${c.name('pdf')}">file</a>` : `<img src="${uri}">`;
    const html = c.htmlPart(inner);
    return c.mail(c.rng.bool() ? c.multipart('alternative', [c.textPart(), html]) : html);
  });
}

const BODIES: Case[] = [
  bodyCase('body-uuencode', (c) => uuencode(c.name('pdf'), pdf(c.rng))),
  bodyCase('body-binhex', (c) => binhex(c.name('pdf'), pdf(c.rng))),
  bodyCase('body-yenc', (c) => yencode(c.name('bin'), c.rng.bytes(c.rng.range(100, 2000))).toString('latin1'), '8bit', 'iso-8859-1'),
  dataUriCase('html-data-pdf', 'application/pdf'),
  dataUriCase('html-data-png-with-pdf', 'image/png'),
];

// ---- message types ------------------------------------------------------------------------------

const MESSAGES: Case[] = [
  simple('rfc822-with-attachments', (c) => {
    const inner = c.mail(c.multipart('mixed', [c.textPart(), c.anyFile(), c.anyFile()]));
    const name = c.name('eml');
    return c.mail(mixed(c, part([`Content-Type: message/rfc822${c.rng.bool() ? `; name="${name}"` : ''}`, ...(c.rng.bool() ? [`Content-Disposition: ${c.rng.pick(['attachment', 'inline'])}; filename="${name}"`] : [])], inner)));
  }),
  simple('message-partial', (c) => {
    const inner = c.mail(c.multipart('mixed', [c.textPart(), c.anyFile()]));
    const cut = inner.slice(0, Math.floor(inner.length * (0.5 + c.rng.next() / 2)));
    const id = `${c.rng.token(10)}@example.co.jp`;
    return c.mail(part([`Content-Type: message/partial; id="${id}"; number=1; total=2`], cut));
  }),
  simple('ms-tnef', (c) => c.mail(mixed(c, c.file({ type: 'application/ms-tnef', content: tnef(c.rng), name: 'winmail.dat' })))),
];

// ---- signed -------------------------------------------------------------------------------------

function signature(c: Ctx, kind: 'pkcs7' | 'pgp'): string {
  if (kind === 'pgp') {
    const armor = `-----BEGIN PGP SIGNATURE-----\r\n\r\n${c.rng.bytes(120).toString('base64').replace(/.{64}/g, '$&\r\n')}\r\n-----END PGP SIGNATURE-----\r\n`;
    return part(['Content-Type: application/pgp-signature; name="signature.asc"', 'Content-Description: OpenPGP digital signature'], armor);
  }
  return c.file({ type: 'application/pkcs7-signature', content: c.rng.bytes(c.rng.range(300, 900)), name: 'smime.p7s' });
}

function signed(c: Ctx, kind: 'pkcs7' | 'pgp', content: string): string {
  const protocol = kind === 'pgp' ? 'application/pgp-signature' : 'application/pkcs7-signature';
  const b = c.boundary();
  return c.multipart('signed', [content, signature(c, kind)], { boundary: b, param: `protocol="${protocol}"; micalg=${kind === 'pgp' ? 'pgp-sha256' : 'sha-256'}; boundary="${b}"` });
}

const SIGNED: Case[] = [
  simple('signed-pkcs7-attachments', (c) => c.mail(c.multipart('mixed', [signed(c, 'pkcs7', c.multipart('mixed', [c.textPart(), c.anyFile(), c.anyFile()])), ...(c.rng.bool() ? [c.anyFile()] : [])]))),
  simple('signed-pgp-attachments', (c) => c.mail(c.multipart('mixed', [signed(c, 'pgp', c.multipart('mixed', [c.textPart(), c.anyFile()])), ...(c.rng.bool() ? [c.anyFile()] : [])]))),
  // no attachment at all: must be delivered as it is (its signature intact)
  { name: 'signed-plain', build: (c) => ({ raw: c.mail(signed(c, c.rng.pick(['pkcs7', 'pgp']), c.textPart())) }) },
];

// ---- transfer encodings -------------------------------------------------------------------------

function encodingCase(name: string, cte: string, body: (c: Ctx, content: Buffer) => string): Case {
  return simple(name, (c) => {
    const f = c.content(c.rng.pick(['pdf', 'bin', 'csv']));
    const p = part([`Content-Type: ${f.type}; name="${c.name(f.ext)}"`, 'Content-Disposition: attachment', `Content-Transfer-Encoding: ${cte}`], body(c, f.content));
    return c.mail(mixed(c, p));
  });
}

const ENCODINGS: Case[] = [
  encodingCase('base64-garbage', 'base64', (c, b) => {
    const s = b.toString('base64');
    let out = '';
    for (let i = 0; i < s.length; ) {
      const n = c.rng.range(1, 200);
      out += `${s.slice(i, i + n).replace(/(.{7})/g, (m) => (c.rng.bool(0.2) ? m + c.rng.pick(['!', '*', ' ', '\t', '.', '#', '\xe9']) : m))}\r\n`;
      i += n;
    }
    return out;
  }),
  encodingCase('base64-no-padding', 'base64', (_c, b) => b.toString('base64').replace(/=+$/, '').replace(/.{76}/g, '$&\r\n')),
  encodingCase('qp-broken-escapes', 'quoted-printable', (c, b) => {
    let s = b.toString('latin1');
    s = s.replace(/[^\x20-\x3c\x3e-\x7e\r\n]/g, (ch) => `=${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
    s = s.replace(/.{70}/g, (m) => `${m}${c.rng.pick(['=\r\n', '=G\r\n', '=4\r\n', '\r\n', '= \r\n'])}`);
    return s;
  }),
  encodingCase('cte-x-uuencode', 'x-uuencode', (c, b) => uuencode(c.name('bin'), b)),
  encodingCase('cte-x-unknown', 'x-unknown', (c, b) => (c.rng.bool() ? b.toString('base64').replace(/.{76}/g, '$&\r\n') : b.toString('latin1'))),
  simple('8bit-under-7bit', (c) => {
    const content = Buffer.from(c.rng.bytes(c.rng.range(100, 2000)).map((x) => (x < 0x20 ? x + 0x40 : x)));
    return c.mail(mixed(c, part([`Content-Type: application/octet-stream; name="${c.name('dat')}"`, 'Content-Disposition: attachment', 'Content-Transfer-Encoding: 7bit'], content.toString('latin1'))));
  }),
];

// ---- many parts ---------------------------------------------------------------------------------

function manyParts(n: number): Case {
  return simple(
    `many-parts-${n}`,
    (c) => {
      const parts = [c.textPart()];
      for (let i = 0; i < n; i++) {
        const content = Buffer.from(c.rng.token(c.rng.range(12, 40)));
        parts.push(part([`Content-Type: text/csv; name="p${i}.csv"`, 'Content-Disposition: attachment', 'Content-Transfer-Encoding: 7bit'], content.toString('latin1')));
      }
      return c.mail(c.multipart('mixed', parts));
    },
    true,
  );
}

// ---- baselines ----------------------------------------------------------------------------------

const BASELINES: Case[] = [
  simple('baseline-text', (c) => c.mail(c.textPart())),
  simple('baseline-attachment', (c) => c.mail(mixed(c, c.anyFile()))),
  simple('baseline-alternative-attachments', (c) => c.mail(c.multipart('mixed', [c.multipart('alternative', [c.textPart(), c.htmlPart()]), c.anyFile(), c.anyFile()]))),
];

export const CASES: Case[] = [
  ...BASELINES,
  ...RELATED,
  ...FAKE_ENCRYPTED,
  ...[10, 20, 30, 41, 60].map(nested),
  ...BOUNDARIES,
  ...HEADERS,
  ...DISPOSITIONS,
  ...DUPLICATES,
  ...BODIES,
  ...MESSAGES,
  ...SIGNED,
  ...ENCODINGS,
  manyParts(1000),
  manyParts(5000),
];
