/**
 * @rfw/worker/internal: what the other packages of this repository need beyond
 * the public entry point (option compilation, metrics, node presence, the
 * unroutable-job sweeper). No semver promise. Everything of `@rfw/worker` is
 * re-exported here too.
 */
// The curated public entry, whole: one import serves a sibling package.
export * from './index.js';
export { compileWorkerOptions } from './worker-options.js';
export type { CompiledWorkerOptions } from './worker-options.js';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export { WorkerMetrics } from './metrics.js';
export { liveNodes, openNodesBucket, RUNTIME_VERSION } from './presence.js';
export { sweepUnroutable, UNROUTABLE_TYPE } from './unroutable.js';
