/**
 * The `indexing` worker: full scans of a bucket with a checkpointed cursor,
 * and incremental updates of one object.
 */
import type { Job } from '@rfw/core';
import { IndexingPayload, StorageJobType } from '@rfw/storage-jobs';
import { InvalidBucketError, InvalidKeyError, type ObjectStore, type Topology } from '@rfw/storage';
import {
  JobResult,
  NonRetryableError,
  RetryAfterError,
  type Worker,
  type WorkerContext,
} from '@rfw/worker';
import { Counter, Gauge, type Registry } from 'prom-client';
import { CANARY_PREFIX, toEntry, type IndexStore, type ScanCheckpoint } from './index-types.js';
import { MergedLister, headNewest } from './object-source.js';

/** Options of {@link createIndexingWorker}. */
export interface IndexingWorkerOptions {
  topology: Topology;
  index: IndexStore;
  /** Keys listed per node per scan page (1..1000). @default 500 */
  scanPageSize?: number;
  /** Pause between scan pages, ms, to spare the disks of a busy node. @default 0 */
  scanPauseMs?: number;
  /** Registry for the worker's own metrics. */
  registry?: Registry;
  /** Jobs running at once in this instance. @default the manager's */
  concurrency?: number;
}

/** The job result of a scan. */
export interface ScanOutput {
  kind: 'scan';
  bucket: string;
  node: string;
  indexed: number;
  removed: number;
  /** Set when the scan continued from a checkpoint left by an earlier attempt. */
  resumedFrom?: string;
  /** Nodes that failed during the scan: entries were added but none removed after that. */
  degraded?: string[];
  durationMs: number;
}

/** The job result of an object update. */
export interface ObjectOutput {
  kind: 'object';
  bucket: string;
  key: string;
  action: 'upserted' | 'removed' | 'absent' | 'ignored';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Builds the `indexing` worker. */
export function createIndexingWorker(o: IndexingWorkerOptions): Worker<IndexingPayload> {
  const pageSize = Math.max(1, Math.min(1000, o.scanPageSize ?? 500));
  const registers = o.registry ? [o.registry] : [];
  const indexed = new Counter({
    name: 'rfw_index_objects_indexed_total',
    help: 'Objects written to the index',
    labelNames: ['source'],
    registers,
  });
  const removedCounter = new Counter({
    name: 'rfw_index_objects_removed_total',
    help: 'Objects removed from the index',
    labelNames: ['source'],
    registers,
  });
  const indexSize = new Gauge({
    name: 'rfw_index_objects',
    help: 'Objects in the index',
    registers,
    async collect() {
      try {
        this.set(await o.index.count());
      } catch {
        // An unreachable index keeps the last value; readiness reports the failure.
      }
    },
  });
  void indexSize;

  function nodesFor(node: string | undefined): ObjectStore[] {
    if (node === undefined) return [...o.topology.nodes.values()];
    const store = o.topology.nodes.get(node);
    if (!store) throw new NonRetryableError(`node ${node} is not in the topology`);
    return [store];
  }

  async function scan(
    p: Extract<IndexingPayload, { kind: 'scan' }>,
    job: Job<IndexingPayload>,
    ctx: WorkerContext<IndexingPayload>,
  ): Promise<ScanOutput> {
    const started = Date.now();
    const nodeKey = p.node ?? '*';
    const lister = new MergedLister(nodesFor(p.node), p.bucket, pageSize);
    const saved = await o.index.getCheckpoint(p.bucket, nodeKey);
    const resume = saved && saved.jobId === job.id ? saved : undefined;
    let cursor = resume?.cursor;
    let count = resume?.indexed ?? 0;
    let removed = resume?.removed ?? 0;
    const startedAt = resume?.startedAt ?? started;
    const degraded: string[] = [];
    if (resume)
      ctx.logger.info(
        { bucket: p.bucket, cursor, indexed: count },
        'resuming scan from checkpoint',
      );
    for (;;) {
      if (ctx.signal.aborted)
        throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('aborted');
      const page = await lister.page(cursor);
      for (const f of page.failed) {
        degraded.push(f.node);
        ctx.logger.warn(
          { node: f.node, err: f.error },
          'node failed during scan; no removals from now on',
        );
      }
      if (lister.nodes.length === 0 && degraded.length > 0) {
        throw new RetryAfterError(10_000, `no node of bucket ${p.bucket} is reachable`);
      }
      const checkpoint: ScanCheckpoint | undefined =
        page.to === undefined
          ? undefined
          : {
              bucket: p.bucket,
              node: nodeKey,
              jobId: job.id,
              cursor: page.to,
              indexed: count + page.objects.length,
              removed,
              startedAt,
              updatedAt: Date.now(),
            };
      const r = await o.index.applyScanPage({
        bucket: p.bucket,
        node: nodeKey,
        jobId: job.id,
        from: cursor,
        to: page.to,
        entries: page.objects.map(toEntry),
        removeMissing: degraded.length === 0,
        checkpoint,
      });
      count += page.objects.length;
      removed += r.removed;
      indexed.inc({ source: 'scan' }, page.objects.length);
      removedCounter.inc({ source: 'scan' }, r.removed);
      ctx.progress({ done: count, message: `indexed ${count} objects of ${p.bucket}` });
      if (page.to === undefined) break;
      cursor = page.to;
      if (o.scanPauseMs) await sleep(o.scanPauseMs, ctx.signal);
    }
    ctx.updateMetrics('objects_indexed', count);
    return {
      kind: 'scan',
      bucket: p.bucket,
      node: nodeKey,
      indexed: count,
      removed,
      ...(resume ? { resumedFrom: resume.cursor } : {}),
      ...(degraded.length ? { degraded } : {}),
      durationMs: Date.now() - started,
    };
  }

  async function update(p: Extract<IndexingPayload, { kind: 'object' }>): Promise<ObjectOutput> {
    const base = { kind: 'object' as const, bucket: p.bucket, key: p.key };
    if (p.key.startsWith(CANARY_PREFIX)) return { ...base, action: 'ignored' };
    // The notice is a hint: whatever its op, the index takes the newest copy any node holds now,
    // so notices arriving out of order or twice still converge.
    const head = await headNewest([...o.topology.nodes.values()], p.bucket, p.key);
    if (head.info) {
      await o.index.upsert(toEntry(head.info));
      indexed.inc({ source: 'update' });
      return { ...base, action: 'upserted' };
    }
    if (head.answered === 0) {
      throw new RetryAfterError(10_000, `no node could be asked about ${p.bucket}/${p.key}`);
    }
    if (head.failed.length > 0 && p.op === 'put') {
      // A put that no reachable node shows: the node that has it may be the one down.
      throw new RetryAfterError(
        10_000,
        `${p.bucket}/${p.key} not found on reachable nodes; ${head.failed.length} unreachable`,
      );
    }
    const existed = await o.index.remove(p.bucket, p.key);
    if (existed) removedCounter.inc({ source: 'update' });
    return { ...base, action: existed ? 'removed' : 'absent' };
  }

  return {
    workerType: StorageJobType.Indexing,
    schema: IndexingPayload,
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
    async processJob(job, ctx) {
      const p = job.payload;
      try {
        const output = p.kind === 'scan' ? await scan(p, job, ctx) : await update(p);
        return JobResult.success(output);
      } catch (err) {
        if (err instanceof InvalidBucketError || err instanceof InvalidKeyError) {
          throw new NonRetryableError(err.message, { cause: err });
        }
        throw err;
      }
    },
    async healthCheck() {
      try {
        await o.index.ping();
        return true;
      } catch {
        return false;
      }
    },
  };
}
