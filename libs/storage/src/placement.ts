import { createHash } from 'node:crypto';

/** Rendezvous (highest-random-weight) score of a node for an object: 48 bits of SHA-256. */
export function rendezvousScore(nodeId: string, bucket: string, key: string): number {
  const digest = createHash('sha256').update(`${bucket}\0${key}\0${nodeId}`).digest();
  return digest.readUIntBE(0, 6);
}

/**
 * The `count` nodes with the highest rendezvous score for `bucket/key`, best first (ties
 * broken by node id). Deterministic, and adding or removing a node only moves the objects
 * that node wins or held.
 * @throws RangeError when `count` is not in 1..nodeIds.length
 */
export function rendezvousReplicas(
  nodeIds: readonly string[],
  bucket: string,
  key: string,
  count: number,
): string[] {
  if (!Number.isInteger(count) || count < 1 || count > nodeIds.length) {
    throw new RangeError(`replica count ${count} not in 1..${nodeIds.length}`);
  }
  return nodeIds
    .map((id) => ({ id, score: rendezvousScore(id, bucket, key) }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, count)
    .map((n) => n.id);
}
