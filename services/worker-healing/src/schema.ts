/**
 * `HealingPayload`, refined with the topology: a valid, placed bucket; a
 * valid key (object scope); a known node (node scope). A job that fails it
 * is dead-lettered with a readable reason before it runs.
 */
import { validateBucketName, validateKey, type Topology } from '@rfw/storage';
import { HealingPayload } from '@rfw/storage-jobs';
import type { PayloadSchema } from '@rfw/worker';
import { readableSchema } from '@rfw/storage-sync';

export function healingSchema(topology: Topology): PayloadSchema<HealingPayload> {
  return readableSchema(
    HealingPayload.superRefine((p, ctx) => {
      const issue = (field: string, message: string): void =>
        ctx.addIssue({ code: 'custom', path: [field], message });
      if (p.bucket !== undefined) {
        try {
          validateBucketName(p.bucket);
          topology.replicasFor(p.bucket, 'placement-probe');
        } catch (err) {
          issue('bucket', (err as Error).message);
          return;
        }
      }
      if (p.scope === 'object' && p.bucket !== undefined && p.key !== undefined) {
        try {
          validateKey(p.bucket, p.key);
        } catch (err) {
          issue('key', (err as Error).message);
        }
      }
      if (p.node !== undefined && !topology.nodes.has(p.node))
        issue('node', `unknown node ${p.node}; known: ${[...topology.nodes.keys()].join(', ')}`);
    }),
  );
}
