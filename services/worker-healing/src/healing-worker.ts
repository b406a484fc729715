/**
 * The `healing` job. Scopes: one object, a key prefix, a bucket, or every
 * object the topology places on one node. One object is judged and repaired
 * at once (see heal-object.ts); the other scopes are sweeps (see sweep.ts).
 */
import { StorageJobType, type HealingPayload } from '@rfw/storage-jobs';
import { DeferError, JobResult, type Worker, type WorkerContext } from '@rfw/worker';
import { CheckpointStore } from '@rfw/storage-sync';
import { healObject } from './heal-object.js';
import {
  healEnv,
  scopeFields,
  type HealingCheckpoint,
  type HealingResult,
  type HealingWorkerOptions,
} from './healing-options.js';
import { healingSchema } from './schema.js';
import { emptySummary, type HealIssue } from './summary.js';
import { sweep } from './sweep.js';

export type { HealingCheckpoint, HealingResult, HealingWorkerOptions } from './healing-options.js';

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

async function heal(
  p: HealingPayload,
  ctx: WorkerContext<HealingPayload>,
  o: HealingWorkerOptions,
  checkpoints: CheckpointStore<HealingCheckpoint>,
): Promise<JobResult> {
  if (p.scope === 'object') return healOne(p, ctx, o);
  return sweep(p, ctx, o, checkpoints);
}

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
