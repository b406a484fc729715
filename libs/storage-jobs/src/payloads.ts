/**
 * Job types and payload schemas of the built-in storage workers: the contract
 * between producers (CLI, admin API, scheduler config, other services) and the
 * worker services. Each schema is what the worker validates before running.
 */
import { z } from 'zod';

export const StorageJobType = {
  Replication: 'replication',
  ReplicationResync: 'replication-resync',
  Healing: 'healing',
  Cleanup: 'cleanup',
  Indexing: 'indexing',
  Metrics: 'metrics',
} as const;
export type StorageJobType = (typeof StorageJobType)[keyof typeof StorageJobType];

const bucket = z.string().min(3).max(63);
const key = z.string().min(1).max(1024);
const nodeId = z.string().min(1).max(128);

/** Copy one object to its target nodes (the seed's ReplicationJob). */
export const ReplicationPayload = z
  .object({
    bucket,
    key,
    /** Node to copy from; default: any healthy replica holding the newest version. */
    sourceNode: nodeId.optional(),
    /** Nodes to copy to; default: the bucket's replica set from the topology. */
    targetNodes: z.array(nodeId).min(1).optional(),
    /** Copies wanted in total; default: the topology's. */
    replicationFactor: z.number().int().min(1).max(16).optional(),
    /** Only replicate this version (skip if the source moved on). */
    versionId: z.string().optional(),
  })
  .strict();
export type ReplicationPayload = z.infer<typeof ReplicationPayload>;

/** Walk a bucket (or prefix) and fan out one replication job per object that needs it. */
export const ReplicationResyncPayload = z
  .object({ bucket, prefix: z.string().max(1024).optional() })
  .strict();
export type ReplicationResyncPayload = z.infer<typeof ReplicationResyncPayload>;

/** Compare replicas and repair missing, outdated or corrupt ones. */
export const HealingPayload = z
  .object({
    scope: z.enum(['object', 'prefix', 'bucket', 'node']),
    bucket: bucket.optional(),
    key: key.optional(),
    prefix: z.string().max(1024).optional(),
    node: nodeId.optional(),
    /** Re-hash data and check block CRCs (bitrot), not only presence/size/metadata. */
    deep: z.boolean().default(false),
    /** Report without writing. */
    dryRun: z.boolean().default(false),
    /** Remove objects that have no valid copy left. */
    removeDangling: z.boolean().default(false),
  })
  .strict()
  .superRefine((p, ctx) => {
    const need = (field: 'bucket' | 'key' | 'prefix' | 'node'): void => {
      if (p[field] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `${field} is required for scope ${p.scope}`,
        });
    };
    const required = {
      object: ['bucket', 'key'],
      prefix: ['bucket', 'prefix'],
      bucket: ['bucket'],
      node: ['node'],
    } as const;
    for (const f of required[p.scope]) need(f);
  });
export type HealingPayload = z.infer<typeof HealingPayload>;

/** Garbage collection: lifecycle expiry, stale temp files, abandoned uploads, old job records. */
export const CleanupPayload = z
  .object({
    kind: z
      .enum(['lifecycle', 'temp-files', 'partial-uploads', 'job-records', 'all'])
      .default('all'),
    /** Limit lifecycle expiry to a bucket (and prefix); default: every configured rule. */
    bucket: bucket.optional(),
    prefix: z.string().max(1024).optional(),
    /** The seed's max_file_age: expire objects older than this (overrides the rules), ms. */
    maxAgeMs: z.number().int().positive().optional(),
    /** Limit to one storage node (the seed's storage_path). */
    node: nodeId.optional(),
    dryRun: z.boolean().default(false),
  })
  .strict();
export type CleanupPayload = z.infer<typeof CleanupPayload>;

/** Keep the metadata index in step with the store: a full scan, or one changed object. */
export const IndexingPayload = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('scan'), bucket, node: nodeId.optional() }).strict(),
  z
    .object({
      kind: z.literal('object'),
      op: z.enum(['put', 'delete']),
      bucket,
      key,
      node: nodeId.optional(),
    })
    .strict(),
]);
export type IndexingPayload = z.infer<typeof IndexingPayload>;

/** Collect capacity, usage and latency probes of one storage node, or all. */
export const MetricsPayload = z.object({ node: nodeId.optional() }).strict();
export type MetricsPayload = z.infer<typeof MetricsPayload>;
