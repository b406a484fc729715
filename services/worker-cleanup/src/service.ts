/**
 * The cleanup service: env config -> topology, lifecycle rules and the
 * `cleanup` worker, run by `runWorkerService`.
 */
import { z } from 'zod';
import { JobQueue } from '@rfw/core';
import { loadTopologyFile } from '@rfw/storage';
import { parseEnv, runWorkerService } from '@rfw/worker';
import {
  DEFAULT_JOB_RETENTION_MS,
  DEFAULT_TEMP_MAX_AGE_MS,
  createCleanupWorker,
} from './cleanup-worker.js';
import { loadLifecycleRules } from './lifecycle-rules.js';

const int = z.coerce.number().int();

/** Environment variables of the cleanup service (beside `WorkerEnv`). */
export const CleanupEnv = z.object({
  TOPOLOGY_FILE: z.string().min(1),
  RFW_PREFIX: z.string().default('rfw'),
  /** JSON array of `{ bucket, prefix?, maxAgeMs }`. */
  LIFECYCLE_RULES: z.string().min(1).optional(),
  /** File holding the same JSON. */
  LIFECYCLE_FILE: z.string().min(1).optional(),
  TEMP_MAX_AGE_MS: int.min(1).default(DEFAULT_TEMP_MAX_AGE_MS),
  JOB_RETENTION_MS: int.min(1).default(DEFAULT_JOB_RETENTION_MS),
  CLEANUP_PURGE_EVENTS: z.enum(['true', 'false']).default('false'),
  CLEANUP_BATCH_SIZE: int.min(1).max(10_000).default(100),
  CLEANUP_DELETE_CONCURRENCY: int.min(1).max(256).default(8),
});
export type CleanupEnv = z.infer<typeof CleanupEnv>;

/** Starts the cleanup service. @throws ConfigError naming a bad variable */
export async function startCleanupService(env: NodeJS.ProcessEnv = process.env) {
  const cfg = parseEnv(CleanupEnv, env);
  const rules = await loadLifecycleRules(cfg);
  const topology = await loadTopologyFile(cfg.TOPOLOGY_FILE);
  let queue: JobQueue | undefined;
  try {
    return await runWorkerService({
      service: 'worker-cleanup',
      env,
      workers: async (manager) => {
        queue = await JobQueue.connect({ connection: manager.core.nc, prefix: cfg.RFW_PREFIX });
        return [
          createCleanupWorker({
            topology,
            queue,
            core: manager.core,
            rules,
            tempMaxAgeMs: cfg.TEMP_MAX_AGE_MS,
            jobRetentionMs: cfg.JOB_RETENTION_MS,
            purgeEvents: cfg.CLEANUP_PURGE_EVENTS === 'true',
            batchSize: cfg.CLEANUP_BATCH_SIZE,
            deleteConcurrency: cfg.CLEANUP_DELETE_CONCURRENCY,
            registry: manager.metrics.registry,
          }),
        ];
      },
      onStarted: (manager) => {
        manager.log.info({ rules: rules.length }, 'lifecycle rules loaded');
        void manager.closed().then(() => topology.close());
      },
    });
  } catch (err) {
    await topology.close().catch(() => undefined);
    throw err;
  }
}
