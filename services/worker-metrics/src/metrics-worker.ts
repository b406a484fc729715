/**
 * The `metrics` worker: measures storage nodes and stores each node's
 * snapshot (with its history rings) in `<prefix>_storage_metrics`.
 */
import type { KV } from '@nats-io/kv';
import { isCasConflict } from '@rfw/core/internal';
import type { Topology } from '@rfw/storage';
import { MetricsPayload, StorageJobType } from '@rfw/storage-jobs';
import { JobResult, NonRetryableError, type Worker } from '@rfw/worker';
import { collectNode, type CollectOptions } from './collect.js';
import { withHistory, type NodeReading, type StorageNodeSnapshot } from './snapshot.js';
import type { StorageGauges } from './storage-gauges.js';

export interface MetricsWorkerOptions {
  topology: Topology;
  /** The `<prefix>_storage_metrics` bucket. */
  kv: KV;
  workerId: string;
  gauges?: StorageGauges;
  canaryBucket?: string;
  canaryBytes?: number;
  maxListObjects?: number;
}

/** The job result. */
export interface MetricsOutput {
  nodes: Array<{ node: string; online: boolean; error?: string }>;
}

/** Writes a reading into the node's snapshot, keeping history; compare-and-set against concurrent writers. */
export async function storeReading(kv: KV, reading: NodeReading): Promise<StorageNodeSnapshot> {
  for (let attempt = 0; ; attempt++) {
    const e = await kv.get(reading.node);
    let previous: StorageNodeSnapshot | undefined;
    if (e && e.operation === 'PUT') {
      try {
        previous = e.json<StorageNodeSnapshot>();
      } catch {
        previous = undefined;
      }
    }
    const snapshot = withHistory(reading, previous);
    const data = JSON.stringify(snapshot);
    try {
      if (e) await kv.update(reading.node, data, e.revision);
      else await kv.create(reading.node, data);
      return snapshot;
    } catch (err) {
      if (!isCasConflict(err) || attempt >= 5) throw err;
    }
  }
}

export function createMetricsWorker(o: MetricsWorkerOptions): Worker<MetricsPayload> {
  return {
    workerType: StorageJobType.Metrics,
    schema: MetricsPayload,
    async processJob(job, ctx) {
      const stores =
        job.payload.node === undefined
          ? [...o.topology.nodes.values()]
          : [o.topology.nodes.get(job.payload.node)];
      if (stores.some((s) => s === undefined))
        throw new NonRetryableError(`node ${job.payload.node} is not in the topology`);
      const opts: CollectOptions = {
        workerId: o.workerId,
        canaryBucket: o.canaryBucket,
        canaryBytes: o.canaryBytes,
        maxListObjects: o.maxListObjects,
        signal: ctx.signal,
      };
      const out: MetricsOutput = { nodes: [] };
      await Promise.all(
        stores.map(async (store) => {
          const reading = await collectNode(store!, opts);
          const snapshot = await storeReading(o.kv, reading);
          o.gauges?.apply(snapshot);
          if (!reading.online)
            ctx.logger.warn({ node: reading.node, error: reading.error }, 'storage node offline');
          out.nodes.push({
            node: reading.node,
            online: reading.online,
            ...(reading.error ? { error: reading.error } : {}),
          });
        }),
      );
      out.nodes.sort((a, b) => (a.node < b.node ? -1 : 1));
      ctx.setGauge('nodes_offline', out.nodes.filter((n) => !n.online).length);
      return JobResult.success(out);
    },
    async healthCheck() {
      // Offline nodes are data, not ill health: this worker needs only its KV bucket.
      try {
        await o.kv.status();
        return true;
      } catch {
        return false;
      }
    },
  };
}
