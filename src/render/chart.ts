import { type SafeHtml, html } from './html.js';
import { bi, type Bilingual } from './bilingual.js';

/**
 * Charts as server-rendered SVG, for the reviewer dashboard and the monthly report: readable
 * without script, printable in black and white, each with a text alternative (the SVG's title
 * and description, and for the daily chart a visually hidden table of every number). A chart
 * whose values are all 0 is no chart: the figure says there is nothing to show instead.
 */

export interface StackedBars {
  /** Prefix of the ids in the figure, unique on the page. */
  id: string;
  title: Bilingual;
  /** What one bar is, for the table's first column (日 / Day). */
  category: Bilingual;
  /** The parts of a bar, bottom up; coloured calm to alarming (the first is the most usual). */
  series: Bilingual[];
  /** tick: the label under the bar; name: the bar in the table and the description. values: one per series. */
  bars: { tick: string; name: string; values: number[] }[];
  /** Said instead of the chart when every value is 0. */
  empty: Bilingual;
}

export interface HorizontalBars {
  id: string;
  title: Bilingual;
  /** Largest first, as the caller ranks them. */
  items: { label: string; value: number }[];
  empty: Bilingual;
}

const W = 900;
const H = 240;
const PLOT = { left: 48, right: 8, top: 12, bottom: 26 };
const FONT = 12;

/** Coordinates with one decimal, so the markup stays short and never says NaN. */
const n = (v: number) => String(Math.round(v * 10) / 10);
const count = (v: number) => v.toLocaleString('en-US');

/** A round step for about `ticks` gridlines up to `max` (1, 2 or 5 times a power of ten). */
function niceStep(max: number, ticks = 4): number {
  const raw = Math.max(max / ticks, 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  return step;
}

function emptyFigure(id: string, text: Bilingual): SafeHtml {
  return html`<figure class="chart" id="${id}"><p class="chart-empty" id="${id}-empty">${bi(text)}</p></figure>`;
}

function svgOpen(id: string, width: number, height: number, kind: 'columns' | 'rows'): SafeHtml {
  return html`<svg class="chart ${kind}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${id}-title ${id}-desc" xmlns="http://www.w3.org/2000/svg">`;
}

const both = (t: Bilingual) => `${t.ja} / ${t.en}`;

/** Days × counts: one bar per category, its parts stacked bottom up, with a legend and a hidden table. */
export function stackedBarChart(c: StackedBars): SafeHtml {
  const totals = c.bars.map((b) => b.values.reduce((a, v) => a + v, 0));
  const max = Math.max(0, ...totals);
  if (max === 0) return emptyFigure(c.id, c.empty);
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const plotW = W - PLOT.left - PLOT.right;
  const plotH = H - PLOT.top - PLOT.bottom;
  const y = (v: number) => PLOT.top + plotH - (v / top) * plotH;
  const slot = plotW / c.bars.length;
  const barW = slot * 0.7;
  const every = Math.ceil(c.bars.length / 31);

  const grid: SafeHtml[] = [];
  for (let v = 0; v <= top; v += step) {
    grid.push(html`<line class="${v === 0 ? 'axis' : 'grid'}" x1="${PLOT.left}" x2="${W - PLOT.right}" y1="${n(y(v))}" y2="${n(y(v))}"/><text x="${PLOT.left - 6}" y="${n(y(v) + 4)}" text-anchor="end">${count(v)}</text>`);
  }
  const bars = c.bars.map((b, i) => {
    const x = PLOT.left + i * slot + (slot - barW) / 2;
    let base = 0;
    const parts = b.values.map((v, s) => {
      if (v <= 0) return '';
      const part = html`<rect class="bar c${s}" x="${n(x)}" y="${n(y(base + v))}" width="${n(barW)}" height="${n(y(base) - y(base + v))}"><title>${b.name} ${c.series[s]!.ja} / ${c.series[s]!.en}: ${count(v)}</title></rect>`;
      base += v;
      return part;
    });
    const tick = i % every === 0 ? html`<text x="${n(x + barW / 2)}" y="${H - PLOT.bottom + 16}" text-anchor="middle">${b.tick}</text>` : '';
    return html`<g>${parts}${tick}</g>`;
  });

  const sums = c.series.map((_, s) => c.bars.reduce((a, b) => a + (b.values[s] ?? 0), 0));
  const busiest = c.bars[totals.indexOf(max)]!;
  const total = sums.reduce((a, v) => a + v, 0);
  const desc: Bilingual = {
    ja: `合計 ${count(total)} 件（${c.series.map((s, i) => `${s.ja} ${count(sums[i]!)}`).join('、')}）。最も多いのは ${busiest.name} の ${count(max)} 件。`,
    en: `Total ${count(total)} (${c.series.map((s, i) => `${s.en} ${count(sums[i]!)}`).join(', ')}). Most: ${busiest.name}, ${count(max)}.`,
  };
  return html`<figure class="chart" id="${c.id}">
${svgOpen(c.id, W, H, 'columns')}<title id="${c.id}-title">${both(c.title)}</title><desc id="${c.id}-desc">${both(desc)}</desc>
${grid}
${bars}
</svg>
<ul class="legend">${c.series.map((s, i) => html`<li><svg viewBox="0 0 12 12" width="12" height="12" aria-hidden="true"><rect class="bar c${i}" width="12" height="12"/></svg>${s.ja} <span class="en" lang="en">${s.en}</span></li>`)}</ul>
<div class="visually-hidden"><table id="${c.id}-data">
<caption>${both(c.title)}</caption>
<thead><tr><th scope="col">${both(c.category)}</th>${c.series.map((s) => html`<th scope="col">${both(s)}</th>`)}<th scope="col">合計 / Total</th></tr></thead>
<tbody>
${c.bars.map((b, i) => html`<tr><th scope="row">${b.name}</th>${b.values.map((v) => html`<td>${count(v)}</td>`)}<td>${count(totals[i]!)}</td></tr>`)}
</tbody>
</table></div>
</figure>`;
}

const HW = 420;
const ROW = 26;
const LABEL_W = 180;
const VALUE_W = 48;

/** Roughly how wide text is at FONT px: CJK and full-width characters 1 em, the rest about 0.6. */
function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += /[\u1100-\u11ff\u2e80-\ua4cf\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(ch) ? 1 : 0.6;
  return w * FONT;
}

/** The label cut to fit `width`, with … when cut (the whole label stays in its title). */
function fit(label: string, width: number): string {
  if (textWidth(label) <= width) return label;
  let out = '';
  for (const ch of label) {
    if (textWidth(`${out}${ch}…`) > width) break;
    out += ch;
  }
  return `${out}…`;
}

/** Top N: one horizontal bar per item with its label and number; the description names every number. */
export function horizontalBarChart(c: HorizontalBars): SafeHtml {
  const max = Math.max(0, ...c.items.map((i) => i.value));
  if (max === 0) return emptyFigure(c.id, c.empty);
  const height = c.items.length * ROW + 4;
  const barMax = HW - LABEL_W - VALUE_W;
  const rows = c.items.map((item, i) => {
    const top = i * ROW + 4;
    const w = Math.max(1, (item.value / max) * barMax);
    return html`<g><text x="${LABEL_W - 8}" y="${top + 13}" text-anchor="end">${fit(item.label, LABEL_W - 12)}<title>${item.label}</title></text><rect class="bar c0" x="${LABEL_W}" y="${top}" width="${n(w)}" height="16"/><text x="${n(LABEL_W + w + 6)}" y="${top + 13}">${count(item.value)}</text></g>`;
  });
  const desc: Bilingual = {
    ja: c.items.map((i) => `${i.label}：${count(i.value)} 件`).join('、'),
    en: c.items.map((i) => `${i.label}: ${count(i.value)}`).join(', '),
  };
  return html`<figure class="chart" id="${c.id}">
${svgOpen(c.id, HW, height, 'rows')}<title id="${c.id}-title">${both(c.title)}</title><desc id="${c.id}-desc">${both(desc)}</desc>
${rows}
</svg>
</figure>`;
}

/**
 * The charts' look on screen, and in print: shades of grey from light (usual) to black (alarming)
 * with outlines, so a black-and-white printout still tells the parts apart; a chart never splits
 * across pages.
 */
export const CHART_STYLE = `
figure.chart{margin:8px 0 0;max-width:100%}
svg.chart{display:block;width:100%;height:auto}
svg.chart.rows{max-width:${HW * 1.25}px}
svg.chart text{font-size:${FONT}px;fill:#3b4456}
svg.chart .axis{stroke:#8a93a3}
svg.chart .grid{stroke:#e3e6eb}
.chart .bar{stroke:#fff;stroke-width:.5}
.chart .c0{fill:#4f9a57}.chart .c1{fill:#9ccfa3}.chart .c2{fill:#e0a040}.chart .c3{fill:#c03a3a}
ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 18px;padding:0;margin:6px 0 0;font-size:.9em}
ul.legend svg{vertical-align:-1px;margin-right:4px}
ul.legend .en{display:inline}
p.chart-empty{color:#566074;margin:0}
.visually-hidden{position:absolute;width:1px;height:1px;margin:-1px;padding:0;border:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media print{
figure.chart,svg.chart{break-inside:avoid}
svg.chart text{fill:#000}
svg.chart .grid{stroke:#bbb}
.chart .bar{stroke:#000;stroke-width:.6}
.chart .c0{fill:#fff}.chart .c1{fill:#bbb}.chart .c2{fill:#666}.chart .c3{fill:#000}
}
`;
