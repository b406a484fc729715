import type { JobQueue } from '@rfw/core';
import { StorageJobType } from './payloads.js';

/**
 * Tell the indexer that an object changed. Writers in this project (the
 * replication and healing workers, the demo loader) call it after a put or a
 * delete; the job id makes repeated notices of the same change collapse.
 */
export async function notifyIndexer(
  queue: JobQueue,
  change: { op: 'put' | 'delete'; bucket: string; key: string; node?: string; versionId?: string },
): Promise<string> {
  return queue.schedule(
    StorageJobType.Indexing,
    {
      kind: 'object',
      op: change.op,
      bucket: change.bucket,
      key: change.key,
      ...(change.node ? { node: change.node } : {}),
    },
    { priority: 'low' },
  );
}
