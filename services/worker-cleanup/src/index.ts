/**
 * @rfw/service-worker-cleanup: the `cleanup` worker (lifecycle expiry, stale
 * temp files, abandoned partial uploads, old job records).
 *
 * @example
 * ```ts
 * const rules = parseLifecycleRules([{ bucket: 'logs', prefix: 'tmp/', maxAgeMs: 86_400_000 }]);
 * manager.register(createCleanupWorker({ topology, queue, core: manager.core, rules }));
 * await queue.schedule('cleanup', { kind: 'lifecycle', dryRun: true });
 * ```
 */
export {
  createCleanupWorker,
  DEFAULT_TEMP_MAX_AGE_MS,
  DEFAULT_JOB_RETENTION_MS,
} from './cleanup-worker.js';
export type { CleanupWorkerOptions } from './cleanup-worker.js';
export { CleanupReason, SkipReason, MAX_ITEMS } from './cleanup-report.js';
export type { CleanupResult, CleanupItem } from './cleanup-report.js';
export {
  LifecycleRule,
  LifecycleRules,
  parseLifecycleRules,
  loadLifecycleRules,
  expiryTargets,
} from './lifecycle-rules.js';
export type { ExpiryTarget } from './lifecycle-rules.js';
export { ReplicationBacklog } from './replication-backlog.js';
export type { BacklogSnapshot } from './replication-backlog.js';
export { CANARY_PREFIX } from './lifecycle-expiry.js';
export { CleanupEnv, startCleanupService } from './service.js';
