/**
 * Where a replication job copies to: its explicit `targetNodes`, the first
 * `replicationFactor` nodes of the object's placement order, or the bucket's
 * replica set from the topology. Also the payload schema, refined with the
 * topology so that a job naming a bad key or an unknown node is refused
 * before it runs (dead-lettered with a readable reason).
 */
import {
  InvalidBucketError,
  TopologyConfigError,
  rendezvousReplicas,
  validateBucketName,
  validateKey,
  type Topology,
} from '@rfw/storage';
import { ReplicationPayload } from '@rfw/storage-jobs';
import type { PayloadSchema } from '@rfw/worker';
import { readableSchema } from '@rfw/storage-sync';

/** Every node in placement order for `bucket/key`: the bucket's fixed nodes first, then by rendezvous score. */
export function placementOrder(topology: Topology, bucket: string, key: string): string[] {
  const all = [...topology.nodes.keys()];
  const fixed = topology.config.buckets.find((b) => b.name === bucket && 'nodes' in b);
  if (fixed && 'nodes' in fixed) {
    const rest = all.filter((n) => !fixed.nodes.includes(n));
    return [
      ...fixed.nodes,
      ...(rest.length ? rendezvousReplicas(rest, bucket, key, rest.length) : []),
    ];
  }
  return rendezvousReplicas(all, bucket, key, all.length);
}

/**
 * The nodes that should hold the object after the job.
 * @throws TopologyConfigError when the bucket has no placement and the job names no targets
 */
export function targetsFor(topology: Topology, p: ReplicationPayload): string[] {
  if (p.targetNodes) return [...new Set(p.targetNodes)];
  if (p.replicationFactor !== undefined)
    return placementOrder(topology, p.bucket, p.key).slice(0, p.replicationFactor);
  return topology.replicasFor(p.bucket, p.key);
}

/** `ReplicationPayload`, plus: valid bucket and key, known nodes, a factor the topology can meet, a placement. */
export function replicationSchema(topology: Topology): PayloadSchema<ReplicationPayload> {
  const nodes = topology.nodes;
  return readableSchema(
    ReplicationPayload.superRefine((p, ctx) => {
      const issue = (path: (string | number)[], message: string): void =>
        ctx.addIssue({ code: 'custom', path, message });
      let namesOk = true;
      try {
        validateBucketName(p.bucket);
        validateKey(p.bucket, p.key);
      } catch (err) {
        namesOk = false;
        issue([err instanceof InvalidBucketError ? 'bucket' : 'key'], (err as Error).message);
      }
      if (p.sourceNode !== undefined && !nodes.has(p.sourceNode))
        issue(['sourceNode'], `unknown node ${p.sourceNode}`);
      p.targetNodes?.forEach((n, i) => {
        if (!nodes.has(n)) issue(['targetNodes', i], `unknown node ${n}`);
      });
      if (p.replicationFactor !== undefined && p.replicationFactor > nodes.size)
        issue(['replicationFactor'], `exceeds the ${nodes.size} nodes of the topology`);
      if (namesOk && p.targetNodes === undefined && p.replicationFactor === undefined) {
        try {
          topology.replicasFor(p.bucket, p.key);
        } catch (err) {
          if (!(err instanceof TopologyConfigError)) throw err;
          issue(['bucket'], `${err.message}; give targetNodes or replicationFactor`);
        }
      }
    }),
  );
}
