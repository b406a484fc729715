/**
 * The replication service: env config -> topology, the `replication` and
 * `replication-resync` workers, the backlog ledger and its gauges, run by
 * `runWorkerService` (HTTP `/healthz` `/readyz` `/metrics`, SIGTERM drain).
 */
import { z } from 'zod';
import { JobQueue, PRIORITIES } from '@rfw/core';
import { loadTopologyFile, type Topology } from '@rfw/storage';
import { StorageJobType } from '@rfw/storage-jobs';
import { parseEnv, runWorkerService, type WorkerManager } from '@rfw/worker';
import { BacklogLedger } from './backlog.js';
import { ReplicationMetrics } from './metrics.js';
import { createReplicationWorker } from './replication-worker.js';
import { createResyncWorker } from './resync-worker.js';
import { Bandwidth } from '@rfw/storage-sync';
import { BreakerEnv, breakerOptions } from '@rfw/storage-sync';

const int = z.coerce.number().int();

/** Environment variables of the replication service (beside `WorkerEnv`). */
export const ReplicationEnv = BreakerEnv.extend({
  /** Topology JSON file (storage nodes and bucket placement). */
  TOPOLOGY_FILE: z.string().min(1),
  RFW_PREFIX: z.string().default('rfw'),
  /** Bandwidth limit of this instance over all transfers, bytes per second; 0 = unlimited. */
  REPLICATION_BANDWIDTH_BPS: int.min(0).default(0),
  /** Replication jobs at once in this instance. Default: MAX_CONCURRENT_JOBS. */
  REPLICATION_CONCURRENCY: int.min(1).max(256).optional(),
  /** `checksum`: compare the SHA-256 computed while writing and head the copy; `deep`: also re-read it. */
  REPLICATION_VERIFY: z.enum(['checksum', 'deep']).default('checksum'),
  /** Delay before a job whose target is unavailable runs again (no attempt used), ms. */
  REPLICATION_DEFER_MS: int.min(50).max(3_600_000).default(5000),
  /** Keys listed per node per resync page (one checkpoint per page). */
  REPLICATION_RESYNC_PAGE_SIZE: int.min(1).max(1000).default(500),
  /** Pause between resync pages, ms. */
  REPLICATION_RESYNC_PAUSE_MS: int.min(0).max(60_000).default(0),
  /** Resync jobs at once in this instance. */
  REPLICATION_RESYNC_CONCURRENCY: int.min(1).max(16).default(1),
  /** Objects a resync copies at once itself; 0: a replication job per lagging object. */
  REPLICATION_RESYNC_COPY_CONCURRENCY: int.min(0).max(64).default(8),
  /** Period of the backlog gauges refresh and ledger pruning, ms. */
  REPLICATION_BACKLOG_INTERVAL_MS: int.min(500).max(3_600_000).default(15_000),
});
export type ReplicationEnv = z.infer<typeof ReplicationEnv>;

/** Sums waiting and in-flight messages of the replication consumers. */
async function queueDepth(manager: WorkerManager): Promise<number> {
  const { jsm, names } = manager.core;
  let total = 0;
  for (const prio of PRIORITIES) {
    try {
      const ci = await jsm.consumers.info(
        names.jobsStream,
        names.consumerName(StorageJobType.Replication, prio),
      );
      total += ci.num_pending + ci.num_ack_pending;
    } catch {
      // consumer not created yet: nothing waits there
    }
  }
  return total;
}

/** Starts the replication service. @throws ConfigError naming a bad variable; TopologyConfigError */
export async function startReplicationService(env: NodeJS.ProcessEnv = process.env) {
  const cfg = parseEnv(ReplicationEnv, env);
  const topology: Topology = await loadTopologyFile(cfg.TOPOLOGY_FILE);
  const bandwidth =
    cfg.REPLICATION_BANDWIDTH_BPS > 0 ? new Bandwidth(cfg.REPLICATION_BANDWIDTH_BPS) : undefined;
  let ledger: BacklogLedger | undefined;
  let metrics: ReplicationMetrics | undefined;
  try {
    return await runWorkerService({
      service: 'worker-replication',
      env,
      manager: { breaker: breakerOptions(cfg) },
      workers: async (manager) => {
        const queue = await JobQueue.connect({
          connection: manager.core.nc,
          prefix: cfg.RFW_PREFIX,
        });
        ledger = await BacklogLedger.open(manager.core.control, manager.log);
        metrics = new ReplicationMetrics(manager.metrics.registry);
        return [
          createReplicationWorker({
            topology,
            queue,
            metrics,
            ledger,
            bandwidth,
            verify: cfg.REPLICATION_VERIFY,
            deferMs: cfg.REPLICATION_DEFER_MS,
            breakerDeferMs: cfg.BREAKER_RESET_MS,
            concurrency: cfg.REPLICATION_CONCURRENCY,
          }),
          createResyncWorker({
            topology,
            queue,
            control: manager.core.control,
            records: manager.core.records,
            ledger,
            metrics,
            pageSize: cfg.REPLICATION_RESYNC_PAGE_SIZE,
            pauseMs: cfg.REPLICATION_RESYNC_PAUSE_MS,
            deferMs: cfg.BREAKER_RESET_MS,
            concurrency: cfg.REPLICATION_RESYNC_CONCURRENCY,
            copyConcurrency: cfg.REPLICATION_RESYNC_COPY_CONCURRENCY,
            bandwidth,
            verify: cfg.REPLICATION_VERIFY,
          }),
        ];
      },
      onStarted: (manager) => {
        const refresh = async (): Promise<void> => {
          if (!ledger || !metrics) return;
          try {
            await ledger.prune(manager.core.records, 60_000);
            const counts = ledger.counts();
            for (const node of topology.nodes.keys())
              metrics.backlog.set({ target: node }, counts.get(node) ?? 0);
            metrics.queueDepth.set(await queueDepth(manager));
          } catch (err) {
            manager.log.warn({ err }, 'backlog refresh failed');
          }
        };
        void refresh();
        const timer = setInterval(() => void refresh(), cfg.REPLICATION_BACKLOG_INTERVAL_MS);
        timer.unref();
        void manager.closed().then(() => topology.close());
        return async () => {
          clearInterval(timer);
          ledger?.close();
        };
      },
    });
  } catch (err) {
    ledger?.close();
    await topology.close();
    throw err;
  }
}
