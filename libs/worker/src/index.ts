/**
 * @rfw/worker: the worker runtime.
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
export { compileWorkerOptions } from './worker-options.js';
export type {
  WorkerManagerOptions,
  CompiledWorkerOptions,
  BreakerOptions,
} from './worker-options.js';
export {
  JobResult,
  defineWorker,
  NonRetryableError,
  RetryAfterError,
  DeferError,
  JobTimeoutError,
} from './worker.js';
export type { Worker, WorkerTypeOptions, PayloadSchema } from './worker.js';
export type { WorkerContext, ProgressUpdate } from './worker-context.js';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { AbortReason } from './abort-reasons.js';
export { WorkerMetrics } from './metrics.js';
export { liveNodes, openNodesBucket, RUNTIME_VERSION } from './presence.js';
export { runWorkerService } from './service.js';
export type { WorkerServiceOptions } from './service.js';
export { WorkerEnv, parseEnv } from './service.js';
export { sweepUnroutable, UNROUTABLE_TYPE } from './unroutable.js';
