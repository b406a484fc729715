/**
 * @rfw/storage-jobs: job types and payload schemas of the built-in storage
 * workers (replication, replication-resync, healing, cleanup, indexing, metrics).
 *
 * @example
 * ```ts
 * await queue.schedule(StorageJobType.Healing, HealingPayload.parse({ scope: 'bucket', bucket: 'photos', deep: true }), { priority: 'high' });
 * ```
 */
export {
  StorageJobType,
  ReplicationPayload,
  ReplicationResyncPayload,
  HealingPayload,
  CleanupPayload,
  IndexingPayload,
  MetricsPayload,
} from './payloads.js';
export { notifyIndexer } from './index-change.js';
export {
  SearchRequest,
  UsageRequest,
  DEFAULT_SEARCH_LIMIT,
  MAX_SEARCH_LIMIT,
  tokenize,
} from './search-api.js';
export type { ApiError, ApiErrorReply } from './search-api.js';
export { readSweepProgress } from './sweep-progress.js';
export type { SweepProgress } from './sweep-progress.js';
