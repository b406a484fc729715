/**
 * Process plumbing of the bench: the bundled child entry, forking producers
 * and workers, a fresh backend per scenario run (its own nats-server, or a
 * unique Redis key prefix removed afterwards), and RSS readings.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { JobQueue } from '@rfw/core';
import { NatsServer } from '@rfw/testkit';
import { Redis } from 'ioredis';
import type { ChildConfig, ChildEvent, ParentCommand, ProducerTask } from './protocol.js';
import { provisionJetStream } from './systems/jetstream.js';
import type { Backend, SystemName } from './systems/types.js';

export const REDIS_URL = normaliseRedisUrl(process.env.REDIS_URL ?? '127.0.0.1:6379');

function normaliseRedisUrl(u: string): string {
  return /^rediss?:\/\//.test(u) ? u : `redis://${u}`;
}

type Progress = Extract<ChildEvent, { ev: 'progress' }>;
type Result = Extract<ChildEvent, { ev: 'result' }>;

/** One forked producer or worker. Every wait fails fast when the child errors or exits. */
export class Child {
  progress: Progress = { ev: 'progress', done: 0, started: 0, inFlight: 0, lastDoneAt: 0 };
  readonly output: string[] = [];
  #results: Array<(r: Result) => void> = [];
  #progressWaiters = new Set<() => void>();
  #failure?: Error;
  #failListeners = new Set<(e: Error) => void>();

  private constructor(
    readonly proc: ChildProcess,
    readonly label: string,
  ) {
    const keep = (chunk: Buffer): void => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.splice(0, 100);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.on('message', (m: ChildEvent) => {
      if (m.ev === 'progress') {
        this.progress = m;
        for (const w of [...this.#progressWaiters]) w();
      } else if (m.ev === 'result') this.#results.shift()?.(m);
      else if (m.ev === 'error') this.fail(new Error(`${label}: ${m.message}`));
    });
    proc.once('exit', (code, signal) => {
      this.fail(new Error(`${label} exited (${code ?? signal})${this.tail()}`));
    });
  }

  private tail(): string {
    const t = this.output.join('').slice(-2000);
    return t ? `; last output:\n${t}` : '';
  }

  /** Why the child stopped, once it has. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  private fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    for (const l of this.#failListeners) l(err);
  }

  /** Race `p` against this child failing. */
  private guard<T>(p: Promise<T>): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      const onFail = (e: Error): void => reject(e);
      this.#failListeners.add(onFail);
      p.then(resolve, reject).finally(() => this.#failListeners.delete(onFail));
    });
  }

  static async start(
    bundle: string,
    config: ChildConfig,
    label: string,
    execArgv: string[] = [],
  ): Promise<Child> {
    const proc = fork(bundle, [], {
      execArgv,
      env: { ...process.env, BENCH_CHILD: JSON.stringify(config), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const child = new Child(proc, label);
    await child.guard(
      new Promise<void>((resolve) => {
        const onReady = (m: ChildEvent): void => {
          if (m.ev !== 'ready') return;
          proc.off('message', onReady);
          resolve();
        };
        proc.on('message', onReady);
      }),
    );
    return child;
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  send(cmd: ParentCommand): void {
    if (this.proc.connected) this.proc.send(cmd);
  }

  private nextResult(): Promise<Result> {
    return this.guard(new Promise<Result>((r) => this.#results.push(r)));
  }

  async task(task: ProducerTask): Promise<Record<string, number>> {
    const r = this.nextResult();
    this.send({ cmd: 'task', task });
    return (await r).data;
  }

  async report(): Promise<{ data: Record<string, number>; samples: number[] }> {
    const r = this.nextResult();
    this.send({ cmd: 'report' });
    const res = await r;
    return { data: res.data, samples: res.samples ?? [] };
  }

  /** Wait until `pred(progress)` holds, or fail after `timeoutMs`. */
  waitFor(what: string, pred: (p: Progress) => boolean, timeoutMs: number): Promise<void> {
    return this.guard(
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!pred(this.progress)) return;
          clearTimeout(timer);
          this.#progressWaiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          this.#progressWaiters.delete(check);
          reject(
            new Error(
              `${this.label}: timed out after ${timeoutMs} ms waiting for ${what}; progress ${JSON.stringify(this.progress)}`,
            ),
          );
        }, timeoutMs);
        this.#progressWaiters.add(check);
        check();
      }),
    );
  }

  /** Resident set size, bytes, from /proc (what the OS sees, not what V8 reports). */
  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    if (!m) throw new Error(`no VmRSS for ${this.label}`);
    return Number(m[1]) * 1024;
  }

  /** CPU time used so far (user + system), ms. */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  /**
   * Stop the process (the backend is thrown away after each run): ask it to
   * exit, so that a `--cpu-prof` profile gets written, then SIGKILL.
   */
  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.#failure ??= new Error(`${this.label} was stopped`);
    this.send({ cmd: 'exit' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** CPU time (user + system) of a process, ms, from /proc/<pid>/stat; NaN once it is gone. */
export function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Wait until `pred` holds over the children's progress (polled; timings come from the children). */
export async function waitForAll(
  children: Child[],
  what: string,
  pred: (all: Child['progress'][]) => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const c of children) if (c.failure) throw c.failure;
    if (pred(children.map((c) => c.progress))) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; progress ${JSON.stringify(children.map((c) => c.progress))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

let runCounter = 0;

export interface OpenBackend {
  backend: Backend;
  server?: NatsServer;
  close(): Promise<void>;
}

/** A fresh place for one scenario run of one system. */
export async function openBackend(system: SystemName): Promise<OpenBackend> {
  const id = `${process.pid.toString(36)}${(++runCounter).toString(36)}`;
  if (system === 'bullmq') {
    const prefix = `rfwbench${id}`;
    return {
      backend: { redisUrl: REDIS_URL, prefix },
      close: () => deleteRedisPrefix(prefix),
    };
  }
  const server = await NatsServer.start();
  const backend: Backend = { natsUrl: server.url, prefix: 'bench' };
  try {
    if (system === 'rfw') {
      const q = await JobQueue.connect({ servers: server.url, prefix: backend.prefix });
      await q.close();
    } else {
      await provisionJetStream(backend);
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { backend, server, close: () => server.stop() };
}

/** Remove every Redis key under `prefix:` (the shared Redis is not ours alone). */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** CPU time of the Redis server so far (user + system), ms. Redis is shared: other load counts too. */
export async function redisCpuMs(): Promise<number> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    const info = await redis.info('cpu');
    const get = (k: string): number => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1]);
    return (get('used_cpu_sys') + get('used_cpu_user')) * 1000;
  } catch {
    return Number.NaN;
  } finally {
    redis.disconnect();
  }
}
