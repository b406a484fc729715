/**
 * The healing service: env config -> topology and the `healing` worker, run
 * by `runWorkerService` (HTTP `/healthz` `/readyz` `/metrics`, SIGTERM drain).
 */
import { z } from 'zod';
import { JobQueue } from '@rfw/core';
import { loadTopologyFile } from '@rfw/storage';
import { parseEnv, runWorkerService } from '@rfw/worker';
import { anyNodeUp, Bandwidth, BreakerEnv, breakerOptions } from '@rfw/storage-sync';
import { createHealingWorker } from './healing-worker.js';
import { HealingMetrics } from './metrics.js';

const int = z.coerce.number().int();

/** Environment variables of the healing service (beside `WorkerEnv`). */
export const HealingEnv = BreakerEnv.extend({
  /** Topology JSON file (storage nodes and bucket placement). */
  TOPOLOGY_FILE: z.string().min(1),
  RFW_PREFIX: z.string().default('rfw'),
  /** Healing jobs at once in this instance. */
  HEALING_CONCURRENCY: int.min(1).max(64).default(2),
  /** Objects healed at once within one job. */
  HEALING_OBJECT_CONCURRENCY: int.min(1).max(64).default(8),
  /** Keys listed per node per page (one checkpoint per page). */
  HEALING_PAGE_SIZE: int.min(1).max(1000).default(500),
  /** Pause between pages, ms. */
  HEALING_PAUSE_MS: int.min(0).max(60_000).default(0),
  /** Bandwidth limit of repairs in this instance, bytes per second; 0 = unlimited. */
  HEALING_BANDWIDTH_BPS: int.min(0).default(0),
  /** Delay before a job whose node or object is unreachable runs again (no attempt used), ms. */
  HEALING_DEFER_MS: int.min(50).max(3_600_000).default(5000),
});
export type HealingEnv = z.infer<typeof HealingEnv>;

/** Starts the healing service. @throws ConfigError naming a bad variable; TopologyConfigError */
export async function startHealingService(env: NodeJS.ProcessEnv = process.env) {
  const cfg = parseEnv(HealingEnv, env);
  const topology = await loadTopologyFile(cfg.TOPOLOGY_FILE);
  const bandwidth =
    cfg.HEALING_BANDWIDTH_BPS > 0 ? new Bandwidth(cfg.HEALING_BANDWIDTH_BPS) : undefined;
  try {
    return await runWorkerService({
      service: 'worker-healing',
      env,
      manager: { breaker: breakerOptions(cfg) },
      workers: async (manager) => {
        const queue = await JobQueue.connect({
          connection: manager.core.nc,
          prefix: cfg.RFW_PREFIX,
        });
        const worker = createHealingWorker({
          topology,
          control: manager.core.control,
          queue,
          metrics: new HealingMetrics(manager.metrics.registry),
          bandwidth,
          objectConcurrency: cfg.HEALING_OBJECT_CONCURRENCY,
          pageSize: cfg.HEALING_PAGE_SIZE,
          pauseMs: cfg.HEALING_PAUSE_MS,
          deferMs: cfg.HEALING_DEFER_MS,
          concurrency: cfg.HEALING_CONCURRENCY,
        });
        return [{ ...worker, healthCheck: () => anyNodeUp(topology) }];
      },
      onStarted: (manager) => {
        void manager.closed().then(() => topology.close());
      },
    });
  } catch (err) {
    await topology.close();
    throw err;
  }
}
