/**
 * The copies a resync makes itself: the objects of one page that some
 * replicas lack, a bounded number at a time, each target through
 * `copyToTarget` (the replication worker's own copy: head the target, skip
 * it when it holds the version or a newer one, stream through the shared
 * bandwidth limit, verify, breaker per node). Whatever could not be finished
 * here (a target down, a failed copy, an unexpected error) is handed back so
 * that the resync schedules a `replication` job for exactly those targets.
 */
import type { JobQueue, Logger } from '@rfw/core';
import type { ObjectInfo, Topology } from '@rfw/storage';
import {
  describeError,
  forEachLimit,
  copyToTarget,
  type Bandwidth,
  type CopyVerify,
  type NodeGuard,
  type TargetOutcome,
} from '@rfw/storage-sync';
import { announceCopy } from './announce.js';
import type { ReplicationMetrics } from './metrics.js';

/** One object version that some replicas lack. */
export interface Planned {
  key: string;
  versionId: string;
  /** The version, as the walk listed it on a node holding it. */
  version: ObjectInfo;
  /** Nodes that listed exactly this version. */
  sources: string[];
  /** Nodes of the replica set that lack it. */
  targets: string[];
}

/** Options of {@link copyInline}. */
export interface InlineCopyOptions {
  topology: Topology;
  guard: NodeGuard;
  bucket: string;
  /** Objects copied at once (each to its targets in turn). */
  concurrency: number;
  bandwidth?: Bandwidth;
  verify?: CopyVerify;
  signal: AbortSignal;
  /** Tells the indexer about written replicas; none: no notices. */
  queue?: JobQueue;
  metrics?: ReplicationMetrics;
  logger: Logger;
}

/** What the inline copies of one page did. */
export interface InlineCopyResult {
  /** Objects now on every target. */
  copied: number;
  /** Bytes written, over all targets. */
  bytes: number;
  /** Objects some target still lacks, with only those targets. */
  leftover: Planned[];
}

/**
 * Copies each planned object to its targets, `concurrency` objects at once.
 * @throws the signal's reason when aborted (copies in flight are abandoned; the
 *   target drivers write atomically, so none is left half-written)
 */
export async function copyInline(
  items: readonly Planned[],
  o: InlineCopyOptions,
): Promise<InlineCopyResult> {
  const result: InlineCopyResult = { copied: 0, bytes: 0, leftover: [] };
  const left = new Map<number, Planned>();
  await forEachLimit(items, o.concurrency, async (item, index) => {
    const missing: string[] = [];
    for (const target of item.targets) {
      const out = await copyOne(item, target, o);
      if (out.kind === 'done') {
        result.bytes += out.bytes;
        continue;
      }
      missing.push(target);
      o.logger.info(
        { key: item.key, target, outcome: out.kind, reason: out.reason },
        'inline copy not finished, scheduling a replication job',
      );
    }
    if (missing.length) left.set(index, { ...item, targets: missing });
    else result.copied++;
  });
  // In key order, so the fallback jobs are scheduled in walk order.
  result.leftover = [...left].sort(([a], [b]) => a - b).map(([, item]) => item);
  return result;
}

async function copyOne(
  item: Planned,
  target: string,
  o: InlineCopyOptions,
): Promise<TargetOutcome> {
  let out: TargetOutcome;
  try {
    out = await copyToTarget({
      nodes: o.topology.nodes,
      guard: o.guard,
      bucket: o.bucket,
      key: item.key,
      version: item.version,
      target,
      sources: item.sources,
      bandwidth: o.bandwidth,
      verify: o.verify,
      signal: o.signal,
      onSourceError: (err) =>
        o.logger.warn({ err, source: err.node, target }, 'source failed, trying the next one'),
    });
  } catch (err) {
    if (o.signal.aborted) throw err;
    out = { kind: 'failed', reason: describeError(err), failure: 'other', permanent: false };
  }
  const outcome = out.kind === 'done' ? out.status : out.kind === 'failed' ? 'failed' : 'deferred';
  o.metrics?.objects.inc({ target, outcome });
  if (out.kind === 'done' && out.status === 'copied') {
    o.metrics?.bytes.inc({ target }, out.bytes);
    o.metrics?.copySeconds.observe({ target }, out.durationMs / 1000);
    o.logger.debug(
      { key: item.key, source: out.source, target, bytes: out.bytes },
      'replica written',
    );
    await announceCopy(o.queue, o.logger, {
      bucket: o.bucket,
      key: item.key,
      node: target,
      versionId: item.versionId,
    });
  } else if (out.kind !== 'done') {
    o.metrics?.failures.inc({
      target,
      reason: out.kind === 'failed' ? out.failure : 'unavailable',
    });
  }
  return out;
}
