import { describe, expect, it } from 'vitest';
import { horizontalBarChart, stackedBarChart } from '../../src/render/chart.js';

/** The SVG charts of the dashboard and the monthly report, read back from their markup. */
const SERIES = [
  { ja: '配送', en: 'delivered' },
  { ja: '拒否', en: 'rejected' },
];
const EMPTY = { ja: 'この期間の記録はありません。', en: 'Nothing in this period.' };

const attrs = (markup: string, tag: string) =>
  [...markup.matchAll(new RegExp(`<${tag} ([^>]*)>`, 'g'))].map((m) => Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])));
const bars = (markup: string) => attrs(markup, 'rect').filter((r) => r.class?.startsWith('bar c') && r.x !== undefined);
const hiddenRows = (markup: string) =>
  [...(/<div class="visually-hidden"><table [\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(markup)?.[1] ?? '').matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) =>
    [...m[1]!.matchAll(/<t[hd][^>]*>([^<]*)<\/t[hd]>/g)].map((c) => c[1]!),
  );

describe('stackedBarChart', () => {
  const chart = stackedBarChart({
    id: 'daily',
    title: { ja: '日別の判定件数', en: 'Messages judged per day' },
    category: { ja: '日', en: 'Day' },
    series: SERIES,
    bars: [
      { tick: '1', name: '2026-10-01', values: [3, 1] },
      { tick: '2', name: '2026-10-02', values: [0, 0] },
      { tick: '3', name: '2026-10-03', values: [6, 4] },
    ],
    empty: EMPTY,
  }).value;

  it('draws one rectangle per non-zero part, stacked, the busiest day the full height of the plot', () => {
    const rects = bars(chart);
    expect(rects.map((r) => r.class)).toEqual(['bar c0', 'bar c1', 'bar c0', 'bar c1']);
    // 10 is the busiest total and the axis top (steps of 5): its parts fill the 202 px plot between y=12 and y=214
    const day3 = rects.slice(2);
    expect(day3.reduce((a, r) => a + Number(r.height), 0)).toBeCloseTo(202, 0);
    expect(Number(day3[1]!.y)).toBeCloseTo(12, 0);
    expect(Number(day3[0]!.y) + Number(day3[0]!.height)).toBeCloseTo(214, 0);
    // day 1 (4 of 10): 40 % of the height, delivered below rejected
    expect(Number(rects[0]!.height)).toBeCloseTo(60.6, 0);
    expect(Number(rects[1]!.y) + Number(rects[1]!.height)).toBeCloseTo(Number(rects[0]!.y), 1);
    expect([...chart.matchAll(/<text [^>]*text-anchor="end">(\d+)<\/text>/g)].map((m) => m[1])).toEqual(['0', '5', '10']);
    expect([...chart.matchAll(/<text [^>]*text-anchor="middle">(\d+)<\/text>/g)].map((m) => m[1])).toEqual(['1', '2', '3']);
    expect(chart).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('names itself and its numbers for screen readers: title, description, and a hidden table of every day', () => {
    expect(chart).toContain('role="img" aria-labelledby="daily-title daily-desc"');
    expect(chart).toContain('<title id="daily-title">日別の判定件数 / Messages judged per day</title>');
    expect(chart).toContain('合計 14 件（配送 9、拒否 5）。最も多いのは 2026-10-03 の 10 件。');
    expect(chart).toContain('Total 14 (delivered 9, rejected 5). Most: 2026-10-03, 10.');
    expect(hiddenRows(chart)).toEqual([
      ['2026-10-01', '3', '1', '4'],
      ['2026-10-02', '0', '0', '0'],
      ['2026-10-03', '6', '4', '10'],
    ]);
    // the legend: Japanese first, then English
    expect(chart).toMatch(/<rect class="bar c0"[^>]*\/><\/svg>配送 <span class="en" lang="en">delivered<\/span>/);
  });

  it('escapes what it is given and writes large numbers with separators', () => {
    const big = stackedBarChart({ id: 'x', title: { ja: '<b>', en: '"q"' }, category: { ja: '日', en: 'Day' }, series: SERIES, bars: [{ tick: '<1>', name: '<i>', values: [12_345, 0] }], empty: EMPTY }).value;
    expect(big).not.toContain('<b>');
    expect(big).not.toContain('<i>');
    expect(big).toContain('&lt;1&gt;');
    expect(big).toContain('12,345');
    expect(big).not.toMatch(/NaN|Infinity/);
  });

  it('says there is nothing to show instead of drawing an empty chart', () => {
    for (const empty of [[], [{ tick: '1', name: '2026-10-01', values: [0, 0] }]]) {
      const markup = stackedBarChart({ id: 'daily', title: SERIES[0]!, category: SERIES[0]!, series: SERIES, bars: empty, empty: EMPTY }).value;
      expect(markup).not.toContain('<svg');
      expect(markup).toContain('<p class="chart-empty" id="daily-empty">この期間の記録はありません。<span class="en" lang="en">Nothing in this period.</span></p>');
    }
  });
});

describe('horizontalBarChart', () => {
  const long = 'a-very-long-sender-domain-name.example.co.jp';
  const chart = horizontalBarChart({
    id: 'rules',
    title: { ja: 'ルール別件数', en: 'Messages by rule' },
    items: [
      { label: 'external-attachment', value: 8 },
      { label: long, value: 2 },
      { label: '社外秘ドメイン.example', value: 1 },
    ],
    empty: EMPTY,
  }).value;

  it('draws one bar per item, the largest the full width, each labelled with its number', () => {
    const rects = bars(chart);
    expect(rects).toHaveLength(3);
    expect(rects.map((r) => Number(r.width))).toEqual([192, 48, 24]);
    expect([...chart.matchAll(/<text x="[\d.]+" y="\d+">([\d,]+)<\/text>/g)].map((m) => m[1])).toEqual(['8', '2', '1']);
    expect(chart).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('cuts a label too long for its column, keeping the whole label in its title and the description', () => {
    expect(chart).toMatch(/>a-very-long-sender-dom…<title>a-very-long-sender-domain-name\.example\.co\.jp<\/title>/);
    expect(chart).toContain('>external-attachment<title>');
    expect(chart).toContain(`<desc id="rules-desc">external-attachment：8 件、${long}：2 件、社外秘ドメイン.example：1 件 / external-attachment: 8, ${long}: 2, 社外秘ドメイン.example: 1</desc>`);
  });

  it('says there is nothing to show for no items', () => {
    const markup = horizontalBarChart({ id: 'rules', title: EMPTY, items: [], empty: EMPTY }).value;
    expect(markup).not.toContain('<svg');
    expect(markup).toContain('id="rules-empty"');
  });
});
