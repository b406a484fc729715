/**
 * @rfw/service-worker-replication: the `replication` and `replication-resync`
 * workers. Run as a service with `node services/worker-replication/dist/main.js`
 * (env: TOPOLOGY_FILE, NATS_URL, ...), or embed the workers:
 *
 * @example
 * ```ts
 * const topology = await loadTopologyFile('topology.json');
 * const manager = await WorkerManager.create({ workerId: 'repl-1' });
 * manager.register(createReplicationWorker({ topology, bandwidth: new Bandwidth(100 * 2 ** 20) }));
 * await manager.start();
 * await queue.schedule('replication', { bucket: 'photos', key: 'cat.jpg' });
 * // result: { source: 'n1', targets: { n2: 'copied', n3: 'skipped-identical' }, bytes, ... }
 * ```
 */
export { createReplicationWorker } from './replication-worker.js';
export type {
  ReplicationWorkerOptions,
  ReplicationResult,
  TargetStatus,
} from './replication-worker.js';
export { createResyncWorker, plan as planResync } from './resync-worker.js';
export type { ResyncWorkerOptions, ResyncResult, ResyncCheckpoint } from './resync-worker.js';
export { replicationJobId } from './job-ids.js';
export { targetsFor, placementOrder, replicationSchema } from './plan.js';
export { BacklogLedger } from './backlog.js';
export { ReplicationMetrics } from './metrics.js';
export { ReplicationEnv, startReplicationService } from './service.js';
export { Bandwidth, CopyVerify } from '@rfw/storage-sync';
