import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import YAML from 'yaml';
import { type Check, type CheckContext, type CheckInput, type Hit, type List, ParamError } from './check.js';
import { BUILTIN_CHECKS } from './checks/index.js';
import { KNOWN_PACKAGES, loadList } from './lists.js';
import { type EncryptionSettings, parseEncryption } from './encryption.js';
import type { DeadlineAction } from '../hold/types.js';

export type RuleAction = 'reject' | 'hold' | 'monitor';

export interface Rule {
  id: string;
  clause: string;
  /** The built-in check name, or the plugin path as written. */
  checkName: string;
  check: Check<unknown>;
  params: unknown;
  action: RuleAction;
  message: { ja: string; en: string };
  /** For hold rules: how long the hold waits, what happens then, and who may release it. */
  hold: HoldRule;
  /** `incident: true`: a finding of this rule opens an incident (遵守事項 第2), whatever the action. */
  incident: boolean;
}

export interface HoldRule {
  deadlineHours: number;
  onDeadline: DeadlineAction;
  /** 上長承認: these addresses, not the sender, get the release link. */
  approvers: string[];
}

export const DEFAULT_HOLD: HoldRule = { deadlineHours: 24, onDeadline: { action: 'discard' }, approvers: [] };

export interface Policy {
  file: string;
  rules: Rule[];
  /** The `encryption:` section: how attachments leave (遵守事項 第6-2). */
  encryption: EncryptionSettings;
  lists: Map<string, List>;
  /** Every file the policy was built from: a change to any of them triggers a reload. */
  files: string[];
}

/** A policy problem: names the file, the rule (when there is one), the key and what was expected. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }

  static at(file: string, where: string, expected: string, got?: unknown): PolicyError {
    return new PolicyError(`${file}: ${where}: expected ${expected}${got === undefined ? '' : `, got ${JSON.stringify(got)}`}`);
  }
}

const TOP_KEYS = ['lists', 'rules', 'encryption'];
const RULE_KEYS = ['id', 'clause', 'check', 'plugin', 'params', 'action', 'message', 'deadline', 'approvers', 'incident'];
const ADDRESS = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ACTIONS: RuleAction[] = ['reject', 'hold', 'monitor'];

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads, validates and builds a policy: lists loaded into sets, checks resolved, params checked. */
export async function loadPolicy(file: string): Promise<Policy> {
  const fail = (where: string, expected: string, got?: unknown): never => {
    throw PolicyError.at(file, where, expected, got);
  };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return fail('(file)', 'a readable policy file', (err as NodeJS.ErrnoException).code);
  }
  const doc = YAML.parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    fail(e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(syntax)', 'valid YAML', e.code);
  }
  const tree = doc.toJS() as unknown;
  if (!isMap(tree)) return fail('(top level)', 'a mapping with lists: and rules:');
  for (const k of Object.keys(tree)) if (!TOP_KEYS.includes(k)) fail(k, `a known key (${TOP_KEYS.join(', ')})`, k);

  const dir = path.dirname(file);
  const files = [file];
  const lists = new Map<string, List>();
  const rawLists = tree.lists ?? {};
  if (!isMap(rawLists)) fail('lists', 'a mapping of list names to files');
  for (const [name, spec] of Object.entries(rawLists as Record<string, unknown>)) {
    const where = `lists.${name}`;
    const m = typeof spec === 'string' || Array.isArray(spec) ? { files: spec } : spec;
    if (!isMap(m)) return fail(where, 'a file, a list of files, or {files, packages}', spec);
    const listFiles = ([] as unknown[]).concat(m.files ?? []);
    const packages = ([] as unknown[]).concat(m.packages ?? []);
    for (const k of Object.keys(m)) if (k !== 'files' && k !== 'packages') fail(`${where}.${k}`, 'files or packages', k);
    const paths = listFiles.map((f, i) => {
      if (typeof f !== 'string') return fail(`${where}.files[${i}]`, 'a file path', f);
      const p = path.resolve(dir, f);
      if (!fs.existsSync(p)) fail(`${where}.files[${i}]`, 'an existing list file', f);
      if (!readableFile(p)) fail(`${where}.files[${i}]`, 'a readable regular list file', f);
      return p;
    });
    packages.forEach((p, i) => {
      if (typeof p !== 'string' || !KNOWN_PACKAGES.includes(p)) fail(`${where}.packages[${i}]`, `one of ${KNOWN_PACKAGES.join(', ')}`, p);
    });
    lists.set(name, loadList(name, paths, packages as string[]));
    files.push(...paths);
  }

  const rawRules = tree.rules ?? [];
  if (!Array.isArray(rawRules)) return fail('rules', 'a list of rules');
  const rules: Rule[] = [];
  const ids = new Set<string>();
  for (const [i, raw] of rawRules.entries()) {
    if (!isMap(raw)) return fail(`rules[${i}]`, 'a rule mapping');
    const id = raw.id;
    if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(id)) return fail(`rules[${i}].id`, 'a rule id of lower-case letters, digits and hyphens', id);
    const where = `rule ${id}`;
    if (ids.has(id)) fail(where, 'a unique rule id', 'a duplicate');
    ids.add(id);
    for (const k of Object.keys(raw)) if (!RULE_KEYS.includes(k)) fail(`${where}: ${k}`, `a known rule key (${RULE_KEYS.join(', ')})`, k);
    const str = (key: string, value: unknown, expected = 'a non-empty string'): string =>
      typeof value === 'string' && value.trim() !== '' ? value.trim() : fail(`${where}: ${key}`, expected, value);
    const clause = str('clause', raw.clause, 'the clause it serves, e.g. 遵守事項 第6-3');
    const action = ACTIONS.includes(raw.action as RuleAction) ? (raw.action as RuleAction) : fail(`${where}: action`, ACTIONS.join(', '), raw.action);
    if (!isMap(raw.message)) fail(`${where}: message`, 'a mapping with ja: and en:', raw.message);
    const message = raw.message as Record<string, unknown>;
    const ja = str('message.ja', message.ja, 'the Japanese message');
    const en = str('message.en', message.en, 'the English message');
    // the English message goes into SMTP replies, which are ASCII
    if (!/^[\x20-\x7e]+$/.test(en)) fail(`${where}: message.en`, 'printable ASCII (it is used in SMTP replies)', en);

    let check: Check<unknown>;
    let checkName: string;
    if (raw.plugin !== undefined) {
      if (raw.check !== undefined) fail(`${where}: check`, 'either check: or plugin:, not both');
      checkName = str('plugin', raw.plugin, 'a path to a JavaScript module');
      const modulePath = path.resolve(dir, checkName);
      check = await loadPlugin(modulePath, (expected, got) => fail(`${where}: plugin`, expected, got));
      files.push(modulePath);
    } else {
      checkName = str('check', raw.check, `a check name (${[...BUILTIN_CHECKS.keys()].join(', ')}) or plugin: ./path.js`);
      check = (BUILTIN_CHECKS.get(checkName) as Check<unknown> | undefined) ?? fail(`${where}: check`, `one of ${[...BUILTIN_CHECKS.keys()].join(', ')}`, checkName);
    }
    const rawParams = raw.params ?? {};
    if (!isMap(rawParams)) fail(`${where}: params`, 'a mapping', rawParams);
    let params: unknown;
    try {
      params = check.params(rawParams as Record<string, unknown>, { lists: new Set(lists.keys()) });
    } catch (err) {
      if (err instanceof ParamError) fail(`${where}: params.${err.key}`, err.expected, (rawParams as Record<string, unknown>)[err.key]);
      fail(`${where}: params`, 'valid parameters', (err as Error).message);
    }
    if (raw.incident !== undefined && typeof raw.incident !== 'boolean') fail(`${where}: incident`, 'true or false', raw.incident);
    rules.push({ id, clause, checkName, check, params, action, message: { ja, en }, hold: holdRule(raw, action, where, fail), incident: raw.incident === true });
  }
  const encryption = parseEncryption(tree.encryption, fail);
  return { file, rules, lists, files, encryption };
}

function readableFile(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.R_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * A plugin module's default export: a Check ({name, params, run}), or just a function
 * (input, context, params) → hits, which then gets its params as written.
 */
async function loadPlugin(modulePath: string, fail: (expected: string, got?: unknown) => never): Promise<Check<unknown>> {
  if (!fs.existsSync(modulePath)) return fail('an existing JavaScript module', modulePath);
  // the query string makes a reload import the edited module instead of the cached one
  const url = `${pathToFileURL(modulePath).href}?mtime=${fs.statSync(modulePath).mtimeMs}`;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    return fail('a module that loads', (err as Error).message);
  }
  const d = mod.default;
  if (typeof d === 'function') {
    const run = d as (input: CheckInput, ctx: CheckContext, params: unknown) => Hit[];
    return { name: path.basename(modulePath), params: (raw) => raw, run };
  }
  if (isMap(d) && typeof d.run === 'function') {
    const c = d as unknown as Partial<Check<unknown>> & Pick<Check<unknown>, 'run'>;
    return { name: c.name ?? path.basename(modulePath), params: c.params ?? ((raw) => raw), run: c.run.bind(c) };
  }
  return fail('a default export: a check {name, params, run} or a function (input, context, params) => hits');
}

/** A hold rule's `deadline: {hours, action, to}` and `approvers: [...]`. */
function holdRule(raw: Record<string, unknown>, action: RuleAction, where: string, fail: (where: string, expected: string, got?: unknown) => never): HoldRule {
  if (raw.deadline === undefined && raw.approvers === undefined) return DEFAULT_HOLD;
  if (action !== 'hold') fail(`${where}: ${raw.deadline !== undefined ? 'deadline' : 'approvers'}`, 'only on rules whose action is hold');
  let approvers: string[] = [];
  if (raw.approvers !== undefined) {
    if (!Array.isArray(raw.approvers) || !raw.approvers.every((a) => typeof a === 'string' && ADDRESS.test(a))) fail(`${where}: approvers`, 'a list of e-mail addresses', raw.approvers);
    approvers = raw.approvers as string[];
  }
  const d = raw.deadline ?? {};
  if (!isMap(d)) return fail(`${where}: deadline`, 'a mapping {hours, action, to}', d);
  const hours = d.hours ?? DEFAULT_HOLD.deadlineHours;
  if (typeof hours !== 'number' || !(hours > 0) || hours > 24 * 30) fail(`${where}: deadline.hours`, 'hours, more than 0 and at most 720', hours);
  const act = d.action ?? 'discard';
  let onDeadline: DeadlineAction;
  if (act === 'discard' || act === 'send') onDeadline = { action: act };
  else if (act === 'escalate') {
    if (typeof d.to !== 'string' || !ADDRESS.test(d.to)) fail(`${where}: deadline.to`, 'the address to escalate to', d.to);
    onDeadline = { action: 'escalate', to: d.to as string };
  } else return fail(`${where}: deadline.action`, 'discard, send or escalate', act);
  return { deadlineHours: hours as number, onDeadline, approvers };
}
