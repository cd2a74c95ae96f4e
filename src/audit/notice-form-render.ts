import { BLANK, type NoticeForm } from './notice-form.js';
import { type SafeHtml, html } from '../render/html.js';
import { htmlDocument } from '../render/document.js';

/** The 届出書 as text and as a printable A4 page: the form's wording, its four items, ☑ / ☐. */

const TITLE = '電子データの保存等に関する届出書';
const TITLE_EN = 'Declaration of where electronic data is stored (別記様式)';
const ITEMS = {
  1: { ja: '電子データの保存に使用する媒体等の名称', en: 'Media used to store the data' },
  2: { ja: '電子データを記憶する記録媒体等の物理的な所在地等', en: 'Where the media physically are' },
  3: { ja: 'クラウドサービス等のオンラインストレージの利用の有無', en: 'Online storage (cloud services) in use' },
  4: { ja: '再委託等の有無', en: 'Subcontracting' },
} as const;
const NOTE = '※ 今回の届出事項に変更があった場合には、再度届出を行ってください。';
const NOTE_EN = 'If anything declared here changes, declare it again.';

const box = (checked: boolean) => (checked ? '☑' : '☐');
const intro = (f: NoticeForm) =>
  `${f.contractDate}付け「${f.contractTitle}」に係る業務について、業務の遂行において取り扱う電子データの保存先を次のとおり届け出ます。`;

export function renderNoticeFormText(f: NoticeForm): string {
  const heading = (n: keyof typeof ITEMS) => `${n} ${ITEMS[n].ja} / ${ITEMS[n].en}`;
  const lines = [
    TITLE,
    TITLE_EN,
    '',
    f.date,
    `（住所） ${f.address}`,
    `（氏名又は法人名等） ${f.name}`,
    '',
    intro(f),
    '',
    heading(1),
    `   ${f.medium}`,
    '   outguard が保存するもの / What outguard itself stores:',
    ...f.stores.flatMap((s) => [`   - ${s.ja}`, `     ${s.en}`]),
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
    NOTE_EN,
  ];
  return `${lines.join('\n')}\n`;
}

const STYLE = `
@page{size:A4;margin:18mm 16mm}
*{box-sizing:border-box}
body{font-family:"Noto Serif CJK JP","Hiragino Mincho ProN","Yu Mincho",serif;color:#000;background:#fff;margin:0;line-height:1.6;font-size:10.5pt}
main{max-width:178mm;margin:0 auto;padding:12px}
h1{font-size:15pt;text-align:center;margin:8px 0 0}
.en{color:#444;font-size:.85em;font-family:system-ui,sans-serif}
h1 .en{display:block;font-size:9pt;font-weight:normal}
p.date{text-align:right}
dl.party{margin:12px 0 12px 50%;display:grid;grid-template-columns:max-content 1fr;gap:2px 8px}
dl.party dd{margin:0}
table{border-collapse:collapse;width:100%;margin-top:8px}
th,td{border:1px solid #000;padding:6px 8px;vertical-align:top;text-align:left}
th{width:38%;font-weight:normal}
th .en{display:block}
.blank{background:#fff3b0;font-weight:bold}
.box{font-size:1.15em}
ul.stores{margin:6px 0 0;padding-left:1.2em;font-size:.9em}
ul.stores .en{display:block}
.sub{margin:4px 0 0 1em}
@media screen{body{background:#eee}main{background:#fff;margin:16px auto;padding:16mm;box-shadow:0 0 4px #999}}
`;

/** A fact, with the blank marked so it stands out on screen and on paper. */
function fact(text: string): SafeHtml {
  return text === BLANK ? html`<span class="blank">${text}</span>` : html`${text}`;
}

export function renderNoticeFormHtml(f: NoticeForm): string {
  const choice = (checked: boolean, label: string) => html`<span class="box">${box(checked)}</span> ${label}`;
  const heading = (n: keyof typeof ITEMS) => html`<th scope="row">${n} ${ITEMS[n].ja}<span class="en" lang="en">${ITEMS[n].en}</span></th>`;
  return htmlDocument({
    title: TITLE,
    styles: [STYLE],
    body: html`<main>
<h1>${TITLE}<span class="en" lang="en">${TITLE_EN}</span></h1>
<p class="date">${f.date}</p>
<dl class="party">
<dt>（住所）</dt><dd id="address">${fact(f.address)}</dd>
<dt>（氏名又は法人名等）</dt><dd id="name">${fact(f.name)}</dd>
</dl>
<p>${fact(f.contractDate)}付け「${fact(f.contractTitle)}」に係る業務について、業務の遂行において取り扱う電子データの保存先を次のとおり届け出ます。</p>
<table>
<tr id="item-1">${heading(1)}<td>${fact(f.medium)}
<ul class="stores" aria-label="outguard が保存するもの / What outguard itself stores">
${f.stores.map((s) => html`<li>${s.ja}<span class="en" lang="en">${s.en}</span></li>`)}
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
<p>${NOTE}<br><span class="en" lang="en">${NOTE_EN}</span></p>
</main>
`,
  });
}
