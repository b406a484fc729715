/**
 * @rfw/worker: the worker runtime. Define a worker type with `defineWorker`,
 * run it with a `WorkerManager` (or a whole service with `runWorkerService`),
 * and steer a job from its handler with `NonRetryableError`,
 * `RetryAfterError` and `DeferError`.
 *
 * What other packages of this repository need beyond this lives in
 * `@rfw/worker/internal`, which has no semver promise.
 *
 * @example
 * ```ts
 * import { WorkerManager, defineWorker } from '@rfw/worker';
 * import { z } from 'zod';
 *
 * const manager = await WorkerManager.create({ workerId: 'worker-1', maxConcurrentJobs: 10 });
 * manager.register(
 *   defineWorker('email', async (p: { to: string }, ctx) => {
 *     ctx.logger.info({ to: p.to }, 'sending');
 *     return { sent: true };
 *   }, { schema: z.object({ to: z.string().email() }) }),
 * );
 * await manager.start();
 * process.once('SIGTERM', () => void manager.shutdown());
 * ```
 */
export { WorkerManager } from './worker-manager.js';
export type { ManagerState, ManagerSnapshot } from './worker-manager.js';
export type { WorkerManagerOptions, BreakerOptions } from './worker-options.js';
export {
  JobResult,
  defineWorker,
  NonRetryableError,
  RetryAfterError,
  DeferError,
  JobTimeoutError,
  defineIsolatedWorker,
} from './worker.js';
export type {
  Worker,
  WorkerTypeOptions,
  PayloadSchema,
  IsolatedHandler,
  IsolatedWorkerOptions,
} from './worker.js';
export type { IsolationOptions, IsolationMode } from './isolation/options.js';
export type { WorkerContext, ProgressUpdate } from './worker-context.js';
export type { BackoffOptions } from './backoff.js';
export { AbortReason } from './abort-reasons.js';
export { runWorkerService, WorkerEnv, parseEnv } from './service.js';
export type { WorkerServiceOptions } from './service.js';
