/**
 * @rfw/service-worker-indexing: the `indexing` worker, its index stores
 * (SQLite with FTS5, PostgreSQL) and the search/usage APIs.
 *
 * @example
 * ```ts
 * const index = new SqliteIndexStore('./data/index.sqlite');
 * await index.init();
 * manager.register(createIndexingWorker({ topology, index }));
 * startSearchApi({ nc, names: new Names('rfw'), index, logger });
 * ```
 */
export { createIndexingWorker } from './indexing-worker.js';
export type { IndexingWorkerOptions, ScanOutput, ObjectOutput } from './indexing-worker.js';
export { SqliteIndexStore } from './sqlite-index.js';
export { PostgresIndexStore } from './postgres-index.js';
export { loadPg } from './load-pg.js';
export type { PostgresIndexOptions } from './postgres-index.js';
export { startSearchApi, encodeSearchReply } from './search-api.js';
export type { SearchApiOptions, SearchReply, UsageReply } from './search-api.js';
export {
  SearchValidationError,
  compileSearch,
  compileUsage,
  encodeCursor,
  decodeCursor,
} from './search-request.js';
export {
  SearchRequest,
  UsageRequest,
  DEFAULT_SEARCH_LIMIT,
  MAX_SEARCH_LIMIT,
} from '@rfw/storage-jobs';
export type { ApiError, ApiErrorReply } from '@rfw/storage-jobs';
export {
  CANARY_PREFIX,
  SIZE_BINS,
  tokenize,
  entryTokens,
  matchesQuery,
  toEntry,
  sizeBin,
  emptyHistogram,
} from './index-types.js';
export type {
  IndexEntry,
  IndexStore,
  SearchHit,
  SearchQuery,
  SearchPage,
  SizeBin,
  UsageTotals,
  UsageQuery,
  UsageReport,
  ScanCheckpoint,
  ScanPage,
} from './index-types.js';
export { MergedLister, headNewest, isNewer } from './object-source.js';
export { IndexingEnv, openIndexStore, startIndexingService } from './service.js';
