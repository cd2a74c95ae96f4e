import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { type Policy, loadPolicy } from './policy-file.js';

/**
 * Keeps the policy current: reloads on SIGHUP (via reload()) and when the policy file, a list
 * or a plugin changes. A new version that fails to load is refused and the last good one stays.
 */
export interface ReloadOutcome {
  ok: boolean;
  /** What triggered it: SIGHUP, or the file that changed. */
  reason: string;
  file: string;
  rules?: string[];
  error?: string;
}

export class PolicyReloader {
  private watchers: fs.FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly logger: Logger,
    private readonly apply: (policy: Policy) => void,
    private policy: Policy,
    /** Told of every reload, taken or refused (the audit log records them). */
    private readonly onOutcome: (outcome: ReloadOutcome) => void = () => undefined,
  ) {
    this.watch();
  }

  /** Loads the policy again; resolves true when the new version is in force. */
  reload(reason: string): Promise<boolean> {
    const run = this.loading.then(async () => {
      try {
        const next = await loadPolicy(this.file);
        this.policy = next;
        this.apply(next);
        const rules = next.rules.map((r) => r.id);
        this.logger.info({ reason, policy: this.file, rules }, 'policy reloaded');
        this.onOutcome({ ok: true, reason, file: this.file, rules });
        this.watch();
        return true;
      } catch (err) {
        const error = (err as Error).message;
        this.logger.error({ reason, policy: this.file, error }, 'policy reload refused: keeping the last good policy');
        this.onOutcome({ ok: false, reason, file: this.file, error });
        return false;
      }
    });
    this.loading = run.then(() => undefined);
    return run;
  }

  /** Watches the folders of every file the policy came from (editors replace files, so watch folders). */
  private watch(): void {
    this.close();
    const byDir = new Map<string, Set<string>>();
    for (const f of this.policy.files) {
      const dir = path.dirname(f);
      if (!byDir.has(dir)) byDir.set(dir, new Set());
      byDir.get(dir)!.add(path.basename(f));
    }
    for (const [dir, names] of byDir) {
      try {
        const w = fs.watch(dir, (_event, name) => {
          if (name && names.has(name.toString())) this.schedule(`${path.join(dir, name.toString())} changed`);
        });
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch (err) {
        this.logger.warn({ dir, error: (err as Error).message }, 'cannot watch policy folder; SIGHUP still reloads');
      }
    }
  }

  // An editor's save is several events; wait until they settle.
  private schedule(reason: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(reason), 300);
    this.timer.unref();
  }

  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}
