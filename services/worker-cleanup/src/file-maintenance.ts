/**
 * Stale temp files, abandoned partial uploads and orphaned data files of
 * file-driver nodes (S3 nodes have none of these: configure the bucket's own
 * abort-incomplete-multipart rule there).
 */
import {
  FileObjectStore,
  StorageUnavailableError,
  type ObjectStore,
  type OrphanDataInfo,
  type TempFileInfo,
} from '@rfw/storage';
import { CleanupReason, SkipReason, type CleanupReport } from './cleanup-report.js';

export interface MaintenanceDeps {
  report: CleanupReport;
  dryRun: boolean;
  /** Age past which a temp file, upload or orphan is abandoned, ms. */
  maxAgeMs: number;
  signal: AbortSignal;
}

function checkAbort(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/**
 * What the temp-files pass listed on one node, in the order it lists: the temp area, then the
 * orphan data of each bucket. Listing stops at the first error, kept in `error` together with what
 * was listed before it, so the removals up to that point happen as if listed one by one.
 */
interface TempListing {
  temp?: TempFileInfo[];
  orphans: OrphanDataInfo[][];
  error?: unknown;
}

async function listTempArea(store: FileObjectStore): Promise<TempListing> {
  const listing: TempListing = { orphans: [] };
  try {
    listing.temp = await store.listTempFiles();
    for (const b of await store.listBuckets()) {
      listing.orphans.push(await store.listOrphanData(b.name));
    }
  } catch (err) {
    listing.error = err;
  }
  return listing;
}

/** Nodes whose temp area and buckets are listed at once, ahead of the node being cleaned. */
const LISTING_LANES = 4;

/**
 * Removes temp files older than the threshold, and orphaned data files of every bucket, node by
 * node. The listings (one sequential walk per node) run up to {@link LISTING_LANES} nodes at once,
 * ahead of the removals; the removals and what the report records keep node order.
 */
export async function cleanTempFiles(
  deps: MaintenanceDeps,
  stores: readonly ObjectStore[],
): Promise<void> {
  const files = stores.filter((s): s is FileObjectStore => s instanceof FileObjectStore);
  const listings: Array<Promise<TempListing>> = [];
  const listAhead = (upTo: number): void => {
    for (let i = listings.length; i < Math.min(upTo, files.length); i++) {
      listings.push(listTempArea(files[i] as FileObjectStore));
    }
  };
  try {
    for (const [i, store] of files.entries()) {
      listAhead(i + LISTING_LANES);
      await cleanListed(deps, store, await (listings[i] as Promise<TempListing>));
    }
  } finally {
    // Listings of nodes not reached (an abort, a thrown error) must not reject unobserved.
    await Promise.allSettled(listings);
  }
}

async function cleanListed(
  deps: MaintenanceDeps,
  store: FileObjectStore,
  listing: TempListing,
): Promise<void> {
  try {
    for (const f of listing.temp ?? []) {
      if (f.ageMs <= deps.maxAgeMs) continue;
      checkAbort(deps.signal);
      const item = {
        reason: CleanupReason.TempFile,
        node: store.id,
        name: f.name,
        size: f.size,
        mtime: f.mtime,
      };
      if (deps.dryRun) deps.report.deleted(item);
      else if (await store.removeTempFile(f.name)) deps.report.deleted(item);
      else deps.report.skipped(SkipReason.Gone);
    }
    for (const orphans of listing.orphans) {
      for (const o of orphans) {
        if (o.ageMs <= deps.maxAgeMs) continue;
        checkAbort(deps.signal);
        const item = {
          reason: CleanupReason.OrphanData,
          node: store.id,
          bucket: o.bucket,
          key: o.key,
          name: o.file,
          size: o.size,
        };
        if (deps.dryRun) deps.report.deleted(item);
        // removeOrphanData re-checks that nothing references the file and that it is still old.
        else if (await store.removeOrphanData(o, deps.maxAgeMs)) deps.report.deleted(item);
        else deps.report.skipped(SkipReason.Modified);
      }
    }
    if (listing.error !== undefined) throw listing.error;
  } catch (err) {
    if (!(err instanceof StorageUnavailableError)) throw err;
    deps.report.error('node', 'temp files', err, store.id);
  }
}

/** Aborts partial uploads whose last activity is older than the threshold. */
export async function cleanPartialUploads(
  deps: MaintenanceDeps,
  store: ObjectStore,
): Promise<void> {
  if (!(store instanceof FileObjectStore)) return;
  try {
    const stale = (await store.listPartialUploads()).filter((u) => u.ageMs > deps.maxAgeMs);
    if (stale.length === 0) return;
    // Re-read just before aborting: an upload that received a part since is not abandoned.
    const now = new Map((await store.listPartialUploads()).map((u) => [u.uploadId, u]));
    for (const u of stale) {
      checkAbort(deps.signal);
      const current = now.get(u.uploadId);
      if (!current) {
        deps.report.skipped(SkipReason.Gone);
        continue;
      }
      if (current.lastActivity !== u.lastActivity) {
        deps.report.skipped(SkipReason.Active);
        continue;
      }
      const item = {
        reason: CleanupReason.PartialUpload,
        node: store.id,
        bucket: u.bucket,
        key: u.key,
        name: u.uploadId,
        size: u.bytes,
        mtime: u.lastActivity,
      };
      if (deps.dryRun) deps.report.deleted(item);
      else if (await store.abortPartialUpload(u.uploadId)) deps.report.deleted(item);
      else deps.report.skipped(SkipReason.Gone);
    }
  } catch (err) {
    if (!(err instanceof StorageUnavailableError)) throw err;
    deps.report.error('node', 'partial uploads', err, store.id);
  }
}
