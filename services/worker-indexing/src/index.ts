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
  SearchRequest,
  UsageRequest,
  SearchValidationError,
  compileSearch,
  compileUsage,
  encodeCursor,
  decodeCursor,
  DEFAULT_SEARCH_LIMIT,
  MAX_SEARCH_LIMIT,
} from './search-request.js';
export type { ApiError, ApiErrorReply } from './search-request.js';
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
