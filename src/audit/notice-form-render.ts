import { BLANK, type NoticeForm } from './notice-form.js';
import { type SafeHtml, html, raw } from '../render/html.js';
import { htmlDocument } from '../render/document.js';

/**
 * The 届出書 as text and as a printable A4 page: the form's wording (Japanese only: it is the
 * client's form, 別記様式), the addressee, its four items, ☑ / ☐.
 */

const TITLE = '電子データの保存等に関する届出書';
const ITEMS = {
  1: '電子データの保存に使用する媒体等の名称',
  2: '電子データを記憶する記録媒体等の物理的な所在地等',
  3: 'クラウドサービス等のオンラインストレージの利用の有無',
  4: '再委託等の有無',
} as const;
const STORES = 'outguard が保存するもの（データディレクトリ内）：';
const NOTE = '※ 今回の届出事項に変更があった場合には、再度届出を行ってください。';
/** The line the addressee is written on by hand when the config names none. */
const ADDRESSEE_LINE = '＿'.repeat(14);

const box = (checked: boolean) => (checked ? '☑' : '☐');
const intro = (f: NoticeForm) =>
  `${f.contractDate}付け「${f.contractTitle}」に係る業務について、業務の遂行において取り扱う電子データの保存先を次のとおり届け出ます。`;
/** 殿 after the addressee, unless the configured name already ends in an honorific. */
const honorific = (addressee: string) => (/(殿|様|御中)$/.test(addressee) ? '' : ' 殿');

export function renderNoticeFormText(f: NoticeForm): string {
  const heading = (n: keyof typeof ITEMS) => `${n} ${ITEMS[n]}`;
  const lines = [
    TITLE,
    '',
    f.date,
    f.addressee === '' ? `${ADDRESSEE_LINE} 殿` : `${f.addressee}${honorific(f.addressee)}`,
    '',
    `（住所） ${f.address}`,
    `（氏名又は法人名等） ${f.name}`,
    '',
    intro(f),
    '',
    heading(1),
    `   ${f.medium}`,
    `   ${STORES}`,
    ...f.stores.map((s) => `   - ${s}`),
    '',
    heading(2),
    `   ${f.location}`,
    `   ${box(f.onlyInJapan)} 日本国内のみ　${box(!f.onlyInJapan)} 日本国外（全部又は一部）`,
    ...(f.onlyInJapan ? [] : [`     (国名) ${f.countries}`, `     (日本国外に保存する電子データの概要) ${f.overseasData}`]),
    '',
    heading(3),
    `   ${box(f.cloudServices.length > 0)} 有　${box(f.cloudServices.length === 0)} 無`,
    ...f.cloudServices.flatMap((c, i) => [
      `     (利用契約先の情報 ${i + 1})`,
      `       ア サービス名称 ${c.service}`,
      `       イ 利用契約先の名称 ${c.provider}`,
      `       ウ 電子データの物理的保存先に係る情報等 ${c.location}`,
    ]),
    '',
    heading(4),
    `   ${box(f.subcontractors.length > 0)} 有　${box(f.subcontractors.length === 0)} 無`,
    ...f.subcontractors.flatMap((s) => [`     (再委託先等の名称) ${s.name}`, `     (再委託先等に委託する具体的な業務内容) ${s.work}`]),
    '',
    NOTE,
  ];
  return `${lines.join('\n')}\n`;
}

const STYLE = `
@page{size:A4;margin:18mm 16mm}
*{box-sizing:border-box}
body{font-family:"Noto Serif CJK JP","Hiragino Mincho ProN","Yu Mincho",serif;color:#000;background:#fff;margin:0;line-height:1.6;font-size:10.5pt}
main{max-width:178mm;margin:0 auto}
h1{font-size:15pt;text-align:center;margin:8px 0 0}
p.date{text-align:right}
p.addressee{font-size:12pt;margin:12px 0}
p.addressee .fill{display:inline-block;width:64mm;border-bottom:1px solid #000}
dl.party{margin:12px 0 12px 40%;display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 8px}
dl.party dd{margin:0}
.keep{word-break:keep-all;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin-top:8px}
th,td{border:1px solid #000;padding:6px 8px;vertical-align:top;text-align:left}
th{width:38%;font-weight:normal}
.blank{background:#fff3b0;font-weight:bold}
.box{font-size:1.15em}
p.stores{margin:6px 0 0;font-size:.9em}
ul.stores{margin:0;padding-left:1.2em;font-size:.9em}
.sub{margin:4px 0 0 1em}
@media screen{body{background:#eee}main{background:#fff;margin:16px auto;padding:16mm;max-width:210mm;box-shadow:0 0 4px #999}}
`;

/** A fact, with the blank marked so it stands out on screen and on paper. */
function fact(text: string): SafeHtml {
  return text === BLANK ? html`<span class="blank">${text}</span>` : html`${text}`;
}

const SEGMENTER = new Intl.Segmenter('ja', { granularity: 'word' });
/** A unit of a Japanese address the line may break after: 都・道・府・県, 市・区・郡, 町・村 (standing alone, or ending a word such as 西区). */
const UNIT_END = /^[都道府県市区郡町村]$|.[市区郡]$/u;

/**
 * A Japanese address that wraps only between its units (東京都 / 千代田区 / 霞が関1-1-1) and at
 * spaces, never inside a name such as 霞が関: the page keeps CJK text together (keep-all: it
 * breaks at spaces only) and offers a break (<wbr>) after each unit; a unit too long for the
 * line still wraps (anywhere).
 */
export function addressHtml(address: string): SafeHtml {
  if (address === BLANK) return fact(address);
  const chunks: string[] = [''];
  for (const { segment } of SEGMENTER.segment(address)) {
    chunks[chunks.length - 1] += segment;
    if (UNIT_END.test(segment)) chunks.push('');
  }
  return html`${chunks.filter(Boolean).map((c, i) => html`${i > 0 ? raw('<wbr>') : ''}${c}`)}`;
}

export function renderNoticeFormHtml(f: NoticeForm): string {
  const choice = (checked: boolean, label: string) => html`<span class="box">${box(checked)}</span> ${label}`;
  const heading = (n: keyof typeof ITEMS) => html`<th scope="row">${n} ${ITEMS[n]}</th>`;
  return htmlDocument({
    title: TITLE,
    styles: [STYLE],
    body: html`<main>
<h1>${TITLE}</h1>
<p class="date">${f.date}</p>
<p class="addressee" id="addressee">${f.addressee === '' ? html`<span class="fill"></span> 殿` : html`${f.addressee}${honorific(f.addressee)}`}</p>
<dl class="party">
<dt>（住所）</dt><dd id="address" class="keep">${addressHtml(f.address)}</dd>
<dt>（氏名又は法人名等）</dt><dd id="name" class="keep">${fact(f.name)}</dd>
</dl>
<p>${fact(f.contractDate)}付け「${fact(f.contractTitle)}」に係る業務について、業務の遂行において取り扱う電子データの保存先を次のとおり届け出ます。</p>
<table>
<tr id="item-1">${heading(1)}<td>${fact(f.medium)}
<p class="stores">${STORES}</p>
<ul class="stores">
${f.stores.map((s) => html`<li>${s}</li>`)}
</ul></td></tr>
<tr id="item-2">${heading(2)}<td>${fact(f.location)}
<div>${choice(f.onlyInJapan, '日本国内のみ')}　${choice(!f.onlyInJapan, '日本国外（全部又は一部）')}</div>
${f.onlyInJapan ? '' : html`<div class="sub">(国名) ${fact(f.countries)}</div><div class="sub">(日本国外に保存する電子データの概要) ${fact(f.overseasData)}</div>`}
</td></tr>
<tr id="item-3">${heading(3)}<td>
<div>${choice(f.cloudServices.length > 0, '有')}　${choice(f.cloudServices.length === 0, '無')}</div>
${f.cloudServices.map(
  (c) => html`<div class="sub">(利用契約先の情報)<br>ア サービス名称 ${fact(c.service)}<br>イ 利用契約先の名称 ${fact(c.provider)}<br>ウ 電子データの物理的保存先に係る情報等 ${fact(c.location)}</div>`,
)}
</td></tr>
<tr id="item-4">${heading(4)}<td>
<div>${choice(f.subcontractors.length > 0, '有')}　${choice(f.subcontractors.length === 0, '無')}</div>
${f.subcontractors.map((s) => html`<div class="sub">(再委託先等の名称) ${fact(s.name)}<br>(再委託先等に委託する具体的な業務内容) ${fact(s.work)}</div>`)}
</td></tr>
</table>
<p>${NOTE}</p>
</main>
`,
  });
}
