import { createHash } from 'node:crypto';
import type { JobQueue } from '@rfw/core';
import { StorageJobType } from './payloads.js';

/**
 * Tell the indexer that an object changed. Writers in this project (the
 * replication, healing and cleanup workers, the demo loader) call it after a
 * put or a delete. The job id is derived from the change (operation, node,
 * bucket, key and version), so repeated notices of the same change collapse
 * into one job; a change without a version gets a fresh id.
 */
export async function notifyIndexer(
  queue: JobQueue,
  change: { op: 'put' | 'delete'; bucket: string; key: string; node?: string; versionId?: string },
): Promise<string> {
  const id =
    change.versionId === undefined
      ? undefined
      : `idx-${createHash('sha256')
          .update(
            [change.op, change.node ?? '', change.bucket, change.key, change.versionId].join(
              '\u0000',
            ),
          )
          .digest('hex')
          .slice(0, 40)}`;
  return queue.schedule(
    StorageJobType.Indexing,
    {
      kind: 'object',
      op: change.op,
      bucket: change.bucket,
      key: change.key,
      ...(change.node ? { node: change.node } : {}),
    },
    { priority: 'low', ...(id ? { id } : {}) },
  );
}
