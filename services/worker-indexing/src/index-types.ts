/**
 * The index's data model and its query types, shared by the SQLite and
 * PostgreSQL stores, the indexing worker and the search API.
 */
import type { ObjectInfo } from '@rfw/storage';
import { tokenize } from '@rfw/storage-jobs';

export { tokenize };

/** Key prefix of the metrics worker's canary objects: never indexed. */
export const CANARY_PREFIX = '.rfw-canary/';

/** One indexed object: the newest version found on any node. */
export interface IndexEntry {
  bucket: string;
  key: string;
  /** Bytes. */
  size: number;
  contentType: string;
  /** Modification time, ms since the epoch. */
  mtime: number;
  etag: string;
  /** SHA-256 hex (empty for objects written by a foreign S3 client). */
  sha256: string;
  versionId: string;
  /** User metadata, names lower-cased. */
  userMetadata: Record<string, string>;
  /** Object tags, when the store has them (none of the built-in drivers does yet). */
  tags?: Record<string, string>;
}

/** What a search returns per object: `ObjectInfo` without the block checksums. */
export type SearchHit = IndexEntry;

/** A validated search (see `SearchRequest` in `search-request.ts`). */
export interface SearchQuery {
  bucket?: string;
  prefix?: string;
  /** Lower-cased word tokens; every one must be a prefix of a word of the key or a metadata value. */
  textTokens?: string[];
  /** Every pair must be present with exactly this value. */
  metadata?: Record<string, string>;
  /** Inclusive, bytes. */
  minSize?: number;
  /** Inclusive, bytes. */
  maxSize?: number;
  /** Exclusive: mtime > modifiedAfter (ms since the epoch). */
  modifiedAfter?: number;
  /** Exclusive: mtime < modifiedBefore (ms since the epoch). */
  modifiedBefore?: number;
  limit: number;
  /** Resume after this (bucket, key). */
  after?: { bucket: string; key: string };
}

/** A page of search results, ordered by bucket then key (UTF-8 byte order). */
export interface SearchPage {
  results: SearchHit[];
  /** Present when more results may follow: the last (bucket, key) of this page. */
  after?: { bucket: string; key: string };
}

/**
 * Upper bounds (exclusive, bytes) of the size histogram bins; the last bin (`lt: null`)
 * holds everything from 1 GiB up.
 */
export const SIZE_BINS: readonly number[] = [
  1024, 65_536, 1_048_576, 16_777_216, 268_435_456, 1_073_741_824,
];

/** One bin of a size histogram: objects with `previous lt <= size < lt`. */
export interface SizeBin {
  /** Exclusive upper bound in bytes; `null` for the open last bin. */
  lt: number | null;
  objects: number;
}

/** Objects and bytes of a set of objects. */
export interface UsageTotals {
  objects: number;
  bytes: number;
  histogram: SizeBin[];
}

/** A usage query (see `UsageRequest`). */
export interface UsageQuery {
  bucket?: string;
  prefix?: string;
  /** Group by the next path segment after `prefix` (bucket required). */
  delimiter?: string;
  /** Most child prefixes returned, largest first by name order. */
  maxPrefixes: number;
}

/** Usage rollup of the index. */
export interface UsageReport {
  total: UsageTotals;
  buckets: Array<{ bucket: string } & UsageTotals>;
  /** With `delimiter`: one entry per child prefix (`prefix` + segment + delimiter), in key order. */
  prefixes?: Array<{ prefix: string; objects: number; bytes: number }>;
  /** With `delimiter`: objects directly under `prefix` (no further delimiter). */
  direct?: { objects: number; bytes: number };
  /** Set when more child prefixes exist than `maxPrefixes`. */
  prefixesTruncated?: boolean;
}

/** Progress of a full scan, kept in the index store in the same transaction as the page it covers. */
export interface ScanCheckpoint {
  bucket: string;
  /** Node id, or `*` for a scan over every node. */
  node: string;
  /** The job that wrote it: only a redelivery of the same job resumes from it. */
  jobId: string;
  /** Last key processed (every key up to it is reconciled). */
  cursor: string;
  /** Objects indexed so far. */
  indexed: number;
  /** Stale entries removed so far. */
  removed: number;
  /** ms since the epoch. */
  startedAt: number;
  updatedAt: number;
}

/** One page of a scan, applied atomically. */
export interface ScanPage {
  bucket: string;
  node: string;
  jobId: string;
  /** Keys in (from, to] were listed: `from` undefined = from the start, `to` undefined = to the end. */
  from?: string;
  to?: string;
  /** The objects listed in that range. */
  entries: IndexEntry[];
  /** Remove index entries in the range that the listing did not return. */
  removeMissing: boolean;
  /** The checkpoint to write; `undefined` when the scan is complete (the checkpoint is deleted). */
  checkpoint?: ScanCheckpoint;
}

/** Where the index lives. Both implementations behave identically (same tests). */
export interface IndexStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Creates the schema if needed. */
  init(): Promise<void>;
  /** Inserts or replaces one entry. */
  upsert(entry: IndexEntry): Promise<void>;
  /** Removes one entry; `true` when it existed. */
  remove(bucket: string, key: string): Promise<boolean>;
  /** Applies a scan page (upserts, removals, checkpoint) in one transaction; returns entries removed. */
  applyScanPage(page: ScanPage): Promise<{ removed: number }>;
  getCheckpoint(bucket: string, node: string): Promise<ScanCheckpoint | undefined>;
  search(query: SearchQuery): Promise<SearchPage>;
  usage(query: UsageQuery): Promise<UsageReport>;
  /** Number of indexed objects. */
  count(): Promise<number>;
  /** @throws when the store cannot serve queries */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The index view of a stored object. */
export function toEntry(info: ObjectInfo): IndexEntry {
  return {
    bucket: info.bucket,
    key: info.key,
    size: info.size,
    contentType: info.contentType,
    mtime: info.mtime,
    etag: info.etag,
    sha256: info.sha256,
    versionId: info.versionId,
    userMetadata: { ...info.userMetadata },
  };
}

/** The searchable words of an entry: its key and its metadata values, deduplicated. */
export function entryTokens(entry: Pick<IndexEntry, 'key' | 'userMetadata'>): string[] {
  const set = new Set(tokenize(entry.key));
  for (const v of Object.values(entry.userMetadata)) for (const t of tokenize(v)) set.add(t);
  return [...set];
}

/** Index of the histogram bin of `size`. */
export function sizeBin(size: number): number {
  const i = SIZE_BINS.findIndex((b) => size < b);
  return i === -1 ? SIZE_BINS.length : i;
}

/** An empty histogram. */
export function emptyHistogram(): SizeBin[] {
  return [...SIZE_BINS.map((lt) => ({ lt, objects: 0 })), { lt: null, objects: 0 }];
}

/**
 * Whether an entry matches a query, in plain TypeScript: the reference semantics that both
 * SQL stores implement (the tests compare them against it).
 */
export function matchesQuery(e: IndexEntry, q: Omit<SearchQuery, 'limit' | 'after'>): boolean {
  if (q.bucket !== undefined && e.bucket !== q.bucket) return false;
  if (q.prefix !== undefined && !e.key.startsWith(q.prefix)) return false;
  if (q.minSize !== undefined && e.size < q.minSize) return false;
  if (q.maxSize !== undefined && e.size > q.maxSize) return false;
  if (q.modifiedAfter !== undefined && !(e.mtime > q.modifiedAfter)) return false;
  if (q.modifiedBefore !== undefined && !(e.mtime < q.modifiedBefore)) return false;
  for (const [k, v] of Object.entries(q.metadata ?? {})) if (e.userMetadata[k] !== v) return false;
  if (q.textTokens && q.textTokens.length > 0) {
    const words = entryTokens(e);
    for (const t of q.textTokens) if (!words.some((w) => w.startsWith(t))) return false;
  }
  return true;
}
