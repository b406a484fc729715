/**
 * The `WorkerContext` a handler receives: a class, so that its methods live
 * on the prototype instead of eight closures per running job (memory with
 * thousands in flight; see docs/benchmarks.md, finding 8).
 */
import type { JsMsg } from '@nats-io/jetstream';
import type { Job, Logger } from '@rfw/core';
import type { JobAbort } from './abort-reasons.js';
import type { Breakers } from './breakers.js';
import type { WorkerMetrics } from './metrics.js';
import type { ProgressUpdate, WorkerContext } from './worker-context.js';

/** Progress events are throttled to one per this many ms (the last one always goes). */
const PROGRESS_INTERVAL_MS = 200;

export interface JobContextParts {
  job: Job;
  workerId: string;
  type: string;
  msg: JsMsg;
  abort: JobAbort;
  metrics: WorkerMetrics;
  breakers: Breakers;
  /** The job's child logger, made on first use. */
  log: () => Logger;
  /** Publish a progress event for this attempt. */
  emitProgress: (p: ProgressUpdate) => void;
}

export class JobContext implements WorkerContext {
  readonly job: Job;
  readonly jobId: string;
  readonly attempt: number;
  readonly workerId: string;
  #parts: JobContextParts;
  #lastProgress = 0;

  constructor(parts: JobContextParts) {
    this.#parts = parts;
    this.job = parts.job;
    this.jobId = parts.job.id;
    this.attempt = parts.job.attempts;
    this.workerId = parts.workerId;
  }

  get signal(): AbortSignal {
    return this.#parts.abort.signal;
  }

  get logger(): Logger {
    return this.#parts.log();
  }

  updateMetrics(name: string, value: number): void {
    this.#parts.metrics.custom.inc({ type: this.#parts.type, name }, value);
  }

  setGauge(name: string, value: number): void {
    this.#parts.metrics.customGauge.set({ type: this.#parts.type, name }, value);
  }

  progress(p: ProgressUpdate): void {
    const now = Date.now();
    const last = p.total !== undefined && p.done >= p.total;
    if (!last && now - this.#lastProgress < PROGRESS_INTERVAL_MS) return;
    this.#lastProgress = now;
    this.#parts.emitProgress(p);
  }

  heartbeat(): void {
    this.#parts.msg.working();
  }

  guard<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#parts.breakers.fire(this.#parts.type, key, fn);
  }
}
