/**
 * 遵守事項 第6-2: no attachment reaches an outside recipient readable. A fixed slice of the
 * differential fuzz corpus (test/fuzz/) through the real gateway, checked against mailparser and
 * Python's email package: seed 1, every hand-written case once, every shared-corpus message once
 * (when ../shared/corpus is there), then RANDOM generated messages. Any failure names the command
 * that re-runs the message alone; the messages and their outside copies are written to
 * /tmp/outguard-fuzz-1/. The long run is `npm run fuzz` (10,000 messages by default).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CASES } from '../fuzz/generate.js';
import { type Summary, caseName, formatSummary, runFuzz } from '../fuzz/harness.js';
import { corpusFiles } from '../support/corpus.js';
import { requireTool } from '../support/tools.js';

const SEED = 1;
/** Random messages after the fixed part: about 35 s of the slice on two cores. */
const RANDOM = 1500;

const hasPython = requireTool('python3', 'python3');

describe.skipIf(!hasPython)('differential: outside copies against mailparser and Python email (seed 1)', () => {
  let summary: Summary;
  let report = '';

  beforeAll(async () => {
    const files = corpusFiles();
    summary = await runFuzz({ seed: SEED, count: CASES.length + files.length + RANDOM, corpusFiles: files });
    report = formatSummary(summary, { maxLeaks: 40 });
    console.log(report);
  }, 600_000);

  it('no attachment any reference parser sees leaves readable, and no outside ZIP has a clear entry', () => {
    expect(summary.leaking.map((r) => r.name), report).toEqual([]);
  });

  it('every message gets a definite answer (250 delivered or held, 550, 451)', () => {
    expect(summary.noAnswer.map((r) => `${r.name}: ${r.answer}`), report).toEqual([]);
  });

  it('a signed message without attachments is delivered, its signature intact', () => {
    const plain = summary.reports.find((r) => caseName(r.name) === 'signed-plain' && !r.name.includes('+'));
    expect(plain, 'the signed-plain case ran').toBeDefined();
    expect(`${plain!.outcome}: ${plain!.answer}`).toMatch(/^delivered: /);
  });
});
