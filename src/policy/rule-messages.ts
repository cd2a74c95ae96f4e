import fs from 'node:fs';
import YAML from 'yaml';

/** A rule as the reviewer pages describe it: its clause and its Japanese and English message. */
export interface RuleMessage {
  clause: string;
  ja: string;
  en: string;
}

const text = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * The messages of the rules in a policy file, read again whenever the file changes. The
 * gateway's policy thread validated the file (loadPolicy); this only looks up texts for pages,
 * so a file it cannot read keeps the last texts (or none) rather than failing a page.
 */
export function ruleMessages(file: string): () => Map<string, RuleMessage> {
  let cached: { mtimeMs: number; rules: Map<string, RuleMessage> } | undefined;
  return () => {
    try {
      const mtimeMs = fs.statSync(file).mtimeMs;
      if (cached?.mtimeMs !== mtimeMs) {
        const tree = YAML.parse(fs.readFileSync(file, 'utf8')) as { rules?: unknown } | null;
        const rules = new Map<string, RuleMessage>();
        for (const r of Array.isArray(tree?.rules) ? (tree.rules as Record<string, unknown>[]) : []) {
          const message = (r?.message ?? {}) as Record<string, unknown>;
          if (typeof r?.id === 'string') rules.set(r.id, { clause: text(r.clause), ja: text(message.ja), en: text(message.en) });
        }
        cached = { mtimeMs, rules };
      }
      return cached.rules;
    } catch {
      return cached?.rules ?? new Map();
    }
  };
}
