/**
 * Lifecycle expiry: list each node's objects under the applicable rules,
 * select those older than the rule's age, and delete them in batches, each
 * with a conditional delete on the version and mtime seen at selection time,
 * so an object rewritten in between is never deleted.
 */
import {
  PreconditionFailedError,
  StorageUnavailableError,
  type ObjectInfo,
  type ObjectStore,
} from '@rfw/storage';
import type { ExpiryTarget } from './lifecycle-rules.js';
import type { BacklogSnapshot } from './replication-backlog.js';
import { SkipReason, type CleanupReport } from './cleanup-report.js';

/** Key prefix of the metrics worker's canary objects: never expired here (they clean up after themselves). */
export const CANARY_PREFIX = '.rfw-canary/';

/** What the expiry needs from its surroundings. */
export interface ExpiryDeps {
  report: CleanupReport;
  dryRun: boolean;
  batchSize: number;
  /** Parallel deletes within a batch. */
  concurrency: number;
  signal: AbortSignal;
  now: () => number;
  /** A fresh view of replication in flight (called once per batch). */
  backlog: () => Promise<BacklogSnapshot>;
  /** Called after each real delete. */
  onDeleted: (node: string, info: ObjectInfo) => Promise<void>;
  /** Called with each batch after selection, before any delete (tests use it to race a write). */
  beforeDelete?: (node: string, batch: readonly ObjectInfo[]) => Promise<void> | void;
  progress: (message: string) => void;
}

async function runLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function deleteBatch(
  deps: ExpiryDeps,
  store: ObjectStore,
  target: ExpiryTarget,
  batch: ObjectInfo[],
): Promise<void> {
  if (deps.signal.aborted)
    throw deps.signal.reason instanceof Error ? deps.signal.reason : new Error('aborted');
  await deps.beforeDelete?.(store.id, batch);
  const backlog = await deps.backlog();
  await runLimited(batch, deps.concurrency, async (o) => {
    if (backlog.has(o.bucket, o.key)) {
      deps.report.skipped(SkipReason.ReplicationPending);
      return;
    }
    const item = {
      reason: target.reason,
      node: store.id,
      bucket: o.bucket,
      key: o.key,
      size: o.size,
      mtime: o.mtime,
    };
    if (deps.dryRun) {
      deps.report.deleted(item);
      return;
    }
    try {
      const deleted = await store.delete(o.bucket, o.key, {
        ifVersionId: o.versionId,
        ifMtime: o.mtime,
      });
      if (!deleted) {
        deps.report.skipped(SkipReason.Gone);
        return;
      }
      deps.report.deleted(item);
      await deps.onDeleted(store.id, o);
    } catch (err) {
      if (err instanceof PreconditionFailedError) {
        deps.report.skipped(SkipReason.Modified);
        return;
      }
      if (err instanceof StorageUnavailableError) throw err;
      deps.report.error('delete', `${o.bucket}/${o.key}`, err, store.id);
    }
  });
}

/**
 * Expires one target on one node. A node that becomes unavailable ends its pass (reported as an
 * error); other nodes go on.
 */
export async function expireOnNode(
  deps: ExpiryDeps,
  store: ObjectStore,
  target: ExpiryTarget,
): Promise<void> {
  const cutoff = deps.now() - target.maxAgeMs;
  let cursor: string | undefined;
  let batch: ObjectInfo[] = [];
  let listed = 0;
  try {
    do {
      const page = await store.list({ bucket: target.bucket, prefix: target.prefix, cursor });
      listed += page.objects.length;
      for (const o of page.objects) {
        if (o.mtime >= cutoff || o.key.startsWith(CANARY_PREFIX)) continue;
        batch.push(o);
        if (batch.length >= deps.batchSize) {
          await deleteBatch(deps, store, target, batch);
          batch = [];
          deps.progress(`${store.id}/${target.bucket}: ${listed} objects checked`);
        }
      }
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    if (batch.length > 0) await deleteBatch(deps, store, target, batch);
  } catch (err) {
    if (
      err instanceof StorageUnavailableError ||
      (err as { name?: string })?.name === 'BucketNotFoundError'
    ) {
      if ((err as { name?: string }).name !== 'BucketNotFoundError') {
        deps.report.error(
          'node',
          `${target.bucket}${target.prefix ? `/${target.prefix}` : ''}`,
          err,
          store.id,
        );
      }
      return;
    }
    throw err;
  }
}
