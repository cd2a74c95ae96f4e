import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll } from 'vitest';
import YAML from 'yaml';
import { client } from './client.js';
import { freePort } from './net.js';
import { type Sink, startSink } from './sink.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { type RunningService, startService } from '../../src/service.js';

export interface TestGateway extends RunningService {
  config: Config;
  dataDir: string;
  /** The JSON log lines the gateway wrote. */
  logs: Record<string, unknown>[];
}

export function tempDir(prefix = 'outguard-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A tempDir maker for one test file: every dir it made is removed after each test. */
export function tempDirsPerTest(prefix: string): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const dir = tempDir(prefix);
    dirs.push(dir);
    return dir;
  };
}

/**
 * Writes a YAML config into a fresh data dir; ports default to 0 (any free port). Unless the tree
 * names a policy, the gateway runs with an empty one, so relay behaviour is tested on its own.
 */
export function writeConfig(tree: Record<string, unknown>, dir = tempDir()): string {
  const file = path.join(dir, 'config.yaml');
  const emptyPolicy = path.join(dir, 'no-rules.yaml');
  fs.writeFileSync(emptyPolicy, 'rules: []\n');
  const base = {
    dataDir: path.join(dir, 'data'),
    policy: emptyPolicy,
    smtp: { listen: '127.0.0.1:0' },
    web: { listen: '127.0.0.1:0' },
    ...tree,
  };
  base.smtp = { listen: '127.0.0.1:0', ...(tree.smtp as object) };
  fs.writeFileSync(file, YAML.stringify(base));
  return file;
}

/** The policy shipped in policies/default.yaml, for tests of the real rules. */
export const DEFAULT_POLICY = path.resolve('policies/default.yaml');

/** Runs the real gateway in this process on loopback with the given config keys. */
export async function startGateway(tree: Record<string, unknown> = {}): Promise<TestGateway> {
  const file = writeConfig(tree);
  const config = loadConfig({ file, env: {} });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const service = await startService(config, createLogger('info', sink));
  return { ...service, config, dataDir: config.dataDir, logs };
}

/**
 * The real gateway delivering to `sink`, with the shipped policy and example.co.jp internal unless
 * the tree says otherwise, and its web server on a free port that the links in its notices name.
 */
export async function startGatewayWithWeb(sink: Sink, tree: Record<string, unknown> = {}): Promise<TestGateway> {
  const port = await freePort();
  return startGateway({
    nextHop: `smtp://127.0.0.1:${sink.port}`,
    policy: DEFAULT_POLICY,
    organization: { internalDomains: ['example.co.jp'] },
    ...tree,
    web: { listen: `127.0.0.1:${port}`, publicUrl: `http://127.0.0.1:${port}`, ...(tree.web as object | undefined) },
  });
}

/**
 * A gateway in front of a recording sink, with a pooled client, for one describe block: started
 * in beforeAll, stopped in afterAll. Read the fields inside tests (they are set by then).
 */
export function gatewayWithSink(tree: Record<string, unknown> = {}): { sink: Sink; gw: TestGateway; transport: ReturnType<typeof client> } {
  const f = {} as { sink: Sink; gw: TestGateway; transport: ReturnType<typeof client> };
  beforeAll(async () => {
    f.sink = await startSink();
    f.gw = await startGateway({ nextHop: `smtp://127.0.0.1:${f.sink.port}`, ...tree });
    f.transport = client(f.gw.smtp.port);
  });
  afterAll(async () => {
    f.transport.close();
    await f.gw.stop();
    await f.sink.close();
  });
  return f;
}
