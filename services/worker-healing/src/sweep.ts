/**
 * Healing sweeps (prefix, bucket and node scopes). A sweep counts its objects
 * first (for progress and an ETA), then walks the buckets across all nodes in
 * key order, healing a page of objects at a time (a few in parallel) and
 * saving a checkpoint after each page in the control KV bucket, so a crash, a
 * timeout or a shutdown resumes where it stopped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  TopologyConfigError,
  type ListOptions,
  type ListResult,
  type ObjectStore,
} from '@rfw/storage';
import type { HealingPayload, SweepProgress } from '@rfw/storage-jobs';
import { DeferError, JobResult, type WorkerContext } from '@rfw/worker';
import {
  describeError,
  forEachLimit,
  formatDuration,
  isUnavailable,
  listOrEmpty,
  onNode,
  prefetch,
  walkBucket,
  type CheckpointStore,
  type NodeGuard,
  type WalkOptions,
} from '@rfw/storage-sync';
import { healObject } from './heal-object.js';
import {
  healEnv,
  scopeFields,
  type HealingCheckpoint,
  type HealingResult,
  type HealingWorkerOptions,
} from './healing-options.js';
import { fitIssues } from './issues.js';
import { MAX_ISSUES, addSummary, emptySummary, type HealIssue } from './summary.js';

/** How often a sweep saves what it finished within a page, ms. */
const IN_PAGE_SAVE_MS = 1000;
/** Objects healed at once within one sweep, unless configured. */
export const DEFAULT_OBJECT_CONCURRENCY = 8;

/** Counts the keys of the sweep's scope; `undefined` when stopped first. */
async function countInScope(
  buckets: readonly string[],
  walk: (bucket: string) => WalkOptions,
  accept: (bucket: string) => (key: string) => boolean,
  stopped: () => boolean,
): Promise<number | undefined> {
  let total = 0;
  for (const bucket of buckets) {
    const inScope = accept(bucket);
    for await (const page of walkBucket(walk(bucket))) {
      if (stopped()) return undefined;
      for (const e of page) if (inScope(e.key)) total++;
    }
  }
  return total;
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

export async function sweep(
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
    cp.summary.bytesScanned ??= 0; // checkpoints saved before the field existed
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
  const walk = (bucket: string, after?: string): WalkOptions => ({
    stores,
    bucket,
    prefix: p.prefix,
    after,
    pageSize: o.pageSize,
    list,
  });

  // Counted beside the sweep, not before it: the total (and so the ETA) shows up once known.
  let stopCounting = false;
  const counting =
    cp.total === undefined
      ? countInScope(cp.buckets, walk, accept, () => stopCounting).then(
          (total) => {
            if (total !== undefined) cp.total = total;
          },
          (err: unknown) => {
            ctx.logger.warn({ err }, 'could not count the objects of the sweep; no ETA');
          },
        )
      : Promise.resolve();

  const attemptStart = Date.now();
  const doneAtStart = cp.summary.scanned;
  const bytesAtStart = cp.summary.bytesScanned;
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
    const total = cp.total === undefined ? undefined : Math.max(cp.total, s.scanned);
    const rate = (s.scanned - doneAtStart) / Math.max(1, Date.now() - attemptStart);
    const etaMs =
      total !== undefined && rate > 0 ? Math.round((total - s.scanned) / rate) : undefined;
    const elapsedSec = Math.max(0.001, (Date.now() - attemptStart) / 1000);
    const update: SweepProgress = {
      done: s.scanned,
      ...(total !== undefined ? { total } : {}),
      bytesDone: s.bytesScanned,
      objectsPerSec: Math.round((s.scanned - doneAtStart) / elapsedSec),
      bytesPerSec: Math.round((s.bytesScanned - bytesAtStart) / elapsedSec),
      message:
        `${s.scanned}/${total ?? '?'} objects, ${s.healed} ${p.dryRun ? 'to heal' : 'healed'}, ${s.failed} failed` +
        (etaMs !== undefined ? `, ETA ${formatDuration(etaMs)}` : ''),
      ...(etaMs !== undefined ? { etaMs } : {}),
    };
    ctx.progress(update);
  };

  // Within a page, what is finished is saved every second too: a SIGKILL redoes at most that much.
  let lastSave = Date.now();
  let saving: Promise<void> | undefined;
  const saveSoon = (doneKeys: readonly string[]): void => {
    if (saving || Date.now() - lastSave < IN_PAGE_SAVE_MS) return;
    lastSave = Date.now();
    cp.issues = fitIssues(cp);
    saving = checkpoints
      .save(ctx.jobId, { ...cp, pageDone: [...doneKeys] })
      .catch((err: unknown) => ctx.logger.warn({ err }, 'could not save the sweep checkpoint'))
      .finally(() => (saving = undefined));
  };

  try {
    for (; cp.bucketIndex < cp.buckets.length; cp.bucketIndex++, cp.after = undefined) {
      const bucket = cp.buckets[cp.bucketIndex] as string;
      const inScope = accept(bucket);
      for await (const page of prefetch(walkBucket(walk(bucket, cp.after)))) {
        ctx.signal.throwIfAborted();
        const skip = new Set(cp.pageDone ?? []);
        const keys = page.map((e) => e.key).filter((k) => inScope(k) && !skip.has(k));
        const doneKeys = [...skip];
        try {
          await forEachLimit(
            keys,
            o.objectConcurrency ?? DEFAULT_OBJECT_CONCURRENCY,
            async (key) => {
              ctx.logger.debug({ bucket, key }, 'healing object');
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
              saveSoon(doneKeys);
            },
          );
        } catch (err) {
          if (ctx.signal.aborted) {
            // Shutdown, timeout or cancel: keep what this page finished for the next attempt.
            await saving;
            cp.pageDone = doneKeys;
            cp.issues = fitIssues(cp);
            await checkpoints.save(ctx.jobId, cp).catch(() => undefined);
          }
          throw err;
        }
        await saving;
        cp.pageDone = undefined;
        cp.after = page[page.length - 1]?.key ?? cp.after;
        cp.issues = fitIssues(cp);
        await checkpoints.save(ctx.jobId, cp);
        lastSave = Date.now();
        if (o.pauseMs) await sleep(o.pauseMs, undefined, { signal: ctx.signal });
      }
    }
  } finally {
    stopCounting = true;
    await counting;
  }
  // The count may not have finished; the sweep itself has now seen every key.
  cp.total ??= cp.summary.scanned;
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
