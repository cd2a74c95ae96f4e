import fs from 'node:fs';
/**
 * The small request/reply protocol between bench/relay.ts and the processes it forks
 * (sink, null relay, outguard). Each child sends {type:'ready'} once listening, then answers
 * {type:'call'} messages with {type:'reply'} carrying the same id.
 */
import { type ChildProcess, fork } from 'node:child_process';

export interface Ready {
  type: 'ready';
  port: number;
  pid: number;
}

interface Call {
  type: 'call';
  id: number;
  op: string;
}

interface Reply {
  type: 'reply';
  id: number;
  ok: boolean;
  data?: unknown;
  error?: string;
}

/**
 * Child side: reports the listening port, then serves the parent's calls (plus 'cpu':
 * process.cpuUsage() of all its threads, and 'busy': the CPU time of its main thread alone, µs).
 */
/**
 * CPU time of the main thread in µs: on Linux from /proc (clock ticks, 10 ms, fine over a round
 * of seconds); elsewhere the event loop's busy time, which also counts time the thread was
 * runnable but not running.
 */
function mainThreadCpuUs(): number {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12]: utime and stime (the 14th and 15th fields of the whole line)
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6;
  } catch {
    return performance.eventLoopUtilization().active * 1000;
  }
}
const CLOCK_TICKS = 100;

export function serveParent(port: number, ops: Record<string, () => unknown>): void {
  const send = (m: Ready | Reply) => process.send?.(m);
  process.on('message', (raw: unknown) => {
    const m = raw as Call;
    if (m?.type !== 'call') return;
    const op = m.op === 'cpu' ? () => process.cpuUsage() : m.op === 'busy' ? mainThreadCpuUs : ops[m.op];
    Promise.resolve()
      .then(() => {
        if (!op) throw new Error(`unknown op ${m.op}`);
        return op();
      })
      .then(
        (data) => send({ type: 'reply', id: m.id, ok: true, data }),
        (err: Error) => send({ type: 'reply', id: m.id, ok: false, error: err.message }),
      );
  });
  // The parent going away (crash, Ctrl-C) must not leave a listener behind.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port, pid: process.pid });
}

/** Parent side of one forked child. */
export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    readonly port: number,
  ) {
    proc.on('message', (raw: unknown) => {
      const m = raw as Reply;
      if (m?.type !== 'reply') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.data);
      else p.reject(new Error(`${name}: ${m.error}`));
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`${name} exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  /** Forks `script` (TypeScript, through tsx) and waits for its ready message. */
  static async start(name: string, script: string, args: string[], execArgv: string[], timeoutMs = 20000): Promise<Child> {
    const proc = fork(script, args, {
      execArgv: ['--import', 'tsx', ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`${name} did not start within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (m: unknown) => {
        if ((m as Ready)?.type !== 'ready') return;
        clearTimeout(timer);
        proc.off('exit', onExit);
        proc.off('message', onMessage);
        resolve(m as Ready);
      };
      const onExit = (code: number | null, signal: string | null) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited before it was ready (${signal ?? code})`));
      };
      proc.on('message', onMessage);
      proc.once('exit', onExit);
    });
    return new Child(name, proc, ready.port);
  }

  call<T>(op: string, timeoutMs = 30000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${op} timed out`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send({ type: 'call', id, op } satisfies Call);
    });
  }

  /** Asks the child to stop cleanly (so --cpu-prof files get written), then kills it if it lingers. */
  async stop(timeoutMs = 10000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.call('stop', timeoutMs).catch(() => undefined);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await gone;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}
