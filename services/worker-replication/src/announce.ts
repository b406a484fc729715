/**
 * Tells the indexer about a replica written by replication or a resync. A
 * notice that cannot be sent is logged, not thrown: the copy stands, and the
 * indexer's next scan of the bucket finds it.
 */
import type { JobQueue, Logger } from '@rfw/core';
import { notifyIndexer } from '@rfw/storage-jobs';

/** The replica that was written. */
export interface WrittenReplica {
  bucket: string;
  key: string;
  node: string;
  versionId: string;
}

/** Schedules the indexer's `put` notice of `replica`; no queue: nothing. */
export async function announceCopy(
  queue: JobQueue | undefined,
  log: Logger,
  replica: WrittenReplica,
): Promise<void> {
  if (!queue) return;
  try {
    await notifyIndexer(queue, { op: 'put', ...replica });
  } catch (err) {
    log.warn({ err, node: replica.node }, 'could not notify the indexer');
  }
}
