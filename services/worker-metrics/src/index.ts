/**
 * @rfw/service-worker-metrics: the `metrics` worker (capacity, usage, online
 * status and canary latency per storage node), its KV snapshots and gauges.
 *
 * @example
 * ```ts
 * const kv = await ensureBucket(nc, jsm, storageMetricsBucket('rfw'), { history: 1 });
 * manager.register(createMetricsWorker({ topology, kv, workerId: manager.workerId }));
 * await queue.schedule('metrics', {});
 * ```
 */
export { createMetricsWorker, storeReading } from './metrics-worker.js';
export type { MetricsWorkerOptions, MetricsOutput } from './metrics-worker.js';
export { collectNode, CANARY_PREFIX } from './collect.js';
export type { CollectOptions } from './collect.js';
export { SNAPSHOT_SCHEMA, storageMetricsBucket, sampleOf, withHistory } from './snapshot.js';
export type {
  StorageNodeSnapshot,
  NodeReading,
  MetricsSample,
  BucketUsage,
  CanaryResult,
} from './snapshot.js';
export { StorageGauges } from './storage-gauges.js';
export { MetricsEnv, startMetricsService } from './service.js';
