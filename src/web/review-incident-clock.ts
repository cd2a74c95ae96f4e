import { type Incident, type IncidentStatus, STATUS_LABELS } from '../audit/incident-types.js';
import { html, type SafeHtml } from '../render/html.js';
import type { Bilingual } from '../render/bilingual.js';

/**
 * The 60-minute clock of an incident (遵守事項 第2): its status and the minutes left, overdue by,
 * or taken to report (under a minute in words of its own). The server renders it right for the moment of the request; CLOCK_SCRIPT
 * only keeps open and overdue clocks ticking while the page stays open.
 */

/** `{n}` is the number of whole minutes, rounded up; the script fills in the same words. */
const MINUTES: Record<IncidentStatus, Bilingual> = {
  open: { ja: '残り {n} 分', en: '{n} min left' },
  overdue: { ja: '期限を {n} 分超過', en: 'overdue by {n} min' },
  reported: { ja: '認識から {n} 分で報告', en: 'reported {n} min after recognition' },
  'reported-late': { ja: '期限の {n} 分後に報告', en: 'reported {n} min after the deadline' },
};

/** The same under a minute: not "1 分で報告" for a report sent in the same second. */
const UNDER_A_MINUTE: Record<IncidentStatus, Bilingual> = {
  open: { ja: '残り 1 分未満', en: 'less than 1 min left' },
  overdue: { ja: '期限を超過（1 分未満）', en: 'overdue by less than 1 min' },
  reported: { ja: '認識から 1 分以内に報告', en: 'reported within 1 min of recognition' },
  'reported-late': { ja: '期限の直後（1 分以内）に報告', en: 'reported within 1 min after the deadline' },
};

/** The milliseconds the clock's words are about: left, overdue by, or taken to report. */
function span(i: Pick<Incident, 'openedAt' | 'deadline' | 'reportedAt'>, status: IncidentStatus, now: number): number {
  return status === 'reported' ? i.reportedAt! - i.openedAt : status === 'reported-late' ? i.reportedAt! - i.deadline : Math.abs(i.deadline - now);
}

/** The clock's words for a span: whole minutes rounded up ("1 min left" until the deadline), or the words for under a minute. */
function clockWords(status: IncidentStatus, ms: number): Bilingual {
  if (ms < 60_000) return UNDER_A_MINUTE[status];
  const n = String(Math.ceil(ms / 60_000));
  return { ja: MINUTES[status].ja.replace('{n}', n), en: MINUTES[status].en.replace('{n}', n) };
}

const pair = (cls: string, text: Bilingual) => html`<span class="${cls}"><span class="ja">${text.ja}</span><span class="en" lang="en">${text.en}</span></span>`;

export function clockHtml(i: Incident, status: IncidentStatus, now: number): SafeHtml {
  return html`<span class="clock s-${status}" data-status="${status}" data-deadline="${i.deadline}">${pair('clock-status', STATUS_LABELS[status])}${pair('clock-minutes', clockWords(status, span(i, status, now)))}</span>`;
}

/** The clock's colours (red once overdue) and the incident forms; every reviewer page has it, as the message page shows incidents too. */
export const INCIDENT_STYLE = `
.clock>span{display:block}
.clock .ja{font-weight:bold}
.clock.s-open{color:#7a4a00}
.clock.s-reported{color:#24502a}
.clock.s-overdue,.clock.s-reported-late,.clock.s-overdue .en,.clock.s-reported-late .en{color:#8a1010}
.clock.s-overdue .clock-status .ja{background:#8a1010;color:#fff;border-radius:4px;padding:0 6px}
tr.incident:has(.s-overdue){background:#fde8e8}
form.incident{display:grid;gap:8px;max-width:720px}
form.incident label{font-weight:bold}
form.incident label .en{display:inline;font-weight:normal;margin-left:.3em}
form.incident textarea{font:inherit;padding:5px 8px;border:1px solid #8a93a3;border-radius:4px;width:100%}
form.incident button{justify-self:start}
ul.incidents{margin:0 0 12px;padding-left:1.2em}
`;

/**
 * Ticks open and overdue clocks every 10 s on the server's time (the browser's clock may be off):
 * an open clock turns overdue when its deadline passes.
 */
export function clockScript(serverNow: number): string {
  return `(() => {
  const skew = ${serverNow} - Date.now();
  const T = ${JSON.stringify({
    status: { open: STATUS_LABELS.open, overdue: STATUS_LABELS.overdue },
    minutes: { open: MINUTES.open, overdue: MINUTES.overdue },
    under: { open: UNDER_A_MINUTE.open, overdue: UNDER_A_MINUTE.overdue },
  })};
  const set = (el, cls, text, n) => {
    el.querySelector('.' + cls + ' .ja').textContent = text.ja.replace('{n}', n);
    el.querySelector('.' + cls + ' .en').textContent = text.en.replace('{n}', n);
  };
  const tick = () => {
    const now = Date.now() + skew;
    for (const el of document.querySelectorAll('.clock[data-deadline]')) {
      if (el.dataset.status !== 'open' && el.dataset.status !== 'overdue') continue;
      const deadline = Number(el.dataset.deadline);
      const status = now > deadline ? 'overdue' : 'open';
      el.dataset.status = status;
      el.className = 'clock s-' + status;
      set(el, 'clock-status', T.status[status], '');
      const ms = Math.abs(deadline - now);
      set(el, 'clock-minutes', ms < 60000 ? T.under[status] : T.minutes[status], String(Math.ceil(ms / 60000)));
    }
  };
  tick();
  setInterval(tick, 10000);
})();`;
}
