/**
 * npm run fuzz -- [--seed N] [--count N] [--from I] [--only NAME-SUBSTRING] [--concurrency N] [--no-corpus] [--out DIR] [--list]
 *
 * --list prints one line per message (index, outcome, leak count, name, parser failures).
 *
 * Sends `count` generated messages (indices from..from+count-1 of the seed's stream) through a
 * real gateway and checks every outside copy against mailparser and Python's email package.
 * Leaking and unanswered messages are written to /tmp/outguard-fuzz-<seed>/ (message, copies,
 * details). Exit status 1 on any leak or missing answer.
 */
import { parseArgs } from 'node:util';
import { formatSummary, runFuzz } from './harness.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    count: { type: 'string', default: '10000' },
    from: { type: 'string', default: '0' },
    only: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    'no-corpus': { type: 'boolean', default: false },
    out: { type: 'string' },
    list: { type: 'boolean', default: false },
  },
});

const summary = await runFuzz({
  seed: Number(values.seed),
  count: Number(values.count),
  from: Number(values.from),
  only: values.only,
  concurrency: Number(values.concurrency),
  corpus: !values['no-corpus'],
  saveDir: values.out,
  log: (line) => console.log(line),
});
if (values.list) for (const r of summary.reports) console.log(`${String(r.index).padStart(6)} ${r.outcome.padEnd(9)} ${r.leaks.length ? `LEAK×${r.leaks.length}` : 'ok    '} ${r.name}${r.outcome === 'delivered' ? '' : `  (${r.answer.slice(0, 90)})`}  ${r.failures.length ? `[${r.failures.map((f) => `${f.parser}: ${f.error.slice(0, 80)}`).join('; ')}]` : ''}`);
console.log(formatSummary(summary));
process.exit(summary.leaking.length > 0 || summary.noAnswer.length > 0 ? 1 : 0);
