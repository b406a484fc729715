/**
 * The `cleanup` worker: runs the passes a payload asks for (lifecycle expiry,
 * temp files, partial uploads, job records) and reports what it deleted.
 */
import type { CoreContext, JobQueue } from '@rfw/core/internal';
import { CleanupPayload, StorageJobType, notifyIndexer } from '@rfw/storage-jobs';
import type { ObjectInfo, ObjectStore, Topology } from '@rfw/storage';
import { JobResult, NonRetryableError, type Worker } from '@rfw/worker';
import type { Registry } from 'prom-client';
import { CleanupMetrics, CleanupReport, type CleanupResult } from './cleanup-report.js';
import { cleanPartialUploads, cleanTempFiles } from './file-maintenance.js';
import { purgeJobRecords } from './job-retention.js';
import { expireOnNode } from './lifecycle-expiry.js';
import { expiryTargets, type LifecycleRule } from './lifecycle-rules.js';
import { ReplicationBacklog, type BacklogSnapshot } from './replication-backlog.js';

/** Options of {@link createCleanupWorker}. */
export interface CleanupWorkerOptions {
  topology: Topology;
  /** For `notifyIndexer` after each delete. */
  queue: JobQueue;
  /** Streams and job records of the installation. */
  core: Pick<CoreContext, 'records' | 'jsm' | 'names'>;
  rules: readonly LifecycleRule[];
  /** Age past which temp files, partial uploads and orphan data are removed, ms. @default 24 h */
  tempMaxAgeMs?: number;
  /** Finished job records older than this are purged, ms. @default 7 days */
  jobRetentionMs?: number;
  /** Also purge job events older than the retention. @default false */
  purgeEvents?: boolean;
  /** Objects deleted per batch (one replication check per batch). @default 100 */
  batchSize?: number;
  /** Parallel deletes in a batch. @default 8 */
  deleteConcurrency?: number;
  /** How long a replication-backlog snapshot is reused, ms. @default 2000 */
  backlogMaxAgeMs?: number;
  registry?: Registry;
  /** Test hook: called with each lifecycle batch after selection, before deleting it. */
  beforeDelete?: (node: string, batch: readonly ObjectInfo[]) => Promise<void> | void;
  /** Clock, ms since the epoch. @default Date.now */
  now?: () => number;
}

export const DEFAULT_TEMP_MAX_AGE_MS = 24 * 3600_000;
export const DEFAULT_JOB_RETENTION_MS = 7 * 24 * 3600_000;

/** Builds the `cleanup` worker. */
export function createCleanupWorker(o: CleanupWorkerOptions): Worker<CleanupPayload> {
  const metrics = new CleanupMetrics(o.registry);
  const backlog = new ReplicationBacklog(o.core);
  const now = o.now ?? Date.now;

  function nodesFor(node: string | undefined): ObjectStore[] {
    if (node === undefined) return [...o.topology.nodes.values()];
    const store = o.topology.nodes.get(node);
    if (!store) throw new NonRetryableError(`node ${node} is not in the topology`);
    return [store];
  }

  async function bucketsOf(nodes: ObjectStore[], report: CleanupReport): Promise<string[]> {
    const names = new Set<string>();
    for (const n of nodes) {
      try {
        for (const b of await n.listBuckets()) names.add(b.name);
      } catch (err) {
        report.error('node', 'list buckets', err, n.id);
      }
    }
    return [...names].sort();
  }

  return {
    workerType: StorageJobType.Cleanup,
    schema: CleanupPayload,
    async processJob(job, ctx) {
      const p = job.payload;
      const report = new CleanupReport(p.dryRun, metrics, (name, v) => ctx.updateMetrics(name, v));
      const nodes = nodesFor(p.node);
      const all = p.kind === 'all';
      const progress = (message: string): void => ctx.progress({ done: report.total, message });

      if (all || p.kind === 'lifecycle') {
        let snapshot: BacklogSnapshot | undefined;
        const deps = {
          report,
          dryRun: p.dryRun,
          batchSize: Math.max(1, o.batchSize ?? 100),
          concurrency: Math.max(1, o.deleteConcurrency ?? 8),
          signal: ctx.signal,
          now,
          async backlog() {
            if (!snapshot || Date.now() - snapshot.takenAt > (o.backlogMaxAgeMs ?? 2000))
              snapshot = await backlog.snapshot();
            return snapshot;
          },
          async onDeleted(node: string, info: ObjectInfo) {
            try {
              await notifyIndexer(o.queue, {
                op: 'delete',
                bucket: info.bucket,
                key: info.key,
                node,
                versionId: info.versionId,
              });
            } catch (err) {
              report.error('notify-indexer', `${info.bucket}/${info.key}`, err, node);
            }
          },
          beforeDelete: o.beforeDelete,
          progress,
        };
        const targets = expiryTargets(
          o.rules,
          p,
          p.maxAgeMs !== undefined && p.bucket === undefined ? await bucketsOf(nodes, report) : [],
        );
        for (const store of nodes) {
          for (const target of targets) await expireOnNode(deps, store, target);
        }
      }
      const maintenance = {
        report,
        dryRun: p.dryRun,
        maxAgeMs: o.tempMaxAgeMs ?? DEFAULT_TEMP_MAX_AGE_MS,
        signal: ctx.signal,
      };
      if (all || p.kind === 'temp-files') {
        await cleanTempFiles(maintenance, nodes);
      }
      if (all || p.kind === 'partial-uploads') {
        for (const store of nodes) await cleanPartialUploads(maintenance, store);
      }
      // Job records belong to the installation, not to a node: a node-scoped job leaves them.
      if ((all && p.node === undefined) || p.kind === 'job-records') {
        await purgeJobRecords({
          core: o.core,
          report,
          dryRun: p.dryRun,
          retentionMs: o.jobRetentionMs ?? DEFAULT_JOB_RETENTION_MS,
          purgeEvents: o.purgeEvents ?? false,
          signal: ctx.signal,
          now,
          progress,
        });
      }
      const result: CleanupResult = report.finish();
      ctx.logger.info(
        {
          dryRun: result.dryRun,
          deleted: result.deleted,
          skipped: result.skipped,
          errors: result.errors,
        },
        'cleanup finished',
      );
      return JobResult.success(result);
    },
    async healthCheck() {
      // Healthy while any node answers: cleanup of the others (and of job records) can go on.
      if (o.topology.nodes.size === 0) return true;
      const pings = await Promise.allSettled([...o.topology.nodes.values()].map((n) => n.ping()));
      return pings.some((r) => r.status === 'fulfilled');
    },
  };
}
