/**
 * Brings one target node up to one object version, the way the replication
 * worker and the resync's inline copies both do it: look at what the target
 * holds (through its breaker), skip it when it already holds that version or
 * a newer one, otherwise copy from each source holding the version in turn
 * until one succeeds. Every failure becomes an outcome the caller can act on
 * (defer, retry, fall back to a job); only an abort is thrown.
 */
import type { ObjectInfo, ObjectStore } from '@rfw/storage';
import type { Bandwidth } from './bandwidth.js';
import {
  CopySourceError,
  CopyVerificationError,
  copyObject,
  type CopyVerify,
} from './copy-object.js';
import {
  describeError,
  isOpenBreaker,
  isPermanent,
  isUnavailable,
  onNode,
  type NodeGuard,
} from './node-errors.js';
import { compareVersions, sameVersion } from './versions.js';

/** What one node holds of an object, or why it could not be asked. */
export interface NodeProbe {
  node: string;
  /** The object on that node; none when absent (or when `down`). */
  info?: ObjectInfo;
  /** Set when the node is unavailable (a node fault or an open breaker). */
  down?: { reason: string; breaker: boolean };
}

/**
 * Heads `bucket/key` on `store` through its breaker.
 * @throws errors that are not the node's fault (a bad key, ...)
 */
export async function probeNode(
  guard: NodeGuard,
  store: ObjectStore,
  bucket: string,
  key: string,
): Promise<NodeProbe> {
  try {
    return { node: store.id, info: await onNode(guard, store.id, () => store.head(bucket, key)) };
  } catch (err) {
    if (isUnavailable(err))
      return { node: store.id, down: { reason: describeError(err), breaker: isOpenBreaker(err) } };
    throw err;
  }
}

/** Why a copy to a target failed, for metrics. */
export type CopyFailureKind = 'source' | 'verification' | 'other';

/** What became of one target. */
export type TargetOutcome =
  | {
      kind: 'done';
      status: 'copied' | 'skipped-identical' | 'skipped-newer';
      /** Bytes written (0 when skipped). */
      bytes: number;
      /** Wall time of the copy and its verification, ms (0 when skipped). */
      durationMs: number;
      /** The node copied from (only when copied). */
      source?: string;
    }
  | { kind: 'unavailable'; reason: string; breaker: boolean }
  | { kind: 'failed'; reason: string; failure: CopyFailureKind; permanent: boolean };

/** Options of {@link copyToTarget}. */
export interface CopyToTargetOptions {
  /** Every node by id (a `Topology.nodes`). */
  nodes: ReadonlyMap<string, ObjectStore>;
  guard: NodeGuard;
  bucket: string;
  key: string;
  /** The version the target must end up with. */
  version: ObjectInfo;
  target: string;
  /** Nodes holding exactly `version`, tried in this order. */
  sources: readonly string[];
  /** What the target holds, when the caller has just asked; otherwise it is headed first. */
  known?: NodeProbe;
  /** Shared bandwidth limit; none: unlimited. */
  bandwidth?: Bandwidth;
  /** @default 'checksum' */
  verify?: CopyVerify;
  signal?: AbortSignal;
  /** Told about each source that failed before the next one is tried. */
  onSourceError?: (err: CopySourceError) => void;
}

const failed = (reason: string, failure: CopyFailureKind, permanent = false): TargetOutcome => ({
  kind: 'failed',
  reason,
  failure,
  permanent,
});

/**
 * Copies `version` to `target` unless it already holds it or something newer.
 * The target is written only through its breaker (`onNode`).
 * @throws the signal's reason when aborted; errors of the target head that are not node faults
 */
export async function copyToTarget(o: CopyToTargetOptions): Promise<TargetOutcome> {
  const { target, version } = o;
  const targetStore = o.nodes.get(target);
  if (!targetStore) return failed(`unknown node ${target}`, 'other', true);
  const known = o.known ?? (await probeNode(o.guard, targetStore, o.bucket, o.key));
  if (known.down) return { kind: 'unavailable', ...known.down };
  const existing = known.info;
  if (existing && sameVersion(existing, version))
    return { kind: 'done', status: 'skipped-identical', bytes: 0, durationMs: 0 };
  if (existing && compareVersions(existing, version) > 0)
    return { kind: 'done', status: 'skipped-newer', bytes: 0, durationMs: 0 };

  const sourceErrors: CopySourceError[] = [];
  for (const source of o.sources) {
    const sourceStore = o.nodes.get(source);
    if (!sourceStore || source === target) continue;
    try {
      const copied = await onNode(o.guard, target, () =>
        copyObject({
          source: sourceStore,
          target: targetStore,
          bucket: o.bucket,
          key: o.key,
          expected: version,
          bandwidth: o.bandwidth,
          signal: o.signal,
          verify: o.verify,
        }),
      );
      return {
        kind: 'done',
        status: 'copied',
        bytes: copied.bytes,
        durationMs: copied.durationMs,
        source,
      };
    } catch (err) {
      if (o.signal?.aborted) throw err;
      if (err instanceof CopySourceError) {
        if (err.kind === 'changed') return failed('the source changed during the copy', 'source');
        o.onSourceError?.(err);
        sourceErrors.push(err);
        continue;
      }
      if (isUnavailable(err))
        return { kind: 'unavailable', reason: describeError(err), breaker: isOpenBreaker(err) };
      if (err instanceof CopyVerificationError) return failed(err.message, 'verification');
      return failed(describeError(err), 'other', isPermanent(err));
    }
  }
  if (sourceErrors.length && sourceErrors.every((e) => e.kind === 'unavailable')) {
    return {
      kind: 'unavailable',
      reason: `no source reachable (${sourceErrors.map((e) => e.node).join(', ')})`,
      breaker: false,
    };
  }
  return failed(
    `no source could provide it: ${sourceErrors.map((e) => e.message).join('; ') || 'none left'}`,
    'source',
  );
}
