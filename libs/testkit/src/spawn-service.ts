/**
 * Run a TypeScript entry point (a service or a test fixture) as a real child
 * process, with the workspace's `source` condition so no build is needed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Options of {@link spawnService}. */
export interface SpawnServiceOptions {
  /** Added to the environment (undefined removes a variable). */
  env?: Record<string, string | undefined>;
  /** Arguments after the entry point. */
  args?: string[];
  /** Working directory of the child. @default the current one */
  cwd?: string;
  /**
   * Node options before the entry point. The default runs TypeScript sources
   * of this repository; pass `[]` to run compiled JavaScript.
   * @default ['--conditions=source', '--import', 'tsx']
   */
  execArgv?: string[];
}

/** A service started by `spawnService`, with its output lines. */
export interface ServiceProcess {
  /** The child process. */
  readonly proc: ChildProcess;
  /** Lines printed so far (stdout and stderr). */
  readonly lines: string[];
  /** Resolves with the first line matching, now or later. */
  waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs?: number): Promise<string>;
  /** Resolves when the process exits, with its code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Send `signal` (default `SIGTERM`) unless it has exited already; resolves
   * like `exited`.
   */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/**
 * Run `entry` as a child process (killed when the test process exits); its
 * stdout and stderr are read line by line.
 */
export function spawnService(entry: string, opts: SpawnServiceOptions = {}): ServiceProcess {
  const proc = spawn(
    process.execPath,
    [...(opts.execArgv ?? ['--conditions=source', '--import', 'tsx']), entry, ...(opts.args ?? [])],
    {
      cwd: opts.cwd,
      env: { ...process.env, VITEST: undefined, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(proc);
  const lines: string[] = [];
  const waiters: Array<{ test: (l: string) => boolean; resolve: (l: string) => void }> = [];
  const onLine = (line: string): void => {
    lines.push(line);
    if (lines.length > 20_000) lines.splice(0, 10_000);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.test(line)) {
        waiters.splice(i, 1);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: proc.stdout! }).on('line', onLine);
  createInterface({ input: proc.stderr! }).on('line', onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    }),
  );
  return {
    proc,
    lines,
    exited,
    waitForLine(match, timeoutMs = 120_000) {
      const test = typeof match === 'function' ? match : (l: string) => match.test(l);
      const found = lines.find(test);
      if (found) return Promise.resolve(found);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `no line matching ${String(match)} within ${timeoutMs} ms; last lines:\n${lines.slice(-30).join('\n')}`,
            ),
          );
        }, timeoutMs);
        const w = {
          test,
          resolve: (l: string) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.push(w);
        void exited.then(() => {
          if (waiters.includes(w)) {
            clearTimeout(timer);
            reject(
              new Error(
                `process exited before a line matching ${String(match)}; last lines:\n${lines.slice(-30).join('\n')}`,
              ),
            );
          }
        });
      });
    },
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
