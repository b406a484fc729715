/**
 * Options, checkpoint and result types of the healing worker, and the
 * per-job environment shared by the object and sweep paths.
 */
import type { KV } from '@nats-io/kv';
import type { JobQueue } from '@rfw/core';
import type { Topology } from '@rfw/storage';
import type { HealingPayload } from '@rfw/storage-jobs';
import type { WorkerContext } from '@rfw/worker';
import type { Bandwidth } from '@rfw/storage-sync';
import type { HealEnv } from './heal-object.js';
import type { HealingMetrics } from './metrics.js';
import type { HealIssue, HealSummary } from './summary.js';

/** Options of `createHealingWorker`. */
export interface HealingWorkerOptions {
  topology: Topology;
  /** The control KV bucket, for checkpoints. */
  control: KV;
  /** Used to tell the indexer about repaired and removed objects; none: no notices. */
  queue?: JobQueue;
  metrics?: HealingMetrics;
  /** Shared bandwidth limit of repairs; none: unlimited. */
  bandwidth?: Bandwidth;
  /** Objects healed at once within one job. @default 8 */
  objectConcurrency?: number;
  /** Keys listed per node per page (one checkpoint per page). @default 500 */
  pageSize?: number;
  /** Pause between pages, ms. @default 0 */
  pauseMs?: number;
  /** How long a job waits when the node or object it needs is unreachable, ms. @default 5000 */
  deferMs?: number;
  /** Healing jobs at once in this instance. @default 2 */
  concurrency?: number;
}

/** What a sweep keeps between attempts. */
export interface HealingCheckpoint {
  buckets: string[];
  bucketIndex: number;
  /** Last key fully handled in `buckets[bucketIndex]`. */
  after?: string;
  /** Keys of the next page already handled when the previous attempt was interrupted. */
  pageDone?: string[];
  /** Objects in scope, counted before the sweep. */
  total?: number;
  summary: HealSummary;
  issues: HealIssue[];
  issuesDropped: number;
  skippedBuckets: string[];
  startedAt: number;
}

/** The result of a healing job. */
export interface HealingResult extends HealSummary {
  scope: HealingPayload['scope'];
  bucket?: string;
  key?: string;
  prefix?: string;
  node?: string;
  /** Objects in scope (sweeps). */
  total?: number;
  /** Unhealthy replicas, with what was done (at most 1000, or what fits in 256 KiB). */
  issues: HealIssue[];
  /** Issues counted but not listed. */
  issuesDropped: number;
  /** Buckets a node sweep skipped: not placed by the topology. */
  skippedBuckets?: string[];
  /** Nodes that could not be listed during the sweep (their replicas count as unavailable). */
  unlisted?: string[];
  /** The checkpoint this attempt resumed from: bucket, last key done, objects done before. */
  resumedFrom?: { bucket: string; after?: string; scanned: number };
  durationMs: number;
}

export function healEnv(
  p: HealingPayload,
  ctx: WorkerContext<HealingPayload>,
  o: HealingWorkerOptions,
): HealEnv {
  return {
    topology: o.topology,
    guard: (node, fn) => ctx.guard(node, fn),
    signal: ctx.signal,
    logger: ctx.logger,
    deep: p.deep,
    dryRun: p.dryRun,
    removeDangling: p.removeDangling,
    ...(p.scope === 'node' && p.node !== undefined ? { only: p.node } : {}),
    bandwidth: o.bandwidth,
    queue: o.queue,
    metrics: o.metrics,
  };
}

export const scopeFields = (p: HealingPayload) => ({
  scope: p.scope,
  ...(p.bucket !== undefined ? { bucket: p.bucket } : {}),
  ...(p.key !== undefined ? { key: p.key } : {}),
  ...(p.prefix !== undefined ? { prefix: p.prefix } : {}),
  ...(p.node !== undefined ? { node: p.node } : {}),
});
