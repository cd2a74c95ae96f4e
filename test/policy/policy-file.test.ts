import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolicyError, loadPolicy } from '../../src/policy/policy-file.js';
import { DEFAULT_POLICY } from '../support/gateway.js';
import { rule, writePolicy } from '../support/policy.js';

async function policyError(file: string): Promise<string> {
  try {
    await loadPolicy(file);
  } catch (err) {
    if (err instanceof PolicyError) return err.message;
    throw err;
  }
  throw new Error('expected a PolicyError');
}

describe('loadPolicy', () => {
  it('loads the shipped default policy with every check and large lists', async () => {
    const p = await loadPolicy(DEFAULT_POLICY);
    expect(p.rules.map((r) => r.checkName).sort()).toEqual(
      expect.arrayContaining(['anonymous-recipient', 'online-service-recipient', 'file-transfer-link', 'lookalike-domain', 'first-time-domain', 'recipient-exposure', 'password-in-body', 'attachment-type', 'sender-burst']),
    );
    expect(p.lists.get('anonymous-mail')!.size).toBeGreaterThan(5000);
    expect(p.lists.get('file-transfer')!.size).toBeGreaterThanOrEqual(40);
    expect(p.lists.get('file-transfer')!.matchHost('97.gigafile.nu')).toBe('gigafile.nu');
    expect(p.lists.get('online-service')!.matchAddress('me@onenote.com')).toBeDefined();
    for (const r of p.rules) expect(r.clause).toMatch(/^遵守事項 第\d/);
  });

  it.each([
    ['rules:\n  - id: x\n    clause: c\n    check: no-such-check\n    action: reject\n    message: { ja: あ, en: a }\n', 'rule x: check: expected one of anonymous-recipient'],
    ['rules:\n' + rule('x', 'attachment-type', 'block'), 'rule x: action: expected reject, hold, monitor, got "block"'],
    ['rules:\n' + rule('x', 'anonymous-recipient', 'reject', '{ list: nothere }'), 'rule x: params.list: expected the name of a list defined under lists:'],
    ['rules:\n' + rule('x', 'recipient-exposure', 'hold', '{ max: -1 }'), 'rule x: params.max: expected a number ≥ 0, got -1'],
    ['rules:\n' + rule('x', 'attachment-type', 'reject') + rule('x', 'attachment-type', 'reject'), 'rule x: expected a unique rule id'],
    ['rules:\n  - id: x\n    clause: c\n    check: attachment-type\n    action: reject\n    message: { ja: あ, en: 添付 }\n', 'rule x: message.en: expected printable ASCII'],
    ['rules:\n  - id: Bad Id\n', 'rules[0].id: expected a rule id'],
    ['lists:\n  a: missing.txt\nrules: []\n', 'lists.a.files[0]: expected an existing list file, got "missing.txt"'],
    ['lists:\n  a: { packages: [left-pad] }\nrules: []\n', 'lists.a.packages[0]: expected one of disposable-email-domains-js'],
    ['rulez: []\n', 'rulez: expected a known key'],
    ['rules: [\n', 'expected valid YAML'],
  ])('names the file, rule and key of a mistake: %#', async (yaml, expected) => {
    const file = writePolicy(yaml);
    const message = await policyError(file);
    expect(message.startsWith(`${file}: `)).toBe(true);
    expect(message).toContain(expected);
  });

  describe('plugins', () => {
    it('loads a check module named with plugin:, relative to the policy file', async () => {
      const file = writePolicy(
        'rules:\n  - id: no-friday\n    clause: 社内規程\n    plugin: ./checks/subject.js\n    params: { word: 至急 }\n    action: hold\n    message: { ja: 件名, en: subject word }\n',
        {
          'checks/subject.js':
            "export default { name: 'subject-word', params: (raw) => ({ word: String(raw.word) }), run: ({ message }, ctx, p) => message.subject.includes(p.word) ? [{ value: message.subject }] : [] };\n",
        },
      );
      const p = await loadPolicy(file);
      expect(p.rules[0]!.checkName).toBe('./checks/subject.js');
      expect(p.files).toContain(path.join(path.dirname(file), 'checks/subject.js'));
    });

    it('takes a plain function as a check', async () => {
      const file = writePolicy('rules:\n  - id: f\n    clause: c\n    plugin: ./f.mjs\n    action: monitor\n    message: { ja: あ, en: a }\n', {
        'f.mjs': 'export default () => [];\n',
      });
      expect((await loadPolicy(file)).rules[0]!.check.run).toBeTypeOf('function');
    });

    it('reports a plugin without a usable default export', async () => {
      const file = writePolicy('rules:\n  - id: f\n    clause: c\n    plugin: ./f.mjs\n    action: monitor\n    message: { ja: あ, en: a }\n', { 'f.mjs': 'export const x = 1;\n' });
      expect(await policyError(file)).toContain('rule f: plugin: expected a default export');
      fs.rmSync(path.join(path.dirname(file), 'f.mjs'));
      expect(await policyError(file)).toContain('rule f: plugin: expected an existing JavaScript module');
    });
  });
});

describe('hold rules', () => {
  const holdRule = (extra: string) =>
    `rules:\n  - id: h\n    clause: 遵守事項 第6-1\n    check: recipient-exposure\n    action: hold\n${extra}    message: { ja: 確認, en: confirm }\n`;

  it('read a deadline, its action and approvers', async () => {
    const p = await loadPolicy(writePolicy(holdRule('    deadline: { hours: 2, action: escalate, to: boss@example.co.jp }\n    approvers: [boss@example.co.jp]\n')));
    expect(p.rules[0]!.hold).toEqual({ deadlineHours: 2, onDeadline: { action: 'escalate', to: 'boss@example.co.jp' }, approvers: ['boss@example.co.jp'] });
  });

  it('default to 24 hours, discard, no approvers', async () => {
    expect((await loadPolicy(writePolicy(holdRule('')))).rules[0]!.hold).toEqual({ deadlineHours: 24, onDeadline: { action: 'discard' }, approvers: [] });
  });

  it.each([
    ['    deadline: { action: escalate }\n', 'rule h: deadline.to: expected the address to escalate to'],
    ['    deadline: { action: forget }\n', 'rule h: deadline.action: expected discard, send or escalate'],
    ['    approvers: [not-an-address]\n', 'rule h: approvers: expected a list of e-mail addresses'],
  ])('refuse mistakes: %j', async (extra, expected) => {
    expect(await policyError(writePolicy(holdRule(extra)))).toContain(expected);
  });

  it('refuse a deadline on a reject rule', async () => {
    expect(await policyError(writePolicy(holdRule('    deadline: { hours: 1 }\n').replace('action: hold', 'action: reject')))).toContain('rule h: deadline: expected only on rules whose action is hold');
  });
});
