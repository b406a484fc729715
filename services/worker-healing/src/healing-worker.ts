/**
 * The `healing` job. Scopes: one object, a key prefix, a bucket, or every
 * object the topology places on one node. A sweep counts its objects first
 * (for progress and an ETA), then walks the buckets across all nodes in key
 * order, healing a page of objects at a time (a few in parallel) and saving a
 * checkpoint after each page in the control KV bucket, so a crash, a timeout
 * or a shutdown resumes where it stopped.
 */
import type { KV } from '@nats-io/kv';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobQueue } from '@rfw/core';
import {
  TopologyConfigError,
  type ListOptions,
  type ListResult,
  type ObjectStore,
  type Topology,
} from '@rfw/storage';
import { StorageJobType, type HealingPayload } from '@rfw/storage-jobs';
import { DeferError, JobResult, type Worker, type WorkerContext } from '@rfw/worker';
import {
  CheckpointStore,
  countKeys,
  describeError,
  forEachLimit,
  formatDuration,
  isUnavailable,
  listOrEmpty,
  onNode,
  walkBucket,
  type Bandwidth,
  type NodeGuard,
} from '@rfw/service-worker-replication/sync';
import { healObject, type HealEnv } from './heal-object.js';
import type { HealingMetrics } from './metrics.js';
import { healingSchema } from './schema.js';
import {
  MAX_ISSUES,
  addSummary,
  emptySummary,
  type HealIssue,
  type HealSummary,
} from './summary.js';
import { fitIssues } from './issues.js';

/** Options of {@link createHealingWorker}. */
export interface HealingWorkerOptions {
  topology: Topology;
  /** The control KV bucket, for checkpoints. */
  control: KV;
  /** Used to tell the indexer about repaired and removed objects; none: no notices. */
  queue?: JobQueue;
  metrics?: HealingMetrics;
  /** Shared bandwidth limit of repairs; none: unlimited. */
  bandwidth?: Bandwidth;
  /** Objects healed at once within one job. @default 4 */
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

export function createHealingWorker(o: HealingWorkerOptions): Worker<HealingPayload> {
  const checkpoints = new CheckpointStore<HealingCheckpoint>(
    o.control,
    `checkpoint.${StorageJobType.Healing}`,
  );
  return {
    workerType: StorageJobType.Healing,
    schema: healingSchema(o.topology),
    concurrency: o.concurrency ?? 2,
    processJob: (job, ctx) => heal(job.payload, ctx, o, checkpoints),
  };
}

function healEnv(
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

async function heal(
  p: HealingPayload,
  ctx: WorkerContext<HealingPayload>,
  o: HealingWorkerOptions,
  checkpoints: CheckpointStore<HealingCheckpoint>,
): Promise<JobResult> {
  if (p.scope === 'object') return healOne(p, ctx, o);
  return sweep(p, ctx, o, checkpoints);
}

const scopeFields = (p: HealingPayload) => ({
  scope: p.scope,
  ...(p.bucket !== undefined ? { bucket: p.bucket } : {}),
  ...(p.key !== undefined ? { key: p.key } : {}),
  ...(p.prefix !== undefined ? { prefix: p.prefix } : {}),
  ...(p.node !== undefined ? { node: p.node } : {}),
});

async function healOne(
  p: HealingPayload,
  ctx: WorkerContext<HealingPayload>,
  o: HealingWorkerOptions,
): Promise<JobResult> {
  const started = performance.now();
  const bucket = p.bucket as string;
  const key = p.key as string;
  const summary = emptySummary(p.dryRun, p.deep);
  const issues: HealIssue[] = [];
  const verdict = await healObject(healEnv(p, ctx, o), bucket, key, summary, (i) => issues.push(i));
  if (verdict.absent) return JobResult.skipped(`${bucket}/${key} is on no node`);
  const reachable = verdict.replicas.filter((r) => r.state !== 'unavailable');
  if (reachable.length === 0 || (summary.failed > 0 && summary.unavailable > 0)) {
    throw new DeferError(o.deferMs ?? 5000, `replicas of ${bucket}/${key} unreachable`);
  }
  if (summary.failed > 0) {
    throw new Error(
      `healing ${bucket}/${key}: ${summary.failed} replica(s) not repaired: ${issues
        .filter((i) => i.action === 'failed')
        .map((i) => `${i.node}: ${i.detail ?? i.state}`)
        .join('; ')}`,
    );
  }
  const result: HealingResult = {
    ...scopeFields(p),
    ...summary,
    issues,
    issuesDropped: 0,
    durationMs: Math.round(performance.now() - started),
  };
  return JobResult.success(result);
}

/** The buckets a sweep covers, and those a node sweep must skip (no placement). */
async function scopeBuckets(
  p: HealingPayload,
  o: HealingWorkerOptions,
  guard: NodeGuard,
): Promise<{ buckets: string[]; skipped: string[] }> {
  if (p.bucket !== undefined) return { buckets: [p.bucket], skipped: [] };
  const names = new Set(o.topology.config.buckets.map((b) => b.name));
  for (const store of o.topology.nodes.values()) {
    try {
      for (const b of await onNode(guard, store.id, () => store.listBuckets())) names.add(b.name);
    } catch (err) {
      if (!isUnavailable(err)) throw err;
    }
  }
  const buckets: string[] = [];
  const skipped: string[] = [];
  for (const name of [...names].sort()) {
    try {
      o.topology.replicasFor(name, 'placement-probe');
      buckets.push(name);
    } catch (err) {
      if (!(err instanceof TopologyConfigError)) throw err;
      skipped.push(name);
    }
  }
  return { buckets, skipped };
}

async function sweep(
  p: HealingPayload,
  ctx: WorkerContext<HealingPayload>,
  o: HealingWorkerOptions,
  checkpoints: CheckpointStore<HealingCheckpoint>,
): Promise<JobResult> {
  const started = performance.now();
  const env = healEnv(p, ctx, o);
  const { topology } = o;
  if (p.scope === 'node') {
    const node = p.node as string;
    const store = topology.nodes.get(node) as ObjectStore;
    try {
      await onNode(env.guard, node, () => store.ping());
    } catch (err) {
      if (isUnavailable(err))
        throw new DeferError(o.deferMs ?? 5000, `node ${node} unreachable: ${describeError(err)}`);
      throw err;
    }
  }

  const saved = await checkpoints.load(ctx.jobId);
  let cp: HealingCheckpoint;
  if (saved) {
    cp = saved;
    ctx.logger.info(
      { bucket: cp.buckets[cp.bucketIndex], after: cp.after, scanned: cp.summary.scanned },
      'resuming healing from checkpoint',
    );
  } else {
    const { buckets, skipped } = await scopeBuckets(p, o, env.guard);
    cp = {
      buckets,
      bucketIndex: 0,
      summary: emptySummary(p.dryRun, p.deep),
      issues: [],
      issuesDropped: 0,
      skippedBuckets: skipped,
      startedAt: Date.now(),
    };
  }
  const resumedFrom = saved
    ? {
        bucket: saved.buckets[saved.bucketIndex] ?? '',
        ...(saved.after !== undefined ? { after: saved.after } : {}),
        scanned: saved.summary.scanned,
      }
    : undefined;

  const stores = [...topology.nodes.values()];
  const unlisted = new Set<string>();
  const list = async (store: ObjectStore, opts: ListOptions): Promise<ListResult> => {
    try {
      return await onNode(env.guard, store.id, () => listOrEmpty(store, opts));
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      unlisted.add(store.id);
      return { objects: [] };
    }
  };
  const accept =
    (bucket: string) =>
    (key: string): boolean =>
      p.scope !== 'node' || topology.replicasFor(bucket, key).includes(p.node as string);
  const walk = (bucket: string, after?: string) => ({
    stores,
    bucket,
    prefix: p.prefix,
    after,
    pageSize: o.pageSize,
    list,
  });

  if (cp.total === undefined) {
    ctx.progress({ done: 0, message: 'counting objects' });
    let total = 0;
    for (const bucket of cp.buckets) total += await countKeys(walk(bucket), accept(bucket));
    cp.total = total;
    await checkpoints.save(ctx.jobId, cp);
  }

  const attemptStart = Date.now();
  const doneAtStart = cp.summary.scanned;
  const report = (issue: HealIssue): void => {
    cp.issues.push(
      issue.detail && issue.detail.length > 300
        ? { ...issue, detail: `${issue.detail.slice(0, 300)}…` }
        : issue,
    );
    if (cp.issues.length > MAX_ISSUES) {
      cp.issues.pop();
      cp.issuesDropped++;
    }
  };
  const progress = (): void => {
    const s = cp.summary;
    const total = Math.max(cp.total ?? 0, s.scanned);
    const rate = (s.scanned - doneAtStart) / Math.max(1, Date.now() - attemptStart);
    const etaMs = rate > 0 ? Math.round((total - s.scanned) / rate) : undefined;
    const update = {
      done: s.scanned,
      total,
      message:
        `${s.scanned}/${total} objects, ${s.healed} ${p.dryRun ? 'to heal' : 'healed'}, ${s.failed} failed` +
        (etaMs !== undefined ? `, ETA ${formatDuration(etaMs)}` : ''),
      ...(etaMs !== undefined ? { etaMs } : {}),
    };
    ctx.progress(update);
  };

  for (; cp.bucketIndex < cp.buckets.length; cp.bucketIndex++, cp.after = undefined) {
    const bucket = cp.buckets[cp.bucketIndex] as string;
    const inScope = accept(bucket);
    for await (const page of walkBucket(walk(bucket, cp.after))) {
      ctx.signal.throwIfAborted();
      const skip = new Set(cp.pageDone ?? []);
      const keys = page.map((e) => e.key).filter((k) => inScope(k) && !skip.has(k));
      const doneKeys = [...skip];
      try {
        await forEachLimit(keys, o.objectConcurrency ?? 4, async (key) => {
          // Counted only once the object is finished, so an interrupted one is redone, not double-counted.
          const delta = emptySummary(p.dryRun, p.deep);
          const found: HealIssue[] = [];
          try {
            await healObject(env, bucket, key, delta, (i) => found.push(i));
          } catch (err) {
            if (ctx.signal.aborted) throw err;
            Object.assign(delta, { scanned: 1, failed: delta.failed + 1 });
            found.push({
              bucket,
              key,
              node: '*',
              state: 'error',
              action: 'failed',
              detail: describeError(err),
            });
          }
          addSummary(cp.summary, delta);
          found.forEach(report);
          doneKeys.push(key);
          progress();
        });
      } catch (err) {
        if (ctx.signal.aborted) {
          // Shutdown, timeout or cancel: keep what this page finished for the next attempt.
          cp.pageDone = doneKeys;
          cp.issues = fitIssues(cp);
          await checkpoints.save(ctx.jobId, cp).catch(() => undefined);
        }
        throw err;
      }
      cp.pageDone = undefined;
      cp.after = page[page.length - 1]?.key ?? cp.after;
      cp.issues = fitIssues(cp);
      await checkpoints.save(ctx.jobId, cp);
      if (o.pauseMs) await sleep(o.pauseMs, undefined, { signal: ctx.signal });
    }
  }
  progress();
  await checkpoints.clear(ctx.jobId);
  const result: HealingResult = {
    ...scopeFields(p),
    ...cp.summary,
    total: cp.total,
    issues: cp.issues,
    issuesDropped: cp.issuesDropped,
    ...(cp.skippedBuckets.length ? { skippedBuckets: cp.skippedBuckets } : {}),
    ...(unlisted.size ? { unlisted: [...unlisted].sort() } : {}),
    ...(resumedFrom ? { resumedFrom } : {}),
    durationMs: Math.round(performance.now() - started),
  };
  return JobResult.success(result);
}
