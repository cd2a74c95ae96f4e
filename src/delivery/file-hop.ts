import fs from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { OutboundMessage } from '../message/envelope.js';
import { rangeChunks } from '../message/source.js';
import { type Accepted, type NextHop, NextHopError } from './next-hop.js';

/**
 * Writes each message as DIR/<id>.eml. Written under a hidden temporary name, flushed to disk and
 * then renamed, so a reader of DIR never sees a half-written file and an acknowledged message
 * survives a power cut.
 */
export class FileHop implements NextHop {
  readonly description: string;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.description = `file:${dir}`;
  }

  async deliver(message: OutboundMessage): Promise<Accepted> {
    const final = path.join(this.dir, `${message.id}.eml`);
    const temp = path.join(this.dir, `.${message.id}.eml.tmp`);
    try {
      const handle = await fs.open(temp, 'wx', 0o640);
      try {
        let at = 0;
        for (const piece of rangeChunks(message.raw)) {
          at += piece.length;
          if (at === message.raw.length) await message.beforeEnd?.();
          await handle.write(piece);
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, final);
      await syncDir(this.dir);
    } catch (err) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      // written under a temporary name and removed: nothing was delivered
      throw new NextHopError(`cannot write ${final}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, undefined, true);
    }
    return { reply: `written to ${final}`, accepted: [...message.envelope.to], rejected: [] };
  }

  async close(): Promise<void> {}
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
