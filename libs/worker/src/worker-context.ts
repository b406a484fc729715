/** What a handler receives beside its job. */
import type { ChildEndings, Job, Logger } from '@rfw/core';

/** A progress report of a running job. */
export interface ProgressUpdate {
  /** Units done so far (objects, bytes...). */
  done: number;
  /** Units in all, when known. */
  total?: number;
  /** A human-readable note on what the job is doing now. */
  message?: string;
}

/**
 * What a handler receives beside its payload: the job, its attempt, an
 * `AbortSignal`, a logger, metrics, progress and circuit breakers.
 */
export interface WorkerContext<P = unknown> {
  /** The job, as recorded when this attempt started. */
  readonly job: Job<P>;
  /** The job id: use it as the idempotency key of side effects. */
  readonly jobId: string;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  /** The id of the `WorkerManager` running this attempt. */
  readonly workerId: string;
  /** Fires on timeout, cancellation, lost lease and shutdown; `signal.reason` says which. */
  readonly signal: AbortSignal;
  /** A pino child logger carrying the job id, type and attempt. */
  readonly logger: Logger;
  /** Add `value` to the counter `rfw_worker_metric_total{type, name}`. */
  updateMetrics(name: string, value: number): void;
  /** Set the gauge `rfw_worker_gauge{type, name}`. */
  setGauge(name: string, value: number): void;
  /** Report progress: published as an event (throttled) and kept on the job record. */
  progress(update: ProgressUpdate): void;
  /** Tell the broker the job is alive (the runtime also does this on its own). */
  heartbeat(): void;
  /**
   * Run `fn` through the circuit breaker of `key` (e.g. a storage node). When
   * that breaker is open the job is deferred without using an attempt.
   */
  guard<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /**
   * For a flow's parent: how its children ended (results of those that
   * succeeded, failures under `continue`, failures under `ignore`). Empty
   * for a job that is not a flow's parent.
   */
  children(): Promise<ChildEndings>;
}
