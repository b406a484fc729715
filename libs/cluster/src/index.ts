/**
 * @rfw/cluster: membership, heartbeats and leader election on NATS KV, and
 * the seed's `WorkerCluster`.
 *
 * @example
 * ```ts
 * import { WorkerCluster, LeaderElection } from '@rfw/cluster';
 * import { defineWorker } from '@rfw/worker';
 *
 * const cluster = await WorkerCluster.create({
 *   nodeId: 'worker-node-1',
 *   servers: 'nats://127.0.0.1:4222',
 *   heartbeatInterval: 5_000,
 *   leaderElectionTimeout: 10_000,
 * });
 * cluster.registerWorkerType('cleanup', () => defineWorker('cleanup', async () => 'done'));
 * const events = cluster.events();
 * await cluster.join();
 * for await (const e of events) {
 *   if (e.type === 'node-joined') console.log('joined', e.node.nodeId);
 *   if (e.type === 'node-left') console.log('left', e.node.nodeId, e.reason);
 *   if (e.type === 'leadership-changed') console.log(e.role, 'led by', e.leader);
 * }
 *
 * // One leader per role, with a fencing token:
 * const election = await LeaderElection.create({ connection: nc, role: 'monitor', nodeId: 'm1' });
 * election.onChange((e) => console.log(e.isLeader ? `leading, token ${e.token}` : `led by ${e.leader}`));
 * await election.start();
 * ```
 */
export { WorkerCluster, DEFAULT_ROLE } from './worker-cluster.js';
export type {
  ClusterEvent,
  ClusterState,
  WorkerClusterOptions,
  WorkerFactory,
} from './worker-cluster.js';
export { LeaderElection } from './leader-election.js';
export type { ElectionState, LeaderChange, LeaderElectionOptions } from './leader-election.js';
export { LeaderWatch } from './leader-watch.js';
export type { LeaderWatchOptions, LeadershipChange } from './leader-watch.js';
export { Membership } from './membership.js';
export type { LeaveReason, MembershipEvent, MembershipOptions } from './membership.js';
