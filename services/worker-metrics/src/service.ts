/**
 * The storage metrics service: env config -> topology, the snapshots bucket,
 * the `metrics` worker and the storage gauges on `/metrics`.
 */
import { z } from 'zod';
import { ensureBucket } from '@rfw/core/internal';
import { loadTopologyFile } from '@rfw/storage';
import { parseEnv, runWorkerService } from '@rfw/worker';
import { createMetricsWorker } from './metrics-worker.js';
import { storageMetricsBucket } from './snapshot.js';
import { StorageGauges } from './storage-gauges.js';

const int = z.coerce.number().int();

/** Environment variables of the metrics service (beside `WorkerEnv`). */
export const MetricsEnv = z.object({
  TOPOLOGY_FILE: z.string().min(1),
  RFW_PREFIX: z.string().default('rfw'),
  RFW_REPLICAS: int.min(1).max(5).default(1),
  /** Bucket for the canary probe; default the node's first bucket. */
  CANARY_BUCKET: z.string().min(3).max(63).optional(),
  CANARY_BYTES: int
    .min(1)
    .max(16 * 1024 * 1024)
    .default(4096),
  /** Objects counted per bucket at most per run. */
  METRICS_MAX_LIST_OBJECTS: int.min(1).default(100_000),
  /** How long a node's snapshot outlives its last update (a removed node ages out), ms. */
  STORAGE_METRICS_TTL_MS: int.min(60_000).default(24 * 3600_000),
});
export type MetricsEnv = z.infer<typeof MetricsEnv>;

/** Starts the metrics service. @throws ConfigError naming a bad variable */
export async function startMetricsService(env: NodeJS.ProcessEnv = process.env) {
  const cfg = parseEnv(MetricsEnv, env);
  const topology = await loadTopologyFile(cfg.TOPOLOGY_FILE);
  let follower: { stop(): void } | undefined;
  try {
    return await runWorkerService({
      service: 'worker-metrics',
      env,
      workers: async (manager) => {
        const kv = await ensureBucket(
          manager.core.nc,
          manager.core.jsm,
          storageMetricsBucket(cfg.RFW_PREFIX),
          {
            history: 1,
            ttlMs: cfg.STORAGE_METRICS_TTL_MS,
            replicas: cfg.RFW_REPLICAS,
          },
        );
        const gauges = new StorageGauges(manager.metrics.registry);
        follower = await gauges.follow(kv, manager.log);
        return [
          createMetricsWorker({
            topology,
            kv,
            workerId: manager.workerId,
            gauges,
            canaryBucket: cfg.CANARY_BUCKET,
            canaryBytes: cfg.CANARY_BYTES,
            maxListObjects: cfg.METRICS_MAX_LIST_OBJECTS,
          }),
        ];
      },
      onStarted: (manager) => {
        void manager.closed().then(() => topology.close());
        return async () => follower?.stop();
      },
    });
  } catch (err) {
    follower?.stop();
    await topology.close().catch(() => undefined);
    throw err;
  }
}
