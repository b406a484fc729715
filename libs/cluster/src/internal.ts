/**
 * @rfw/cluster/internal: building blocks the other packages of this
 * repository use beyond the public entry point. No semver promise.
 * Everything of `@rfw/cluster` is re-exported here too.
 */
// The curated public entry, whole: one import serves a sibling package.
export * from './index.js';
export { MISSED_HEARTBEATS, isLive } from './membership.js';
export { Heartbeat } from './heartbeat.js';
export type { HeartbeatOptions } from './heartbeat.js';
export { EventChannel } from './event-channel.js';
export { parseLease, NODE_ID_PATTERN, ROLE_PATTERN } from './lease.js';
export type { LeaseRecord } from './lease.js';
