/**
 * What a job handler is: the seed's `Worker` interface, its results, the
 * errors a handler throws to steer its own job, and the plain handler form.
 */
import type { Job } from '@rfw/core';
import { ConfigError } from '@rfw/core/internal';
import type { BackoffOptions } from './backoff.js';
import {
  compileIsolation,
  type IsolationMode,
  type IsolationOptions,
} from './isolation/options.js';
import type { WorkerContext } from './worker-context.js';

/** The outcome a `processJob` returns. */
export type JobResult =
  | { status: 'success'; output?: unknown }
  | { status: 'failed'; reason: string; retryable?: boolean }
  | { status: 'skipped'; reason?: string };

/** Constructors for `JobResult`, in the seed's words. */
export const JobResult = {
  success: (output?: unknown): JobResult => ({ status: 'success', output }),
  /** A failed attempt; retried unless `retryable` is false or the budget is spent. */
  failed: (reason: string, opts: { retryable?: boolean } = {}): JobResult => ({
    status: 'failed',
    reason,
    ...opts,
  }),
  /** Not for this worker, or nothing to do: the job ends `succeeded` with `skipped` noted. */
  skipped: (reason?: string): JobResult => ({ status: 'skipped', reason }),
} as const;

/** A schema for a job type's payload: any object with zod's `safeParse` shape. */
export interface PayloadSchema<P> {
  /**
   * Check `input`: `success` with the payload the handler gets (`data`), or
   * an error whose `message` goes into the dead letter's reason. Must not throw.
   */
  safeParse(
    input: unknown,
  ): { success: true; data: P } | { success: false; error: { message: string } };
}

/** Per-type knobs; every field falls back to the WorkerManager's. */
export interface WorkerTypeOptions<P = unknown> {
  /** Validates the payload before the handler runs; a failing payload is dead-lettered. */
  schema?: PayloadSchema<P>;
  /** Jobs of this type running at once in this instance. @default the manager's maxConcurrentJobs */
  concurrency?: number;
  /** Jobs per second started across the whole cluster (shared among live instances). @default unlimited */
  rateLimitPerSecond?: number;
  /** Retry backoff for this type. */
  backoff?: Partial<BackoffOptions>;
  /** Default retries for jobs that do not say. @default the manager's retryLimit */
  maxRetries?: number;
  /** Default per-attempt timeout, ms. @default the manager's jobTimeout */
  timeoutMs?: number;
  /**
   * Circuit-breaker keys for a job, checked before it runs (e.g. its target
   * storage nodes). A job whose key's breaker is open is deferred without using
   * an attempt. The type itself always has a breaker too.
   */
  breakerKeys?(payload: P): string[];
  /**
   * Run the handler in a worker thread or a child process instead of the
   * worker's event loop (see `defineIsolatedWorker`): a CPU-bound handler
   * cannot stall heartbeats, a timeout ends the thread or process after
   * `timeoutGraceMs`, and a crash fails only the attempt. `processJob` is
   * then not called. @default in-process
   */
  isolation?: IsolationOptions;
}

/** The seed's Worker: a type name, a job processor and a health check. */
export interface Worker<P = unknown> extends WorkerTypeOptions<P> {
  /** The job type it runs: lowercase letters, digits, `-` and `_`; one worker per type in a manager. */
  readonly workerType: string;
  /**
   * Run one attempt of `job`. Resolve with a `JobResult` (`undefined` counts as
   * success); a throw is a failed attempt, retried unless it is a
   * `NonRetryableError` (`RetryAfterError` sets the delay, `DeferError` puts it
   * back without using an attempt). Stop when `ctx.signal` fires.
   */
  processJob(job: Job<P>, ctx: WorkerContext<P>): Promise<JobResult>;
  /** Polled periodically; while false the type stops pulling jobs. @default always healthy */
  healthCheck?(): Promise<boolean> | boolean;
}

/**
 * The plain form: a function of the payload. Returning a value is success
 * (the value is kept as the job's result); throwing is a failed attempt.
 */
export function defineWorker<P>(
  type: string,
  handler: (payload: P, ctx: WorkerContext<P>) => Promise<unknown> | unknown,
  options: WorkerTypeOptions<P> & { healthCheck?: () => Promise<boolean> | boolean } = {},
): Worker<P> {
  if (options.isolation)
    throw new ConfigError(
      'isolation',
      'an isolated handler is a module, not a closure: use defineIsolatedWorker',
    );
  return {
    ...options,
    workerType: type,
    // Not an async method: one suspended frame less per running job. A
    // handler that throws synchronously still yields a rejected promise.
    processJob(job, ctx) {
      try {
        return Promise.resolve(handler(job.payload, ctx)).then(JobResult.success);
      } catch (err) {
        return Promise.reject(err as Error);
      }
    },
  };
}

/**
 * The handler of an isolated worker type: the default export (or the export
 * `processJob`) of its module. It gets the job and a `WorkerContext` whose
 * calls reach the worker across the boundary. Return a `JobResult` to steer
 * the outcome; any other value (or `undefined`) is success, kept as the job's
 * result. Values and errors are structured-cloned; `NonRetryableError`,
 * `RetryAfterError` and `DeferError` keep their meaning.
 */
export type IsolatedHandler<P = unknown> = (job: Job<P>, ctx: WorkerContext<P>) => unknown;

/** Options of `defineIsolatedWorker`: the type's knobs, the isolation mode and Node options. */
export type IsolatedWorkerOptions<P = unknown> = Omit<WorkerTypeOptions<P>, 'isolation'> & {
  /** A worker thread or a child process. @default 'thread' */
  mode?: IsolationMode;
  /** Node options of the thread or process (see `IsolationOptions.execArgv`). */
  execArgv?: string[];
  /** Polled periodically in the worker; while false the type stops pulling jobs. */
  healthCheck?: () => Promise<boolean> | boolean;
};

/**
 * A worker type whose handler runs in a worker thread or child process, one
 * per attempt. `module` (an absolute path or `file:` URL, e.g.
 * `new URL('./resize.js', import.meta.url)`) exports an `IsolatedHandler` as
 * its default or as `processJob`. Throws a `ConfigError` for bad options or
 * a module that does not exist.
 *
 * @example
 * ```ts
 * export const resize = defineIsolatedWorker<ResizePayload>(
 *   'resize', new URL('./resize-handler.js', import.meta.url),
 *   { mode: 'thread', concurrency: 2, timeoutMs: 30_000 },
 * );
 * ```
 */
export function defineIsolatedWorker<P>(
  type: string,
  module: string | URL,
  options: IsolatedWorkerOptions<P> = {},
): Worker<P> {
  const { mode = 'thread', execArgv, ...rest } = options;
  const isolation: IsolationOptions = { mode, module, ...(execArgv ? { execArgv } : {}) };
  compileIsolation(isolation);
  return {
    ...rest,
    isolation,
    workerType: type,
    processJob: () =>
      Promise.reject(
        new Error(`${type} runs isolated: its handler is run by a WorkerManager, not processJob`),
      ),
  };
}

/** Thrown by a handler: the job is dead at once, whatever its retry budget. */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

/** Thrown by a handler: retry this job after `delayMs` instead of the backoff. */
export class RetryAfterError extends Error {
  constructor(
    /** How long until the retry, ms, instead of the backoff delay; the attempt still counts against `maxRetries`. */
    readonly delayMs: number,
    message = `retry after ${delayMs} ms`,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RetryAfterError';
  }
}

/**
 * Thrown by the runtime (or a handler) when a job cannot run now for reasons
 * that are not its fault (an open circuit breaker): it is put back after
 * `delayMs` without using an attempt.
 */
export class DeferError extends Error {
  constructor(
    /** How long until the job is offered again, ms. */
    readonly delayMs: number,
    /** Why the job cannot run now; carried by its `deferred` event. */
    readonly reason: string,
  ) {
    super(`deferred for ${delayMs} ms: ${reason}`);
    this.name = 'DeferError';
  }
}

/** An attempt ran past its timeout. */
export class JobTimeoutError extends Error {
  constructor(
    /** The per-attempt timeout that ran out, ms. */
    readonly timeoutMs: number,
  ) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = 'JobTimeoutError';
  }
}
