/**
 * @rfw/service-worker-healing: the `healing` worker. Run as a service with
 * `node services/worker-healing/dist/main.js` (env: TOPOLOGY_FILE, NATS_URL, ...),
 * or embed the worker:
 *
 * @example
 * ```ts
 * const topology = await loadTopologyFile('topology.json');
 * const manager = await WorkerManager.create({ workerId: 'heal-1' });
 * manager.register(createHealingWorker({ topology, control: manager.core.control }));
 * await manager.start();
 * await queue.schedule('healing', { scope: 'bucket', bucket: 'photos', deep: true }, { priority: 'high' });
 * // result: { scanned, healthy, healed, failed, bitrot, missing, outdated, dangling, bytesHealed, dryRun, issues, ... }
 * ```
 */
export { createHealingWorker } from './healing-worker.js';
export type { HealingWorkerOptions, HealingResult, HealingCheckpoint } from './healing-worker.js';
export { healObject } from './heal-object.js';
export type { HealEnv } from './heal-object.js';
export { judge, ReplicaState } from './judge.js';
export type { ReplicaScan, ReplicaReport, Verdict } from './judge.js';
export { emptySummary, MAX_ISSUES } from './summary.js';
export type { HealSummary, HealIssue, HealAction } from './summary.js';
export { healingSchema } from './schema.js';
export { HealingMetrics } from './metrics.js';
export { HealingEnv, startHealingService } from './service.js';
