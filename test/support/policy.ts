import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './gateway.js';

/** Writes a policy file (and optional list files beside it) into a fresh folder; returns its path. */
export function writePolicy(yaml: string, lists: Record<string, string> = {}, dir = tempDir('outguard-policy-')): string {
  for (const [name, text] of Object.entries(lists)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const file = path.join(dir, 'policy.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

/** One rule in YAML, with the required keys filled in. */
export function rule(id: string, check: string, action: string, params = '{}'): string {
  return `  - id: ${id}\n    clause: 遵守事項 第6-3\n    check: ${check}\n    params: ${params}\n    action: ${action}\n    message: { ja: ${id}の日本語, en: ${id} reason }\n`;
}
