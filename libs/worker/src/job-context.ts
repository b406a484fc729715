/**
 * The `WorkerContext` a handler receives: a class, so that its methods live
 * on the prototype instead of eight closures per running job (memory with
 * thousands in flight; see docs/benchmarks.md, finding 8).
 */
import type { ChildEndings, Job, Logger } from '@rfw/core';
import { readChildEndings, sortEndings } from '@rfw/core/internal';
import type { JobAbort } from './abort-reasons.js';
import type { Attempt } from './attempt.js';
import type { ProgressUpdate, WorkerContext } from './worker-context.js';

/** Progress events are throttled to one per this many ms (the last one always goes). */
const PROGRESS_INTERVAL_MS = 200;

export class JobContext implements WorkerContext {
  readonly job: Job;
  readonly jobId: string;
  readonly attempt: number;
  readonly workerId: string;
  // The attempt it belongs to, not a bag of its parts and closures over it:
  // fewer objects per running job.
  readonly #a: Attempt;
  readonly #abort: JobAbort;
  #lastProgress = 0;

  constructor(a: Attempt, job: Job, abort: JobAbort) {
    this.#a = a;
    this.#abort = abort;
    this.job = job;
    this.jobId = job.id;
    this.attempt = job.attempts;
    this.workerId = a.deps.opts.workerId;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get logger(): Logger {
    return this.#a.log();
  }

  updateMetrics(name: string, value: number): void {
    this.#a.deps.metrics.custom.inc({ type: this.#a.type, name }, value);
  }

  setGauge(name: string, value: number): void {
    this.#a.deps.metrics.customGauge.set({ type: this.#a.type, name }, value);
  }

  progress(p: ProgressUpdate): void {
    const now = Date.now();
    const last = p.total !== undefined && p.done >= p.total;
    if (!last && now - this.#lastProgress < PROGRESS_INTERVAL_MS) return;
    this.#lastProgress = now;
    this.#a.event({ state: 'progress', attempt: this.attempt, progress: p });
  }

  heartbeat(): void {
    this.#a.msg.working();
  }

  guard<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#a.deps.breakers.fire(this.#a.type, key, fn);
  }

  async children(): Promise<ChildEndings> {
    if (!this.job.flow) return sortEndings([]);
    return sortEndings((await readChildEndings(this.#a.deps.core, this.jobId)).values());
  }
}
