/**
 * The `replication-resync` job: walk a bucket (or a key prefix) across every
 * node in key order and bring every object version that some replica lacks
 * to exactly the targets that lack it: copied by the resync itself, a
 * bounded number of objects at a time (`copyInline`), or, for an object that
 * copy could not finish, by a `replication` job naming the targets left.
 * The walk saves a checkpoint (the last key done, and the counts) in the
 * control KV bucket after each page, so a crash, a timeout or a shutdown
 * resumes where it stopped. The page redone after a crash copies nothing
 * twice (what was copied is now in sync) and schedules nothing twice (the
 * jobs have deterministic ids).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KV } from '@nats-io/kv';
import {
  TERMINAL_STATES,
  type JobQueue,
  type RecordStore,
  type ScheduleRequest,
} from '@rfw/core/internal';
import { validateBucketName, type ObjectStore, type Topology } from '@rfw/storage';
import {
  ReplicationResyncPayload,
  StorageJobType,
  type ReplicationPayload,
} from '@rfw/storage-jobs';
import { DeferError, JobResult, type Worker, type WorkerContext } from '@rfw/worker';
import type { BacklogLedger } from './backlog.js';
import { replicationJobId } from './job-ids.js';
import type { ReplicationMetrics } from './metrics.js';
import { copyInline, type Planned } from './inline-copy.js';
import { walkBucket, listOrEmpty, prefetch, type WalkEntry } from '@rfw/storage-sync';
import type { Bandwidth, CopyVerify } from '@rfw/storage-sync';
import { CheckpointStore } from '@rfw/storage-sync';
import { describeError, isOpenBreaker, isUnavailable, onNode } from '@rfw/storage-sync';
import type { NodeGuard } from '@rfw/storage-sync';
import { readableSchema } from '@rfw/storage-sync';
import { newest, sameVersion } from '@rfw/storage-sync';

/** What a resync keeps between attempts. */
export interface ResyncCheckpoint {
  /** Last key fully handled. */
  after?: string;
  scanned: number;
  inSync: number;
  /** Absent in checkpoints written before inline copies: 0. */
  copied?: number;
  bytesCopied?: number;
  scheduled: number;
  startedAt: number;
}

/** The result of a finished resync. */
export interface ResyncResult {
  bucket: string;
  prefix?: string;
  /** Objects examined (a page redone after a crash counts twice). */
  scanned: number;
  /** Objects already on every replica. */
  inSync: number;
  /** Objects the resync copied itself to every target that lacked them. */
  copied: number;
  /** Bytes those copies wrote, over all targets. */
  bytesCopied: number;
  /**
   * Objects handed to a `replication` job: the inline copy could not finish
   * them (or inline copies are off), or a job was already waiting for them.
   */
  scheduled: number;
  /** The checkpoint key this run resumed after, when it did. */
  resumedFrom?: string;
  /** Objects examined by this attempt alone. */
  scannedThisAttempt: number;
  durationMs: number;
}

/** Options of {@link createResyncWorker}. */
export interface ResyncWorkerOptions {
  topology: Topology;
  /** Schedules the replication jobs (on the worker's connection). */
  queue: JobQueue;
  /** The control KV bucket, for checkpoints. */
  control: KV;
  /** Job records, to tell whether a deterministic id is already taken by a finished job. */
  records: RecordStore;
  ledger?: BacklogLedger;
  metrics?: ReplicationMetrics;
  /** Keys listed per node per page (one checkpoint per page). @default 500 */
  pageSize?: number;
  /** Pause between pages, ms (eases the load on the nodes). @default 0 */
  pauseMs?: number;
  /** How long a resync waits when a node cannot be listed, ms. @default 10000 */
  deferMs?: number;
  /** Resync jobs at once in this instance. @default 1 */
  concurrency?: number;
  /**
   * Objects a resync copies at once itself; 0: none, every lagging object
   * gets a `replication` job (spreads the copies over every instance, at
   * several NATS round trips per object). @default 8
   */
  copyConcurrency?: number;
  /** Shared bandwidth limit of the inline copies (the replication worker's); none: unlimited. */
  bandwidth?: Bandwidth;
  /** How inline copies are checked. @default 'checksum' */
  verify?: CopyVerify;
}

/** `ReplicationResyncPayload`, plus: a valid bucket name that the topology places. */
function resyncSchema(topology: Topology) {
  return readableSchema(
    ReplicationResyncPayload.superRefine((p, ctx) => {
      try {
        validateBucketName(p.bucket);
        topology.replicasFor(p.bucket, 'placement-probe');
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['bucket'], message: (err as Error).message });
      }
    }),
  );
}

export function createResyncWorker(o: ResyncWorkerOptions): Worker<ReplicationResyncPayload> {
  const checkpoints = new CheckpointStore<ResyncCheckpoint>(
    o.control,
    `checkpoint.${StorageJobType.ReplicationResync}`,
  );
  return {
    workerType: StorageJobType.ReplicationResync,
    schema: resyncSchema(o.topology),
    concurrency: o.concurrency ?? 1,
    processJob: (job, ctx) => resync(job.payload, ctx, o, checkpoints),
  };
}

/** Which replicas of `entry` lack its newest version, and which hold it (none when it is in sync). */
export function plan(topology: Topology, bucket: string, entry: WalkEntry): Planned | undefined {
  const latest = newest(entry.replicas.values());
  if (!latest) return undefined;
  const targets = topology.replicasFor(bucket, entry.key).filter((n) => {
    const have = entry.replicas.get(n);
    return !have || !sameVersion(have, latest);
  });
  if (!targets.length) return undefined;
  const sources = [...entry.replicas]
    .filter(([, info]) => sameVersion(info, latest))
    .map(([node]) => node);
  return { key: entry.key, versionId: latest.versionId, version: latest, sources, targets };
}

async function resync(
  p: ReplicationResyncPayload,
  ctx: WorkerContext<ReplicationResyncPayload>,
  o: ResyncWorkerOptions,
  checkpoints: CheckpointStore<ResyncCheckpoint>,
): Promise<JobResult> {
  const started = performance.now();
  const saved = await checkpoints.load(ctx.jobId);
  const cp: ResyncCheckpoint = saved ?? {
    scanned: 0,
    inSync: 0,
    copied: 0,
    bytesCopied: 0,
    scheduled: 0,
    startedAt: Date.now(),
  };
  const resumedFrom = saved?.after;
  if (resumedFrom !== undefined)
    ctx.logger.info({ after: resumedFrom, scanned: cp.scanned }, 'resuming resync from checkpoint');
  const stores = [...o.topology.nodes.values()];
  const guard: NodeGuard = (n, fn) => ctx.guard(n, fn);
  const list = (store: ObjectStore, opts: Parameters<ObjectStore['list']>[0]) =>
    onNode(guard, store.id, () => listOrEmpty(store, opts));
  const copyConcurrency = o.copyConcurrency ?? 8;
  let scannedThisAttempt = 0;
  // The next page is listed while this one is copied: it was listed from when this one arrived.
  let listedAt = Date.now();
  try {
    const pages = prefetch(
      walkBucket({
        stores,
        bucket: p.bucket,
        prefix: p.prefix,
        after: cp.after,
        pageSize: o.pageSize,
        list,
      }),
    );
    for await (const page of pages) {
      const pageListedAt = listedAt;
      listedAt = Date.now();
      ctx.signal.throwIfAborted();
      const planned: Planned[] = [];
      for (const entry of page) {
        const need = plan(o.topology, p.bucket, entry);
        if (need) planned.push(need);
      }
      const inline =
        copyConcurrency > 0 && planned.length
          ? await copyInline(planned, {
              topology: o.topology,
              guard,
              bucket: p.bucket,
              concurrency: copyConcurrency,
              bandwidth: o.bandwidth,
              verify: o.verify,
              signal: ctx.signal,
              queue: o.queue,
              metrics: o.metrics,
              logger: ctx.logger,
            })
          : { copied: 0, bytes: 0, leftover: planned };
      const scheduled = await fanOut(p, inline.leftover, pageListedAt, ctx, o);
      cp.copied = (cp.copied ?? 0) + inline.copied;
      cp.bytesCopied = (cp.bytesCopied ?? 0) + inline.bytes;
      cp.scheduled += scheduled;
      cp.inSync += page.length - planned.length;
      cp.scanned += page.length;
      scannedThisAttempt += page.length;
      cp.after = page[page.length - 1]?.key ?? cp.after;
      await checkpoints.save(ctx.jobId, cp);
      o.metrics?.resyncScanned.inc(page.length);
      o.metrics?.resyncCopied.inc(inline.copied);
      o.metrics?.resyncScheduled.inc(scheduled);
      ctx.progress({
        done: cp.scanned,
        message: `${cp.scanned} objects checked, ${cp.copied} copied, ${cp.scheduled} replication jobs scheduled`,
      });
      if (o.pauseMs) await sleep(o.pauseMs, undefined, { signal: ctx.signal });
    }
  } catch (err) {
    if (isUnavailable(err)) {
      throw new DeferError(
        isOpenBreaker(err) ? (o.deferMs ?? 10_000) : Math.min(o.deferMs ?? 10_000, 5000),
        `cannot list ${p.bucket}: ${describeError(err)}`,
      );
    }
    throw err;
  }
  await checkpoints.clear(ctx.jobId);
  const result: ResyncResult = {
    bucket: p.bucket,
    ...(p.prefix !== undefined ? { prefix: p.prefix } : {}),
    scanned: cp.scanned,
    inSync: cp.inSync,
    copied: cp.copied ?? 0,
    bytesCopied: cp.bytesCopied ?? 0,
    scheduled: cp.scheduled,
    ...(resumedFrom !== undefined ? { resumedFrom } : {}),
    scannedThisAttempt,
    durationMs: Math.round(performance.now() - started),
  };
  return JobResult.success(result);
}

/**
 * Schedules the planned jobs; resolves with how many objects are covered: newly
 * scheduled, already waiting under their id, or replicated since the listing.
 */
async function fanOut(
  p: ReplicationResyncPayload,
  planned: Planned[],
  listedAt: number,
  ctx: WorkerContext<ReplicationResyncPayload>,
  o: ResyncWorkerOptions,
): Promise<number> {
  if (!planned.length) return 0;
  const requests: ScheduleRequest[] = [];
  let covered = 0;
  for (const item of planned) {
    const id = await pickId(o.records, p.bucket, item, ctx.jobId, listedAt);
    if (id === undefined) {
      covered++;
      continue;
    }
    for (const t of item.targets) await o.ledger?.pending(t, id);
    const payload: ReplicationPayload = {
      bucket: p.bucket,
      key: item.key,
      targetNodes: item.targets,
      versionId: item.versionId,
    };
    requests.push({
      type: StorageJobType.Replication,
      payload,
      options: { id, priority: ctx.job.priority },
    });
  }
  const results = await o.queue.scheduleMany(requests, 64);
  const failed = results.filter((r) => !r.ok);
  if (failed.length) {
    const first = failed[0];
    throw new Error(
      `could not schedule ${failed.length} of ${results.length} replication jobs: ${first && !first.ok ? first.error.message : ''}`,
    );
  }
  return covered + results.length;
}

/**
 * The plain deterministic id, unless a finished job already holds it: then
 * nothing when that job succeeded after the page was listed (the copy this
 * walk saw missing has been made since), else the id salted with this
 * resync's id (the object fell behind again).
 */
async function pickId(
  records: RecordStore,
  bucket: string,
  item: Planned,
  resyncId: string,
  listedAt: number,
): Promise<string | undefined> {
  const plain = replicationJobId(bucket, item.key, item.versionId);
  const rec = await records.get(plain);
  if (!rec || !TERMINAL_STATES.has(rec.job.state)) return plain;
  if (rec.job.state === 'succeeded' && rec.job.updatedAt >= listedAt) return undefined;
  return replicationJobId(bucket, item.key, item.versionId, resyncId);
}
