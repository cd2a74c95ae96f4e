import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { BUILTIN_CHECKS } from '../../src/policy/checks/index.js';
import { BUILT_IN_RULES } from '../../src/policy/encryption-gate.js';
import { RULE_NAMES, ruleName } from '../../src/policy/rule-names.js';

const POLICIES = path.resolve(import.meta.dirname, '../../policies');

/** Every rule id outguard ships: the policy files' rules, the checks (a rule named after its check), the engine's own rules. */
function shippedRuleIds(): string[] {
  const ids = new Set([...BUILTIN_CHECKS.keys(), ...Object.keys(BUILT_IN_RULES)]);
  for (const file of fs.readdirSync(POLICIES).filter((f) => /\.ya?ml$/.test(f))) {
    const tree = YAML.parse(fs.readFileSync(path.join(POLICIES, file), 'utf8')) as { rules?: { id: string }[] };
    for (const r of tree.rules ?? []) ids.add(r.id);
  }
  return [...ids];
}

describe('rule names', () => {
  it.each(shippedRuleIds())('names the shipped rule %s in Japanese and in English', (id) => {
    expect(Object.keys(RULE_NAMES)).toContain(id);
    const { ja, en } = ruleName(id);
    expect(ja).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    expect(en).toMatch(/^[A-Z][\x20-\x7e]+$/);
  });

  it('names a rule it does not know (a plugin, an admin’s own id) by its id', () => {
    expect(ruleName('confidential-word')).toEqual({ ja: 'confidential-word', en: 'confidential-word' });
    expect(ruleName('toString')).toEqual({ ja: 'toString', en: 'toString' });
  });
});
