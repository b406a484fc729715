/**
 * The `replication` job: copy one object version from a healthy replica to
 * each target node, streaming, throttled, verified after writing. Targets
 * that already hold the version are skipped (so redelivery copies nothing
 * twice); targets holding a newer version are never downgraded. Each target
 * is reached through its node's circuit breaker: a target that is down
 * defers the job without using an attempt, after the reachable targets got
 * their copy.
 */
import type { JobQueue } from '@rfw/core';
import type { ObjectInfo, Topology } from '@rfw/storage';
import { StorageJobType, type ReplicationPayload } from '@rfw/storage-jobs';
import {
  DeferError,
  JobResult,
  NonRetryableError,
  type Worker,
  type WorkerContext,
} from '@rfw/worker';
import { announceCopy } from './announce.js';
import type { BacklogLedger } from './backlog.js';
import type { ReplicationMetrics } from './metrics.js';
import { replicationSchema, targetsFor } from './plan.js';
import type { Bandwidth } from '@rfw/storage-sync';
import { copyToTarget, probeNode, type CopyVerify, type NodeProbe } from '@rfw/storage-sync';
import { describeError, type NodeGuard } from '@rfw/storage-sync';
import { anyNodeUp, newest, sameVersion } from '@rfw/storage-sync';

/** What happened at one target. */
export type TargetStatus =
  'copied' | 'skipped-identical' | 'skipped-newer' | `failed: ${string}` | `deferred: ${string}`;

/** The result of a succeeded replication job. */
export interface ReplicationResult {
  bucket: string;
  key: string;
  versionId: string;
  /** The node the object was read from. */
  source: string;
  targets: Record<string, TargetStatus>;
  /** Bytes written in this attempt, over all targets. */
  bytes: number;
  durationMs: number;
}

/** Options of {@link createReplicationWorker}. */
export interface ReplicationWorkerOptions {
  topology: Topology;
  /** Used to tell the indexer about written objects; none: no notices. */
  queue?: JobQueue;
  metrics?: ReplicationMetrics;
  ledger?: BacklogLedger;
  /** Shared bandwidth limit; none: unlimited. */
  bandwidth?: Bandwidth;
  /** @default 'checksum' */
  verify?: CopyVerify;
  /** How long a job whose target is unavailable waits before it runs again, ms. @default 5000 */
  deferMs?: number;
  /** How long it waits when the target's breaker is open, ms (the breaker's reset timeout). @default 10000 */
  breakerDeferMs?: number;
  /** Replication jobs at once in this instance. @default the manager's maxConcurrentJobs */
  concurrency?: number;
}

type Outcome =
  | { kind: 'done'; status: TargetStatus; bytes: number }
  | { kind: 'unavailable'; status: TargetStatus; breaker: boolean }
  | { kind: 'failed'; status: TargetStatus; permanent: boolean };

export function createReplicationWorker(o: ReplicationWorkerOptions): Worker<ReplicationPayload> {
  return {
    workerType: StorageJobType.Replication,
    schema: replicationSchema(o.topology),
    concurrency: o.concurrency,
    processJob: (job, ctx) => replicate(job.payload, ctx, o),
    healthCheck: () => anyNodeUp(o.topology),
  };
}

async function probe(guard: NodeGuard, topology: Topology, node: string, p: ReplicationPayload) {
  const store = topology.nodes.get(node);
  if (!store) throw new NonRetryableError(`unknown node ${node}`);
  return probeNode(guard, store, p.bucket, p.key);
}

async function replicate(
  p: ReplicationPayload,
  ctx: WorkerContext<ReplicationPayload>,
  o: ReplicationWorkerOptions,
): Promise<JobResult> {
  const started = performance.now();
  const guard: NodeGuard = (node, fn) => ctx.guard(node, fn);
  const { topology } = o;
  let wanted: string[];
  try {
    wanted = targetsFor(topology, p);
  } catch (err) {
    throw new NonRetryableError(describeError(err), { cause: err });
  }

  // Find the version to copy and every healthy replica holding it.
  const candidates = p.sourceNode ? [p.sourceNode] : [...topology.nodes.keys()];
  const probes = new Map<string, NodeProbe>();
  for (const pr of await Promise.all(candidates.map((n) => probe(guard, topology, n, p))))
    probes.set(pr.node, pr);
  const holders = [...probes.values()].filter(
    (x): x is NodeProbe & { info: ObjectInfo } => !!x.info,
  );
  const down = [...probes.values()].filter((x) => x.down);
  const version =
    p.versionId !== undefined
      ? holders.find((h) => h.info.versionId === p.versionId)?.info
      : newest(holders.map((h) => h.info));
  if (!version) {
    if (down.length) {
      throw new DeferError(
        deferDelay(
          o,
          down.some((d) => d.down?.breaker),
        ),
        `no reachable copy of ${p.bucket}/${p.key}; unavailable: ${down.map((d) => d.node).join(', ')}`,
      );
    }
    const where = p.sourceNode ? `source node ${p.sourceNode}` : 'any node';
    return JobResult.skipped(
      p.versionId !== undefined
        ? `version ${p.versionId} of ${p.bucket}/${p.key} is not on ${where} (superseded or deleted)`
        : `${p.bucket}/${p.key} is not on ${where}`,
    );
  }
  const sources = holders.filter((h) => sameVersion(h.info, version)).map((h) => h.node);
  const primary = sources[0] as string;
  const targets = wanted.filter((n) => n !== primary);

  const outcomes = new Map<string, Outcome>();
  let bytes = 0;
  for (const [i, target] of targets.entries()) {
    ctx.progress({ done: i, total: targets.length, message: `copying to ${target}` });
    const known = probes.get(target) ?? (await probe(guard, topology, target, p));
    const out = await replicateTo(target, known, sources, version, p, ctx, o);
    outcomes.set(target, out);
    o.metrics?.objects.inc({ target, outcome: outcomeLabel(out) });
    if (out.kind === 'done') bytes += out.bytes;
  }
  const statuses = Object.fromEntries([...outcomes].map(([t, out]) => [t, out.status]));

  const failed = [...outcomes.values()].filter((x) => x.kind === 'failed');
  const unavailable = [...outcomes].filter(([, x]) => x.kind === 'unavailable');
  const lastAttempt = ctx.attempt > ctx.job.maxRetries;
  const permanent = failed.some((x) => x.kind === 'failed' && x.permanent);
  const givingUp = failed.length > 0 && (permanent || lastAttempt);
  await updateLedger(o, ctx, outcomes, givingUp);

  if (failed.length) {
    const summary = `replication of ${p.bucket}/${p.key} incomplete: ${JSON.stringify(statuses)}`;
    throw permanent ? new NonRetryableError(summary) : new Error(summary);
  }
  if (unavailable.length) {
    throw new DeferError(
      deferDelay(
        o,
        unavailable.some(([, x]) => x.kind === 'unavailable' && x.breaker),
      ),
      `target ${unavailable.map(([t, x]) => `${t} ${x.status}`).join('; ')}`,
    );
  }
  const result: ReplicationResult = {
    bucket: p.bucket,
    key: p.key,
    versionId: version.versionId,
    source: primary,
    targets: statuses,
    bytes,
    durationMs: Math.round(performance.now() - started),
  };
  return JobResult.success(result);
}

function deferDelay(o: ReplicationWorkerOptions, breakerOpen: boolean): number {
  return breakerOpen ? (o.breakerDeferMs ?? 10_000) : (o.deferMs ?? 5000);
}

function outcomeLabel(out: Outcome): string {
  if (out.kind === 'done') return out.status;
  return out.kind === 'unavailable' ? 'deferred' : 'failed';
}

async function replicateTo(
  target: string,
  known: NodeProbe,
  sources: string[],
  version: ObjectInfo,
  p: ReplicationPayload,
  ctx: WorkerContext<ReplicationPayload>,
  o: ReplicationWorkerOptions,
): Promise<Outcome> {
  const out = await copyToTarget({
    nodes: o.topology.nodes,
    guard: (node, fn) => ctx.guard(node, fn),
    bucket: p.bucket,
    key: p.key,
    version,
    target,
    sources,
    known,
    bandwidth: o.bandwidth,
    verify: o.verify,
    signal: ctx.signal,
    onSourceError: (err) =>
      ctx.logger.warn({ err, source: err.node, target }, 'source failed, trying the next one'),
  });
  switch (out.kind) {
    case 'unavailable':
      o.metrics?.failures.inc({ target, reason: 'unavailable' });
      return { kind: 'unavailable', status: `deferred: ${out.reason}`, breaker: out.breaker };
    case 'failed':
      o.metrics?.failures.inc({ target, reason: out.failure });
      return { kind: 'failed', status: `failed: ${out.reason}`, permanent: out.permanent };
    case 'done':
      if (out.status === 'copied') {
        o.metrics?.bytes.inc({ target }, out.bytes);
        o.metrics?.copySeconds.observe({ target }, out.durationMs / 1000);
        ctx.logger.debug({ source: out.source, target, bytes: out.bytes }, 'replica written');
        await announceCopy(o.queue, ctx.logger, {
          bucket: p.bucket,
          key: p.key,
          node: target,
          versionId: version.versionId,
        });
      }
      return { kind: 'done', status: out.status, bytes: out.bytes };
  }
}

async function updateLedger(
  o: ReplicationWorkerOptions,
  ctx: WorkerContext<ReplicationPayload>,
  outcomes: Map<string, Outcome>,
  givingUp: boolean,
): Promise<void> {
  const { ledger } = o;
  if (!ledger) return;
  try {
    for (const [target, out] of outcomes) {
      if (out.kind === 'done' || givingUp) await ledger.done(target, ctx.jobId);
      else await ledger.pending(target, ctx.jobId);
    }
  } catch (err) {
    ctx.logger.warn({ err }, 'could not update the backlog ledger');
  }
}
