/**
 * The job-test fixture: one nats-server per test file, a fresh prefix per
 * test, and the queues, worker managers and other resources a test opened,
 * closed for it when the test ends.
 */
import { IllegalStateError, JobQueue, type Job, type JobState } from '@rfw/core';
import { WorkerManager, type Worker, type WorkerManagerOptions } from '@rfw/worker';
import { NatsServer } from './nats-server.js';
import { waitFor } from './wait-for.js';

/** Options of a {@link JobFixture}. */
export interface JobFixtureOptions {
  /** Start of every prefix this fixture hands out; a counter is appended. @default `t` */
  prefixBase?: string;
  /** Options every {@link JobFixture.manager} call starts from (the call's own win). */
  managerDefaults?: WorkerManagerOptions;
}

/** The hooks of a test framework (vitest, jest and mocha all have them). */
export interface TestHooks {
  /** Run `fn` once before the file's tests: the fixture starts its nats-server. */
  beforeAll(fn: () => Promise<void>): void;
  /** Run `fn` after each test: the fixture closes what the test opened and takes a new prefix. */
  afterEach(fn: () => Promise<void>): void;
  /** Run `fn` once after the file's tests: the fixture stops its nats-server. */
  afterAll(fn: () => Promise<void>): void;
}

let counter = 0;

/**
 * A real nats-server plus what the running test opened on it.
 *
 * @example
 * ```ts
 * import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
 * import { useJobFixture, waitForJobState } from '@rfw/testkit';
 *
 * const fx = useJobFixture({ beforeAll, afterEach, afterAll });
 * it('sends', async () => {
 *   const queue = await fx.queue();
 *   await fx.manager([defineWorker('email', async () => 'sent')]);
 *   const id = await queue.schedule('email', { to: 'a@b.c' });
 *   expect((await waitForJobState(queue, id, ['succeeded'])).result).toBe('sent');
 * });
 * ```
 */
export class JobFixture {
  #server: NatsServer | undefined;
  #prefix: string;
  readonly #cleanups: Array<() => Promise<unknown>> = [];

  constructor(private readonly options: JobFixtureOptions = {}) {
    this.#prefix = this.#nextPrefix();
  }

  /** Start the nats-server (random ports, temporary store). */
  async start(): Promise<void> {
    if (this.#server) throw new IllegalStateError('JobFixture', 'start()', 'started');
    this.#server = await NatsServer.start();
  }

  /**
   * The nats-server of this fixture.
   * @throws IllegalStateError before {@link start}
   */
  get server(): NatsServer {
    if (!this.#server) throw new IllegalStateError('JobFixture', 'server', 'created');
    return this.#server;
  }

  /** The subject/stream/bucket prefix of the current test; changes on {@link reset}. */
  get prefix(): string {
    return this.#prefix;
  }

  /** A `JobQueue` on this test's prefix, closed by {@link reset}. */
  async queue(): Promise<JobQueue> {
    const q = await JobQueue.connect({ servers: this.server.url, prefix: this.#prefix });
    this.defer(() => q.close());
    return q;
  }

  /**
   * A started `WorkerManager` running `workers` on this test's prefix, shut down by
   * {@link reset}. Defaults suit tests: 500 ms heartbeats, backoff from 50 ms to 1 s.
   */
  async manager(workers: Worker[], options: WorkerManagerOptions = {}): Promise<WorkerManager> {
    const m = await WorkerManager.create({
      servers: this.server.url,
      prefix: this.#prefix,
      workerId: `w${++counter}`,
      heartbeatIntervalMs: 500,
      backoff: { baseMs: 50, capMs: 1000 },
      ...this.options.managerDefaults,
      ...options,
    });
    m.register(...workers);
    await m.start();
    this.defer(() => m.shutdown());
    return m;
  }

  /** Run `fn` when the test ends, before anything opened earlier is closed. */
  defer(fn: () => Promise<unknown>): void {
    this.#cleanups.push(fn);
  }

  /**
   * Run the deferred cleanups, newest first (a failing one does not stop the
   * others), and move to a new prefix.
   */
  async reset(): Promise<void> {
    for (const c of this.#cleanups.splice(0).reverse()) await c().catch(() => undefined);
    this.#prefix = this.#nextPrefix();
  }

  /** {@link reset}, then stop the nats-server and remove its store. Safe to call twice. */
  async stop(): Promise<void> {
    await this.reset();
    const server = this.#server;
    this.#server = undefined;
    await server?.stop();
  }

  #nextPrefix(): string {
    return `${this.options.prefixBase ?? 't'}${++counter}`;
  }
}

/**
 * A {@link JobFixture} bound to a test file: the server starts before all
 * tests, each test's resources close after it, the server stops after all.
 */
export function useJobFixture(hooks: TestHooks, options: JobFixtureOptions = {}): JobFixture {
  const fx = new JobFixture(options);
  hooks.beforeAll(() => fx.start());
  hooks.afterEach(() => fx.reset());
  hooks.afterAll(() => fx.stop());
  return fx;
}

/**
 * Resolve with the job once its record is in one of `states`; reject after
 * `timeoutMs` with the last record seen.
 * @param timeoutMs - how long to wait, in ms. @default 20000
 */
export async function waitForJobState(
  queue: JobQueue,
  id: string,
  states: readonly JobState[],
  timeoutMs = 20_000,
): Promise<Job> {
  let last: Job | undefined;
  try {
    return await waitFor(
      `job ${id} to reach ${states.join('|')}`,
      async () => {
        last = await queue.get(id);
        return last && states.includes(last.state) ? last : undefined;
      },
      { timeoutMs, intervalMs: 20 },
    );
  } catch (err) {
    throw new Error(`job ${id} did not reach ${states.join('|')}: ${JSON.stringify(last)}`, {
      cause: err,
    });
  }
}
