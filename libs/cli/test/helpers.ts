/**
 * Test harness: one nats-server per file, a fresh prefix per test, worker
 * managers running fixture workers in this process, and the real `rfw` run as
 * a child process (`node bin/rfw.js ...`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { useJobFixture, waitForJobState, type JobFixture } from '@rfw/testkit';

export const BIN = fileURLToPath(new URL('../bin/rfw.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Extra environment (undefined removes a variable). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Written to stdin, which is then closed. */
  input?: string;
  /** Kill the CLI after this long, ms. @default 90000 (the machine is shared) */
  timeoutMs?: number;
}

/** A running CLI whose output can be awaited line by line. */
export interface CliProcess {
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once `stream` has printed text matching `re`. */
  waitFor(stream: 'stdout' | 'stderr', re: RegExp, timeoutMs?: number): Promise<void>;
  readonly done: Promise<CliResult>;
}

const scratch = mkdtempSync(join(tmpdir(), 'rfw-cli-test-'));
/** A temporary directory of this test file, removed after it. */
export const scratchDir = scratch;
/** Points the CLI at a runtime file that does not exist, so a running `npm start` never leaks in. */
export const NO_RUNTIME_FILE = join(scratch, 'no-runtime.json');

const live = new Set<ChildProcess>();

export function startCli(args: string[], opts: CliOptions = {}): CliProcess {
  const env: Record<string, string | undefined> = {
    ...process.env,
    RFW_CLI_SOURCE: '1',
    RFW_RUNTIME_FILE: NO_RUNTIME_FILE,
    NATS_URL: undefined,
    RFW_PREFIX: undefined,
    VITEST: undefined,
    NODE_OPTIONS: undefined,
    FORCE_COLOR: '0',
    ...opts.env,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: env as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  const check = (): void => waiters.slice().forEach((w) => w());
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    check();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    check();
  });
  if (opts.input !== undefined) proc.stdin!.end(opts.input);
  else proc.stdin!.end();
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
  const done = new Promise<CliResult>((resolve) =>
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(proc);
      check();
      resolve({ code, signal, stdout: out, stderr: err });
    }),
  );
  return {
    proc,
    done,
    stdout: () => out,
    stderr: () => err,
    waitFor(stream, re, timeoutMs = 30_000) {
      const text = (): string => (stream === 'stdout' ? out : err);
      if (re.test(text())) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const w = (): void => {
          if (re.test(text())) {
            finish();
            resolve();
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            finish();
            reject(
              new Error(
                `rfw exited before ${stream} matched ${re}\nstdout:\n${out}\nstderr:\n${err}`,
              ),
            );
          }
        };
        const t = setTimeout(() => {
          finish();
          reject(
            new Error(
              `no ${stream} match for ${re} in ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`,
            ),
          );
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(t);
          waiters.splice(waiters.indexOf(w), 1);
        };
        waiters.push(w);
      });
    },
  };
}

/** Run `rfw args...` to completion. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** One nats-server per file; each test gets its own prefix, queues and managers, and the CLI pointed at them. */
export function useHarness() {
  const fx = useJobFixture(
    { beforeAll, afterEach, afterAll },
    {
      prefixBase: `cli${process.pid % 1000}t`,
      managerDefaults: { backoff: { baseMs: 50, capMs: 500 } },
    },
  );
  afterEach(() => {
    for (const p of live) p.kill('SIGKILL');
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const env = (): Record<string, string> => ({ NATS_URL: fx.server.url, RFW_PREFIX: fx.prefix });
  // A view of the fixture plus the CLI: its `start` runs the CLI, not the server.
  return {
    get server() {
      return fx.server;
    },
    get prefix() {
      return fx.prefix;
    },
    queue: () => fx.queue(),
    manager: (...args: Parameters<JobFixture['manager']>) => fx.manager(...args),
    defer: (fn: () => Promise<unknown>) => fx.defer(fn),
    /** The environment that points the CLI at this test's installation. */
    env,
    /** Run the CLI against this test's installation. */
    cli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
      return runCli(args, { ...opts, env: { ...env(), ...opts.env } });
    },
    /** Start the CLI against this test's installation. */
    start(args: string[], opts: CliOptions = {}): CliProcess {
      return startCli(args, { ...opts, env: { ...env(), ...opts.env } });
    },
  };
}

export { waitForJobState as waitForState };
