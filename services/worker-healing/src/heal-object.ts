/**
 * Heal one object: verify every replica the topology places (deep: re-hash
 * every byte and check block CRCs), judge them, and rewrite the missing,
 * outdated and corrupt ones from the authoritative copy. A repair re-checks
 * the replica first (left alone if it changed meanwhile), writes through the
 * driver's temp-file + fsync + rename, and re-reads the result to verify it.
 * Healthy replicas are never written.
 */
import type { JobQueue, Logger } from '@rfw/core';
import type { ObjectInfo, ObjectStore, Topology } from '@rfw/storage';
import { notifyIndexer } from '@rfw/storage-jobs';
import {
  CopyVerify,
  copyObject,
  describeError,
  isUnavailable,
  onNode,
  sameVersion,
  type Bandwidth,
  type NodeGuard,
} from '@rfw/storage-sync';
import { judge, type ReplicaReport, type ReplicaScan, type Verdict } from './judge.js';
import type { HealingMetrics } from './metrics.js';
import type { HealIssue, HealSummary } from './summary.js';

/** What healing one object needs. */
export interface HealEnv {
  topology: Topology;
  guard: NodeGuard;
  signal: AbortSignal;
  logger: Logger;
  deep: boolean;
  dryRun: boolean;
  removeDangling: boolean;
  /** Only report and repair this node's replica (node scope); the others still vote. */
  only?: string;
  bandwidth?: Bandwidth;
  queue?: JobQueue;
  metrics?: HealingMetrics;
}

/** Adds one object's findings to `summary`; issues go to `report`. */
export async function healObject(
  env: HealEnv,
  bucket: string,
  key: string,
  summary: HealSummary,
  report: (issue: HealIssue) => void,
): Promise<Verdict> {
  const nodes = env.topology.replicasFor(bucket, key);
  const scans = await Promise.all(nodes.map((node) => scan(env, node, bucket, key)));
  const verdict = judge(scans);
  summary.scanned++;
  for (const r of verdict.replicas) summary.bytesScanned += r.info?.size ?? 0;
  env.metrics?.scanned.inc({ mode: env.deep ? 'deep' : 'normal' });
  // Deleted everywhere since it was listed (or never there): nothing to heal.
  if (verdict.absent) return verdict;
  const inScope = verdict.replicas.filter((r) => env.only === undefined || r.node === env.only);
  const issue = (r: ReplicaReport, action: HealIssue['action'], more: Partial<HealIssue> = {}) =>
    report({
      bucket,
      key,
      node: r.node,
      state: r.state,
      action,
      ...(r.detail ? { detail: r.detail } : {}),
      ...more,
    });

  for (const r of inScope) {
    if (r.state === 'ok') continue;
    env.metrics?.detected.inc({ node: r.node, state: r.state });
    if (r.state === 'missing') summary.missing++;
    else if (r.state === 'outdated') summary.outdated++;
    else if (r.state === 'corrupt') {
      summary.bitrot++;
      env.metrics?.bitrot.inc({ node: r.node });
    } else if (r.state === 'unavailable') {
      summary.unavailable++;
      issue(r, 'reported');
    }
  }
  if (inScope.every((r) => r.state === 'ok')) {
    summary.healthy++;
    return verdict;
  }

  if (verdict.dangling) {
    summary.dangling++;
    env.metrics?.dangling.inc();
    await dangling(env, bucket, key, inScope, summary, issue);
    return verdict;
  }

  for (const r of inScope) {
    if (r.state === 'ok' || r.state === 'unavailable') continue;
    if (!verdict.authority) {
      summary.failed++;
      env.metrics?.failed.inc({ node: r.node });
      issue(r, 'failed', {
        detail: verdict.conflict ?? 'no valid copy reachable to repair from',
      });
      continue;
    }
    await repair(env, bucket, key, r, verdict.authority, summary, issue);
  }
  return verdict;
}

async function scan(env: HealEnv, node: string, bucket: string, key: string): Promise<ReplicaScan> {
  const store = env.topology.nodes.get(node) as ObjectStore;
  try {
    return {
      node,
      result: await onNode(env.guard, node, () => store.verify(bucket, key, { deep: env.deep })),
    };
  } catch (err) {
    if (isUnavailable(err)) return { node, error: describeError(err) };
    throw err;
  }
}

type Issue = (r: ReplicaReport, action: HealIssue['action'], more?: Partial<HealIssue>) => void;

async function repair(
  env: HealEnv,
  bucket: string,
  key: string,
  r: ReplicaReport,
  authority: { info: ObjectInfo; nodes: string[] },
  summary: HealSummary,
  issue: Issue,
): Promise<void> {
  const size = authority.info.size;
  if (env.dryRun) {
    summary.healed++;
    summary.bytesHealed += size;
    issue(r, 'would-heal', { bytes: size });
    return;
  }
  const target = env.topology.nodes.get(r.node) as ObjectStore;
  const fail = (detail: string): void => {
    summary.failed++;
    env.metrics?.failed.inc({ node: r.node });
    issue(r, 'failed', { detail: `${r.detail ? `${r.detail}; ` : ''}${detail}` });
  };
  try {
    // The replica must still be what was judged: a writer may have moved on.
    const now = await onNode(env.guard, r.node, () => target.head(bucket, key));
    const unchanged =
      r.state === 'missing'
        ? now === undefined
        : now !== undefined &&
          r.info !== undefined &&
          now.versionId === r.info.versionId &&
          now.mtime === r.info.mtime &&
          now.sha256 === r.info.sha256;
    if (!unchanged) {
      summary.skipped++;
      const already = now !== undefined && sameVersion(now, authority.info);
      issue(r, 'skipped', {
        detail: already ? 'already repaired by someone else' : 'changed while the job ran',
      });
      return;
    }
    let lastError = 'no source left';
    for (const source of authority.nodes) {
      try {
        const copied = await onNode(env.guard, r.node, () =>
          copyObject({
            source: env.topology.nodes.get(source) as ObjectStore,
            target,
            bucket,
            key,
            expected: authority.info,
            bandwidth: env.bandwidth,
            signal: env.signal,
            verify: CopyVerify.Deep,
          }),
        );
        summary.healed++;
        summary.bytesHealed += copied.bytes;
        env.metrics?.healed.inc({ node: r.node, state: r.state });
        env.metrics?.bytesHealed.inc({ node: r.node }, copied.bytes);
        issue(r, 'healed', { bytes: copied.bytes });
        await announce(env, { op: 'put', bucket, key, node: r.node });
        return;
      } catch (err) {
        if (env.signal.aborted) throw err;
        lastError = describeError(err);
        if (isUnavailable(err)) break;
        env.logger.warn({ err, bucket, key, source, target: r.node }, 'repair attempt failed');
      }
    }
    fail(lastError);
  } catch (err) {
    if (env.signal.aborted) throw err;
    fail(describeError(err));
  }
}

async function dangling(
  env: HealEnv,
  bucket: string,
  key: string,
  replicas: ReplicaReport[],
  summary: HealSummary,
  issue: Issue,
): Promise<void> {
  for (const r of replicas) {
    if (r.state !== 'corrupt') continue;
    if (!env.removeDangling) {
      issue(r, 'reported', { state: 'dangling' });
      continue;
    }
    if (env.dryRun) {
      issue(r, 'would-remove', { state: 'dangling' });
      continue;
    }
    const store = env.topology.nodes.get(r.node) as ObjectStore;
    try {
      const removed = await onNode(env.guard, r.node, () =>
        store.delete(bucket, key, r.info ? { ifVersionId: r.info.versionId } : {}),
      );
      if (removed) {
        summary.removed++;
        issue(r, 'removed', { state: 'dangling' });
        await announce(env, { op: 'delete', bucket, key, node: r.node });
      }
    } catch (err) {
      summary.failed++;
      issue(r, 'failed', { state: 'dangling', detail: `not removed: ${describeError(err)}` });
    }
  }
}

async function announce(
  env: HealEnv,
  change: { op: 'put' | 'delete'; bucket: string; key: string; node: string },
): Promise<void> {
  if (!env.queue) return;
  try {
    await notifyIndexer(env.queue, change);
  } catch (err) {
    env.logger.warn({ err, ...change }, 'could not notify the indexer');
  }
}
