import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError } from './errors.js';
import { type Config, DEFAULTS, buildConfig, resolveAgainst } from './schema.js';

/** The environment variables that override single keys (DESIGN.md lists the first six). */
export const ENV_OVERRIDES: Record<string, string> = {
  OUTGUARD_SMTP_LISTEN: 'smtp.listen',
  OUTGUARD_WEB_LISTEN: 'web.listen',
  OUTGUARD_DATA_DIR: 'dataDir',
  OUTGUARD_NEXT_HOP: 'nextHop',
  OUTGUARD_POLICY: 'policy',
  OUTGUARD_INTERNAL_DOMAINS: 'organization.internalDomains',
  OUTGUARD_RELAY_NETWORKS: 'smtp.relayNetworks',
  OUTGUARD_WEB_PUBLIC_URL: 'web.publicUrl',
  OUTGUARD_LOG_LEVEL: 'log.level',
  OUTGUARD_AUDIT_ANCHOR_FILE: 'audit.anchorFile',
};

export interface LoadOptions {
  /** Config file; falls back to OUTGUARD_CONFIG, then to the embedded defaults alone. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

type Tree = Record<string, unknown>;

const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

function getPath(tree: Tree, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (isTree(node) ? node[part] : undefined), tree);
}

function setPath(tree: Tree, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    if (!isTree(node[part])) node[part] = {};
    node = node[part] as Tree;
  }
  node[parts[parts.length - 1]!] = value;
}

/** Defaults overlaid with the file's tree; lists and scalars from the file replace the default. */
function overlay(base: Tree, top: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(top)) out[k] = isTree(v) && isTree(base[k]) ? overlay(base[k] as Tree, v) : v;
  return out;
}

function readYaml(file: string): Tree {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '(file)', 'a readable YAML file', (err as NodeJS.ErrnoException).code ?? String(err));
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(syntax)';
    throw new ConfigError(file, where, 'valid YAML', e.code);
  }
  const tree = doc.toJS() as unknown;
  if (tree === null || tree === undefined) return {};
  if (!isTree(tree)) throw new ConfigError(file, '(top level)', 'a mapping of keys to values', tree);
  return tree;
}

/** Where each loaded config's keys came from, for checks made after loading (see preflight.ts). */
const ORIGINS = new WeakMap<Config, (key: string) => string>();

/** The file or environment variable a key of this config came from (its source when unknown). */
export function originOf(config: Config, key: string): string {
  return ORIGINS.get(config)?.(key) ?? config.source;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const fileOpt = options.file ?? env.OUTGUARD_CONFIG;
  const file = fileOpt ? resolveAgainst(cwd, fileOpt) : undefined;
  const fromFile = file ? readYaml(file) : {};

  const merged = overlay(structuredClone(DEFAULTS) as unknown as Tree, fromFile);
  const fromEnv = new Map<string, string>();
  for (const [name, key] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      setPath(merged, key, value);
      fromEnv.set(key, name);
    }
  }
  const inFile = (key: string) => file !== undefined && getPath(fromFile, key) !== undefined;

  const origin = (key: string): string => {
    for (const [k, name] of fromEnv) if (key === k || key.startsWith(`${k}[`)) return `environment variable ${name}`;
    return file ?? 'built-in defaults';
  };
  const resolvePath = (key: string, p: string): string => {
    const fromConfigFile = file !== undefined && !fromEnv.has(key) && inFile(key);
    return resolveAgainst(fromConfigFile ? path.dirname(file!) : cwd, p);
  };
  const config = buildConfig(merged, origin, resolvePath, file ?? 'built-in defaults');
  ORIGINS.set(config, origin);
  return config;
}
