/**
 * A pool of chaos fixture worker processes (`fixtures/chaos-worker.ts`), each a
 * real child process started with `spawnService()`. Slots can be SIGKILLed and
 * restarted; any exit the test did not ask for is recorded as a crash.
 */
import { spawnService, type ServiceProcess } from '@rfw/testkit';
import { fixture } from './paths.js';

export interface WorkerPoolOptions {
  /** NATS URLs (several for a cluster). */
  servers: string[];
  prefix: string;
  /** Job type served. @default 'chaos' */
  type?: string;
  /** File each worker appends its executions to. */
  execLog: string;
  /** Stream and bucket replicas the workers provision with. @default 1 */
  replicas?: number;
  /** Jobs at once per process. @default 16 */
  concurrency?: number;
  /** Broker redelivery deadline, ms. @default 2000 */
  ackWaitMs?: number;
  /** Extra environment for every worker. */
  env?: Record<string, string>;
}

/** A worker process that exited without being asked to. */
export interface Crash {
  slot: number;
  workerId: string;
  code: number | null;
  signal: string | null;
  lastLines: string[];
}

export class WorkerPool {
  readonly #procs = new Map<number, { proc: ServiceProcess; workerId: string }>();
  readonly #expected = new Set<ServiceProcess>();
  readonly #ready = new Set<number>();
  #generation = 0;
  /** SIGKILLs sent. */
  kills = 0;
  /** Processes started (first starts and restarts). */
  starts = 0;
  readonly crashes: Crash[] = [];

  constructor(readonly opts: WorkerPoolOptions) {}

  /** Slots whose worker is up and ready (not starting, not killed). */
  get slots(): number[] {
    return [...this.#ready];
  }

  /** Pids of the live processes by slot. */
  pids(): Map<number, number | undefined> {
    return new Map([...this.#procs].map(([slot, p]) => [slot, p.proc.proc.pid]));
  }

  /** Start `count` workers (slots 0..count-1) and wait until each is ready. */
  async start(count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, (_, i) => this.startSlot(i)));
  }

  /** Start (or restart) one slot and resolve once its `service ready` line is printed. */
  async startSlot(slot: number): Promise<void> {
    const o = this.opts;
    const workerId = `${o.prefix}-w${slot}-g${++this.#generation}`;
    const proc = spawnService(fixture('chaos-worker.ts'), {
      env: {
        NATS_URL: o.servers.join(','),
        RFW_PREFIX: o.prefix,
        RFW_REPLICAS: String(o.replicas ?? 1),
        WORKER_ID: workerId,
        MAX_CONCURRENT_JOBS: String(o.concurrency ?? 16),
        ACK_WAIT_MS: String(o.ackWaitMs ?? 2000),
        SHUTDOWN_GRACE_MS: '2000',
        CHAOS_TYPE: o.type ?? 'chaos',
        CHAOS_EXEC_LOG: o.execLog,
        LOG_LEVEL: 'info',
        ...o.env,
      },
    });
    this.starts++;
    this.#procs.set(slot, { proc, workerId });
    void proc.exited.then(({ code, signal }) => {
      if (this.#expected.has(proc)) return;
      this.crashes.push({ slot, workerId, code, signal, lastLines: proc.lines.slice(-20) });
    });
    await proc.waitForLine((l) => l.includes('"msg":"service ready"'), 60_000);
    if (this.#procs.get(slot)?.proc === proc) this.#ready.add(slot);
  }

  /** SIGKILL the worker in `slot` and wait until it is gone. */
  async kill(slot: number): Promise<void> {
    const p = this.#procs.get(slot);
    if (!p) return;
    this.#expected.add(p.proc);
    this.#procs.delete(slot);
    this.#ready.delete(slot);
    this.kills++;
    await p.proc.kill('SIGKILL');
  }

  /** Lines printed by the live workers, for diagnosing a failure. */
  tail(n = 20): string[] {
    return [...this.#procs.values()].flatMap((p) => [
      `--- ${p.workerId}`,
      ...p.proc.lines.slice(-n),
    ]);
  }

  /** Stop every worker: SIGTERM (drain), then SIGKILL after `graceMs`. */
  async stopAll(graceMs = 10_000): Promise<void> {
    const all = [...this.#procs.values()];
    this.#procs.clear();
    this.#ready.clear();
    await Promise.all(
      all.map(async ({ proc }) => {
        this.#expected.add(proc);
        const timer = setTimeout(() => proc.proc.kill('SIGKILL'), graceMs);
        await proc.kill('SIGTERM');
        clearTimeout(timer);
      }),
    );
  }
}
