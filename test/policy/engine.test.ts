import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CheckFailure, PolicyEngine, decisive } from '../../src/policy/engine.js';
import { loadPolicy } from '../../src/policy/policy-file.js';
import { PolicyReloader } from '../../src/policy/reloader.js';
import { createLogger } from '../../src/log.js';
import { makeInput } from '../support/context.js';
import { rule, writePolicy } from '../support/policy.js';
import { Writable } from 'node:stream';

const sources = { internalDomains: ['example.co.jp'], partnerDomains: [], knownDomain: () => true, recentExternalMessages: () => 0 };
const lists = 'lists:\n  anon: anon.txt\n';
const listFiles = { 'anon.txt': 'mailinator.com\n' };

async function engineFor(rules: string): Promise<PolicyEngine> {
  return new PolicyEngine(await loadPolicy(writePolicy(`${lists}rules:\n${rules}`, listFiles)), sources);
}

describe('PolicyEngine', () => {
  const twoExternal = makeInput({ headers: ['To: a@mailinator.com, b@partner.example', 'Subject: x'] });

  it('lets the most severe action win: reject > hold > deliver', async () => {
    const engine = await engineFor(rule('exposure', 'recipient-exposure', 'hold') + rule('anon', 'anonymous-recipient', 'reject', '{ list: anon }'));
    const verdict = engine.evaluate(twoExternal);
    expect(verdict.action).toBe('reject');
    expect(verdict.findings.map((f) => [f.rule, f.severity])).toEqual([
      ['exposure', 'hold'],
      ['anon', 'reject'],
    ]);
    expect(decisive(verdict)!.rule).toBe('anon');
  });

  it('holds when the worst finding is a hold, delivers with none', async () => {
    const engine = await engineFor(rule('exposure', 'recipient-exposure', 'hold') + rule('anon', 'anonymous-recipient', 'reject', '{ list: anon }'));
    expect(engine.evaluate(makeInput({ headers: ['To: a@x.example, b@y.example', 'Subject: x'] })).action).toBe('hold');
    expect(engine.evaluate(makeInput({ headers: ['To: a@x.example', 'Subject: x'] }))).toEqual({ action: 'deliver', findings: [] });
  });

  it('only records monitor findings', async () => {
    const engine = await engineFor(rule('anon', 'anonymous-recipient', 'monitor', '{ list: anon }'));
    const verdict = engine.evaluate(twoExternal);
    expect(verdict.action).toBe('deliver');
    expect(verdict.findings).toEqual([expect.objectContaining({ rule: 'anon', severity: 'monitor', value: 'a@mailinator.com', clause: '遵守事項 第6-3' })]);
  });

  it('fails closed when a check throws', async () => {
    const file = writePolicy('rules:\n  - id: boom\n    clause: c\n    plugin: ./boom.mjs\n    action: monitor\n    message: { ja: あ, en: a }\n', {
      'boom.mjs': "export default () => { throw new Error('bug'); };\n",
    });
    const engine = new PolicyEngine(await loadPolicy(file), sources);
    expect(() => engine.evaluate(twoExternal)).toThrow(CheckFailure);
  });
});

describe('PolicyReloader', () => {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('info', new Writable({ write: (c: Buffer, _e, cb) => (logs.push(JSON.parse(c.toString()) as Record<string, unknown>), cb()) }));

  it('keeps the last good policy when the new version is broken, and takes a good one', async () => {
    const file = writePolicy(`${lists}rules:\n${rule('anon', 'anonymous-recipient', 'reject', '{ list: anon }')}`, listFiles);
    const engine = new PolicyEngine(await loadPolicy(file), sources);
    const reloader = new PolicyReloader(file, logger, (p) => engine.use(p), engine.current);
    try {
      fs.writeFileSync(file, `${lists}rules:\n${rule('anon', 'anonymous-recipient', 'explode', '{ list: anon }')}`);
      expect(await reloader.reload('test')).toBe(false);
      expect(engine.current.rules[0]!.action).toBe('reject');
      expect(logs.at(-1)).toMatchObject({ msg: 'policy reload refused: keeping the last good policy' });
      expect(String(logs.at(-1)!.error)).toContain('rule anon: action');

      fs.writeFileSync(file, `${lists}rules:\n${rule('anon', 'anonymous-recipient', 'monitor', '{ list: anon }')}`);
      expect(await reloader.reload('test')).toBe(true);
      expect(engine.current.rules[0]!.action).toBe('monitor');
    } finally {
      reloader.close();
    }
  });

  it('reloads by itself when a list file changes', async () => {
    const file = writePolicy(`${lists}rules:\n${rule('anon', 'anonymous-recipient', 'reject', '{ list: anon }')}`, listFiles);
    const engine = new PolicyEngine(await loadPolicy(file), sources);
    const reloader = new PolicyReloader(file, logger, (p) => engine.use(p), engine.current);
    try {
      const input = makeInput({ to: ['x@newly-bad.example'] });
      expect(engine.evaluate(input).action).toBe('deliver');
      fs.writeFileSync(file.replace('policy.yaml', 'anon.txt'), 'mailinator.com\nnewly-bad.example\n');
      const deadline = Date.now() + 5000;
      while (engine.evaluate(input).action !== 'reject' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(engine.evaluate(input).action).toBe('reject');
    } finally {
      reloader.close();
    }
  });
});
