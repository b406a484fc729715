/**
 * @rfw/storage-sync: the building blocks the replication
 * and healing workers share: verified object copies (one object to one
 * target, skipping a target that holds it already), a shared bandwidth
 * limit, merged bucket walks, checkpoints, version comparison, and the
 * breaker-aware node call wrapper.
 *
 * @example
 * ```ts
 * const bw = new Bandwidth(50 * 1024 * 1024);
 * const { bytes } = await copyObject({ source, target, bucket, key, expected: await source.head(bucket, key), bandwidth: bw });
 * for await (const page of walkBucket({ stores: [...topology.nodes.values()], bucket: 'photos' })) {
 *   for (const { key, replicas } of page) console.log(key, [...replicas.keys()]);
 * }
 * ```
 */
export { Bandwidth } from './bandwidth.js';
export { copyObject, CopyVerify, CopySourceError, CopyVerificationError } from './copy-object.js';
export type { CopyOptions, CopyResult, SourceFailure } from './copy-object.js';
export { copyToTarget, probeNode } from './copy-to-target.js';
export type {
  CopyFailureKind,
  CopyToTargetOptions,
  NodeProbe,
  TargetOutcome,
} from './copy-to-target.js';
export { walkBucket, countKeys, listOrEmpty } from './bucket-walk.js';
export type { WalkEntry, WalkOptions } from './bucket-walk.js';
export { CheckpointStore } from './checkpoints.js';
export { compareVersions, sameContent, sameVersion, newest } from './versions.js';
export {
  isNodeFault,
  isOpenBreaker,
  isUnavailable,
  isPermanent,
  describeError,
  onNode,
  unguarded,
} from './node-errors.js';
export type { NodeGuard } from './node-errors.js';
export { forEachLimit } from './pool.js';
export { anyNodeUp } from './node-health.js';
export { prefetch } from './prefetch.js';
export { formatDuration } from './format.js';
export { readableSchema, formatIssues } from './readable-schema.js';
export { BreakerEnv, breakerOptions } from './service-env.js';
