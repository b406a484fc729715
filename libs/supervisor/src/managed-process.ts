/**
 * One supervised child process: started in its own process group (so a
 * Ctrl-C in the terminal reaches the supervisor only, which then stops the
 * children in order), its output split into lines, readiness taken from a
 * line it prints, and restarted with exponential backoff when it crashes.
 *
 * States: starting -> ready -> (exit) -> backoff -> starting ...;
 * stop() from any state -> stopping -> stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export type ProcessState = 'idle' | 'starting' | 'ready' | 'backoff' | 'stopping' | 'stopped';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Returns readiness details when `line` says the process is ready. */
  readyWhen: (line: string) => Record<string, unknown> | undefined;
  /** Restart after an unexpected exit. @default true */
  restart?: boolean;
  /** First restart delay, ms; doubles per consecutive crash. @default 500 */
  restartBaseMs?: number;
  /** Largest restart delay, ms. @default 30000 */
  restartMaxMs?: number;
  /** A run that lasted this long resets the crash count, ms. @default 30000 */
  stableAfterMs?: number;
}

export interface ProcessEvents {
  line?: (line: string) => void;
  ready?: (info: Record<string, unknown>) => void;
  exit?: (e: {
    code: number | null;
    signal: NodeJS.Signals | null;
    restartInMs?: number;
    crashes: number;
  }) => void;
  spawnError?: (err: Error) => void;
}

/** Delay before restart number `crashes` (1-based): base * 2^(n-1), capped, with +-20% jitter. */
export function restartDelay(
  crashes: number,
  baseMs: number,
  maxMs: number,
  rand = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(30, crashes - 1)));
  return Math.max(1, Math.round(exp * (0.8 + 0.4 * rand())));
}

export class ManagedProcess {
  #state: ProcessState = 'idle';
  #proc?: ChildProcess;
  #exited?: Promise<void>;
  #timer?: NodeJS.Timeout;
  #crashes = 0;
  #startedAt = 0;
  #restarts = 0;
  #info: Record<string, unknown> = {};
  readonly #spec: Required<
    Pick<ProcessSpec, 'restart' | 'restartBaseMs' | 'restartMaxMs' | 'stableAfterMs'>
  > &
    ProcessSpec;
  readonly #readyWaiters: Array<(ok: boolean) => void> = [];

  constructor(
    spec: ProcessSpec,
    private readonly events: ProcessEvents = {},
  ) {
    this.#spec = {
      restart: true,
      restartBaseMs: 500,
      restartMaxMs: 30_000,
      stableAfterMs: 30_000,
      ...spec,
    };
  }

  get name(): string {
    return this.#spec.name;
  }
  get state(): ProcessState {
    return this.#state;
  }
  get pid(): number | undefined {
    return this.#proc?.pid;
  }
  /** Times it was restarted after a crash. */
  get restarts(): number {
    return this.#restarts;
  }
  /** What the ready line said (e.g. its `http` URL). */
  get info(): Record<string, unknown> {
    return this.#info;
  }

  start(): void {
    if (this.#state !== 'idle' && this.#state !== 'backoff') return;
    this.#timer = undefined;
    this.#state = 'starting';
    this.#startedAt = Date.now();
    const proc = spawn(this.#spec.command, this.#spec.args, {
      cwd: this.#spec.cwd,
      env: this.#spec.env,
      // stdin is a pipe the child never gets data on: it sees EOF if the supervisor dies.
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.#proc = proc;
    proc.stdin?.on('error', () => undefined);
    const onLine = (line: string): void => {
      this.events.line?.(line);
      if (this.#state === 'starting') {
        const info = this.#spec.readyWhen(line);
        if (info) {
          this.#state = 'ready';
          this.#info = info;
          this.events.ready?.(info);
          for (const w of this.#readyWaiters.splice(0)) w(true);
        }
      }
    };
    if (proc.stdout)
      createInterface({ input: proc.stdout, crlfDelay: Infinity }).on('line', onLine);
    if (proc.stderr)
      createInterface({ input: proc.stderr, crlfDelay: Infinity }).on('line', onLine);
    this.#exited = new Promise<void>((resolve) => {
      let settled = false;
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (settled) return;
        settled = true;
        this.onExit(code, signal);
        resolve();
      };
      proc.once('error', (err) => {
        this.events.spawnError?.(err);
        // 'exit' may not follow a spawn error.
        if (proc.pid === undefined) done(null, null);
      });
      proc.once('exit', done);
    });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const stopping = this.#state === 'stopping' || this.#state === 'stopped';
    if (stopping) {
      this.#state = 'stopped';
      this.events.exit?.({ code, signal, crashes: this.#crashes });
      return;
    }
    if (Date.now() - this.#startedAt >= this.#spec.stableAfterMs) this.#crashes = 0;
    this.#crashes++;
    if (!this.#spec.restart) {
      this.#state = 'stopped';
      this.events.exit?.({ code, signal, crashes: this.#crashes });
      for (const w of this.#readyWaiters.splice(0)) w(false);
      return;
    }
    const delay = restartDelay(this.#crashes, this.#spec.restartBaseMs, this.#spec.restartMaxMs);
    this.#state = 'backoff';
    this.events.exit?.({ code, signal, restartInMs: delay, crashes: this.#crashes });
    this.#timer = setTimeout(() => {
      this.#restarts++;
      this.start();
    }, delay);
  }

  /** Resolves true once ready (now or later), false if it stopped first. */
  waitReady(): Promise<boolean> {
    if (this.#state === 'ready') return Promise.resolve(true);
    if (this.#state === 'stopped' || this.#state === 'stopping') return Promise.resolve(false);
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Send a signal to the child's process group. */
  signal(sig: NodeJS.Signals): void {
    const pid = this.#proc?.pid;
    if (pid === undefined || this.#proc?.exitCode !== null || this.#proc?.signalCode !== null)
      return;
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        this.#proc?.kill(sig);
      } catch {
        // already gone
      }
    }
  }

  /**
   * SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves `'clean'` when it
   * exited within the grace, `'killed'` when it had to be killed. Safe to call twice.
   */
  async stop(graceMs: number): Promise<'clean' | 'killed' | 'not-running'> {
    clearTimeout(this.#timer);
    for (const w of this.#readyWaiters.splice(0)) w(false);
    const running = this.#proc && this.#proc.exitCode === null && this.#proc.signalCode === null;
    this.#state = running ? 'stopping' : 'stopped';
    if (!running) return 'not-running';
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.#exited!.then(() => 'clean' as const),
      new Promise<'grace'>((r) => (timer = setTimeout(() => r('grace'), graceMs))),
    ]);
    clearTimeout(timer);
    if (outcome === 'clean') return 'clean';
    this.signal('SIGKILL');
    await this.#exited;
    return 'killed';
  }

  /** SIGKILL now, without waiting (second Ctrl-C, or the supervisor failing). */
  kill(): void {
    clearTimeout(this.#timer);
    this.#state = 'stopping';
    this.signal('SIGKILL');
  }

  exited(): Promise<void> {
    return this.#exited ?? Promise.resolve();
  }
}
