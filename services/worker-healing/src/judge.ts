/**
 * Classifies the replicas of one object and picks the authoritative copy.
 *
 * Valid replicas (their bytes match their recorded checksums, or carry none)
 * vote. The newest version among them wins (an older majority means
 * replication has not caught up, not that the newer copy is wrong); within
 * that version, the content (size + SHA-256) held by the most replicas wins,
 * and a tie is a conflict that nothing repairs. Every other replica is:
 * `missing` (absent), `corrupt` (bitrot, truncation, lost data, or content
 * that differs from the winning copy of the same version), or `outdated`
 * (a valid older version). With no valid replica left the object is
 * dangling, unless an unreachable node might still hold a good copy.
 */
import type { ObjectInfo, VerifyResult } from '@rfw/storage';
import { newest } from '@rfw/storage-sync';

/** What a replica is, relative to the authoritative copy. */
export const ReplicaState = {
  Ok: 'ok',
  Missing: 'missing',
  Outdated: 'outdated',
  Corrupt: 'corrupt',
  /** The node could not be asked (down, or its breaker is open). */
  Unavailable: 'unavailable',
} as const;
export type ReplicaState = (typeof ReplicaState)[keyof typeof ReplicaState];

/** One replica's scan: the node's verify result, or why it could not be scanned. */
export interface ReplicaScan {
  node: string;
  result?: VerifyResult;
  error?: string;
}

export interface ReplicaReport {
  node: string;
  state: ReplicaState;
  /** The recorded metadata, when the replica has any. */
  info?: ObjectInfo;
  /** Why it is not ok (verify status, corrupt blocks, versions). */
  detail?: string;
}

export interface Verdict {
  replicas: ReplicaReport[];
  /** The copy every replica should match, and the nodes holding it; absent when none can be chosen. */
  authority?: { info: ObjectInfo; nodes: string[] };
  /** No replica holds any valid copy, and every replica was reachable. */
  dangling: boolean;
  /** No replica holds the object at all (every one reachable and missing). */
  absent: boolean;
  /** Why no authority was chosen although valid replicas exist. */
  conflict?: string;
}

const contentKey = (i: ObjectInfo): string => `${i.size}:${i.sha256 || `etag:${i.etag}`}`;

function damage(r: VerifyResult): string {
  const blocks = r.corruptBlocks.length ? ` (blocks ${r.corruptBlocks.join(', ')})` : '';
  if (r.status === 'size-mismatch')
    return `size-mismatch: ${r.actualSize ?? '?'} bytes, ${r.info?.size ?? '?'} recorded${blocks}`;
  return `${r.status}${blocks}`;
}

export function judge(scans: readonly ReplicaScan[]): Verdict {
  const valid = scans.filter(
    (s): s is ReplicaScan & { result: VerifyResult & { info: ObjectInfo } } =>
      !!s.result?.info && (s.result.status === 'ok' || s.result.status === 'unverifiable'),
  );
  const base = (s: ReplicaScan): ReplicaReport | undefined => {
    if (!s.result) return { node: s.node, state: 'unavailable', detail: s.error };
    if (s.result.status === 'missing') return { node: s.node, state: 'missing' };
    if (s.result.status !== 'ok' && s.result.status !== 'unverifiable')
      return { node: s.node, state: 'corrupt', info: s.result.info, detail: damage(s.result) };
    return undefined;
  };
  const unreachable = scans.some((s) => !s.result);

  if (valid.length === 0) {
    const replicas = scans.map((s) => base(s) as ReplicaReport);
    const present = replicas.some((r) => r.state === 'corrupt');
    return {
      replicas,
      dangling: present && !unreachable,
      absent: !present && !unreachable,
    };
  }

  const top = newest(valid.map((s) => s.result.info)) as ObjectInfo;
  const groups = new Map<string, string[]>();
  for (const s of valid) {
    const i = s.result.info;
    if (i.versionId !== top.versionId || i.mtime !== top.mtime) continue;
    const k = contentKey(i);
    groups.set(k, [...(groups.get(k) ?? []), s.node]);
  }
  const ranked = [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
  const [winner, runnerUp] = ranked;
  let authority: Verdict['authority'];
  let conflict: string | undefined;
  if (winner && (!runnerUp || runnerUp[1].length < winner[1].length)) {
    const holder = valid.find((s) => s.node === winner[1][0]);
    if (holder) authority = { info: holder.result.info, nodes: winner[1] };
  } else {
    conflict = `replicas of version ${top.versionId} disagree on content: ${ranked
      .map(([k, nodes]) => `${nodes.join('+')} hold ${k}`)
      .join(' vs ')}`;
  }

  const replicas = scans.map((s): ReplicaReport => {
    const known = base(s);
    if (known) return known;
    const info = s.result?.info as ObjectInfo;
    if (!authority) return { node: s.node, state: 'corrupt', info, detail: conflict };
    if (authority.nodes.includes(s.node)) return { node: s.node, state: 'ok', info };
    if (info.versionId === authority.info.versionId && info.mtime === authority.info.mtime)
      return {
        node: s.node,
        state: 'corrupt',
        info,
        detail: `content ${contentKey(info)} differs from the quorum's ${contentKey(authority.info)}`,
      };
    return {
      node: s.node,
      state: 'outdated',
      info,
      detail: `version ${info.versionId} (mtime ${info.mtime}), current ${authority.info.versionId} (mtime ${authority.info.mtime})`,
    };
  });
  return { replicas, authority, dangling: false, absent: false, ...(conflict ? { conflict } : {}) };
}
