import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit.js';
import { ThreadAppender } from '../../src/audit/thread-appender.js';
import { chainOptions, sampleEvents } from './fixtures.js';
import { tempDirsPerTest } from '../support/gateway.js';

const threadData = (dir: string) => ({ dataDir: dir, ...chainOptions(dir) });

const tempDir = tempDirsPerTest('outguard-audit-thread-');

describe('ThreadAppender', () => {
  it('writes the events in the order given, chained, where the gateway reads and verifies them', async () => {
    const dir = tempDir();
    const appender = await new ThreadAppender(threadData(dir)).start();
    const events = sampleEvents();
    const [first, second] = await Promise.all([appender.appendMany(events.slice(0, 3)), appender.append(events[3]!)]);
    const rest = await appender.appendMany(events.slice(4));
    await appender.close();
    expect([...first, second, ...rest].map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const store = SqliteAuditStore.open(dir, chainOptions(dir));
    try {
      expect((await store.list()).map((e) => [e.messageId, e.subject])).toEqual(events.map((e) => [e.messageId, e.subject]));
      expect(await store.verify()).toMatchObject({ ok: true, count: events.length });
    } finally {
      await store.close();
    }
  });

  it('refuses a malformed event with the reason, and goes on with the next', async () => {
    const appender = await new ThreadAppender(threadData(tempDir())).start();
    try {
      await expect(appender.append({ type: 'Not Kebab' })).rejects.toThrow(/kebab-case/);
      expect((await appender.append(sampleEvents()[0]!)).seq).toBe(1);
    } finally {
      await appender.close();
    }
  });

  it('starts a new thread when its thread died, without losing the chain', async () => {
    const dir = tempDir();
    const appender = await new ThreadAppender(threadData(dir)).start();
    try {
      await appender.append(sampleEvents()[0]!);
      const worker = await (appender as unknown as { worker: Promise<import('node:worker_threads').Worker> }).worker;
      await worker.terminate();
      expect((await appender.append(sampleEvents()[1]!)).seq).toBe(2);
    } finally {
      await appender.close();
    }
  });

  it('tries a new thread again after a replacement thread could not open the log', async () => {
    const dir = tempDir();
    const appender = await new ThreadAppender(threadData(dir)).start();
    const moved = `${dir}-moved`;
    try {
      await appender.append(sampleEvents()[0]!);
      const worker = await (appender as unknown as { worker: Promise<import('node:worker_threads').Worker> }).worker;
      await worker.terminate();
      // the data dir is briefly unusable (a file where the folder should be): the next thread cannot start
      fs.renameSync(dir, moved);
      fs.writeFileSync(dir, 'not a folder');
      await expect(appender.append(sampleEvents()[1]!)).rejects.toThrow();
      fs.rmSync(dir);
      fs.renameSync(moved, dir);
      // once the dir is back, the audit log is written again
      expect((await appender.append(sampleEvents()[1]!)).seq).toBe(2);
    } finally {
      if (fs.existsSync(moved)) {
        fs.rmSync(dir, { force: true });
        fs.renameSync(moved, dir);
      }
      await appender.close();
    }
  });
});
