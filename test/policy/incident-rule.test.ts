import { describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../src/policy/engine.js';
import { PolicyError, loadPolicy } from '../../src/policy/policy-file.js';
import { makeInput } from '../support/context.js';
import { rule, writePolicy } from '../support/policy.js';

const sources = { internalDomains: ['example.co.jp'], partnerDomains: [], knownDomain: () => true, recentExternalMessages: () => 0 };
const lists = { 'anon.txt': 'mailinator.com\n' };
const withIncident = (yaml: string, value = 'true') => yaml.replace(/\n$/, `\n    incident: ${value}\n`);

describe('incident: true on a rule (遵守事項 第2)', () => {
  it('marks the rule\'s findings, for every action, and no other rule\'s', async () => {
    for (const action of ['reject', 'hold', 'monitor']) {
      const file = writePolicy(`lists:\n  anon: anon.txt\nrules:\n${withIncident(rule('anon', 'anonymous-recipient', action, '{ list: anon }'))}${rule('exposure', 'recipient-exposure', 'monitor')}`, lists);
      const policy = await loadPolicy(file);
      expect(policy.rules.map((r) => r.incident)).toEqual([true, false]);
      const verdict = new PolicyEngine(policy, sources).evaluate(makeInput({ headers: ['To: a@mailinator.com, b@partner.example', 'Subject: x'] }));
      expect(verdict.findings.map((f) => [f.rule, f.incident])).toEqual([
        ['anon', true],
        ['exposure', undefined],
      ]);
    }
  });

  it('refuses anything but true or false, naming the rule', async () => {
    const file = writePolicy(`rules:\n${withIncident(rule('x', 'attachment-type', 'reject'), 'yes please')}`);
    await expect(loadPolicy(file)).rejects.toThrow(PolicyError);
    await expect(loadPolicy(file)).rejects.toThrow(/rule x: incident: expected true or false, got "yes please"/);
  });
});
