/**
 * The correctness half of the storage bench: every injected object fault must
 * be repaired, and no healthy replica rewritten. Rewrites are seen as a
 * changed inode, size or mtime of any file of an object directory.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeFaultyStore, type FaultManifest, type FaultKind } from '@rfw/storage/testing';

type Stamp = string;

/**
 * The bench's store: 3 nodes, `objects` objects (no large ones) in bucket `data`, the bench's
 * seed, and `faultsEach` faults of each object-fault kind (`0`: a clean store, no temp files
 * or partial uploads either).
 */
export function benchStore(
  dir: string,
  objects: number,
  faultsEach: number,
): Promise<FaultManifest> {
  const clean: Partial<Record<FaultKind, number>> =
    faultsEach === 0 ? { 'temp-file': 0, 'partial-upload': 0 } : {};
  return makeFaultyStore({
    dir,
    nodes: 3,
    objects,
    largeObjects: 0,
    seed: 2026,
    faults: {
      bitrot: faultsEach,
      'missing-replica': faultsEach,
      'stale-version': faultsEach,
      truncated: faultsEach,
      ...clean,
    },
  });
}

/** `node|bucket/key` -> stamp of the files of that replica's directory. */
export async function replicaStamps(m: FaultManifest): Promise<Map<string, Stamp>> {
  const out = new Map<string, Stamp>();
  for (const node of m.nodes) {
    for (const o of m.objects) {
      const dir = path.join(node.root, o.bucket, ...o.key.split('/'));
      const names = (await fs.readdir(dir).catch(() => [] as string[])).sort();
      const parts: string[] = [];
      for (const name of names) {
        if (!name.startsWith('.rfw.')) continue;
        const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
        if (st) parts.push(`${name}:${st.ino}:${st.size}:${st.mtimeMs}`);
      }
      out.set(`${node.id}|${o.bucket}/${o.key}`, parts.join(','));
    }
  }
  return out;
}

/** The replicas the manifest broke, as `node|bucket/key`. */
export function faultedReplicas(m: FaultManifest): Set<string> {
  const out = new Set<string>();
  for (const f of m.faults) {
    if ('key' in f && f.kind !== 'partial-upload') out.add(`${f.node}|${f.bucket}/${f.key}`);
  }
  return out;
}

/** What a heal did to the store, checked against the manifest. */
export interface FaultCheck {
  injected: number;
  repaired: number;
  /** Healthy replicas whose files changed (must be 0). */
  healthyRewritten: string[];
  /** Faulted replicas left unchanged (must be empty). */
  notRepaired: string[];
}

export function checkRepairs(
  m: FaultManifest,
  before: Map<string, Stamp>,
  after: Map<string, Stamp>,
): FaultCheck {
  const faulted = faultedReplicas(m);
  const healthyRewritten: string[] = [];
  const notRepaired: string[] = [];
  for (const [replica, stamp] of before) {
    const changed = after.get(replica) !== stamp;
    if (faulted.has(replica) && !changed) notRepaired.push(replica);
    if (!faulted.has(replica) && changed) healthyRewritten.push(replica);
  }
  return {
    injected: faulted.size,
    repaired: faulted.size - notRepaired.length,
    healthyRewritten,
    notRepaired,
  };
}
