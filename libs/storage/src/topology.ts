import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { TopologyConfigError } from './errors.js';
import { FileObjectStore } from './file-store.js';
import { rendezvousReplicas } from './placement.js';
import { S3ObjectStore } from './s3-store.js';
import type { ChangeListener, ObjectStore } from './types.js';
import { validateBucketName, validateKey } from './validation.js';

const nodeId = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'node id must be 1..64 characters of [A-Za-z0-9._-]');
const positiveInt = z.number().int().positive();

const fileNodeSchema = z.strictObject({
  id: nodeId,
  driver: z.literal('file'),
  options: z.strictObject({
    root: z.string().min(1),
    createRoot: z.boolean().optional(),
    blockSize: positiveInt.optional(),
    fsync: z.boolean().optional(),
  }),
});

const s3NodeSchema = z.strictObject({
  id: nodeId,
  driver: z.literal('s3'),
  options: z.strictObject({
    endpoint: z.url().optional(),
    region: z.string().min(1).optional(),
    credentials: z
      .strictObject({
        accessKeyId: z.string().min(1),
        secretAccessKey: z.string().min(1),
        sessionToken: z.string().optional(),
      })
      .optional(),
    forcePathStyle: z.boolean().optional(),
    blockSize: positiveInt.optional(),
    spoolDir: z.string().min(1).optional(),
    multipartThreshold: positiveInt.optional(),
    partSize: z
      .number()
      .int()
      .min(5 * 1024 * 1024)
      .optional(),
    quotaBytes: positiveInt.optional(),
    maxAttempts: positiveInt.optional(),
    checksums: z.enum(['WHEN_REQUIRED', 'WHEN_SUPPORTED']).optional(),
  }),
});

const bucketSchema = z.union([
  z.strictObject({ name: z.string(), nodes: z.array(nodeId).min(1) }),
  z.strictObject({ name: z.string(), replicationFactor: positiveInt }),
]);

const topologySchema = z.strictObject({
  nodes: z.array(z.discriminatedUnion('driver', [fileNodeSchema, s3NodeSchema])).min(1),
  buckets: z.array(bucketSchema).default([]),
  /** Replication factor of buckets not listed in `buckets`; unlisted buckets are refused when absent. */
  defaultReplicationFactor: positiveInt.optional(),
});

/** A validated topology config. */
export type TopologyConfig = z.output<typeof topologySchema>;
/** What a topology config may look like before defaults are applied (e.g. parsed JSON). */
export type TopologyConfigInput = z.input<typeof topologySchema>;
/** One node entry of a topology config. */
export type NodeConfig = TopologyConfig['nodes'][number];
/** One bucket entry of a topology config. */
export type BucketPlacementConfig = TopologyConfig['buckets'][number];

/** An opened topology: one store per node and the placement function. */
export interface Topology {
  readonly config: TopologyConfig;
  /** Stores by node id, in config order. */
  readonly nodes: Map<string, ObjectStore>;
  /**
   * Node ids that must hold `bucket/key`: the bucket's fixed replica set, or the top
   * `replicationFactor` nodes by rendezvous hash of bucket + key (deterministic, stable when
   * nodes are added or removed).
   * @throws TopologyConfigError when the bucket is not configured and there is no default factor
   */
  replicasFor(bucket: string, key: string): string[];
  /** Closes every store. */
  close(): Promise<void>;
}

/** Options of {@link openTopology}. */
export interface OpenTopologyOptions {
  /** Passed to every store; events carry the node id. */
  onChange?: ChangeListener;
}

function fieldPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments)
    out += typeof s === 'number' ? `[${s}]` : `${out === '' ? '' : '.'}${String(s)}`;
  return out;
}

/**
 * Validates a topology config (schema plus cross-references: unique node ids and file roots,
 * valid and unique bucket names, replica sets naming known nodes without repeats, factors not
 * above the node count).
 * @throws TopologyConfigError naming the first offending field (all problems in `issues`)
 */
export function parseTopologyConfig(input: unknown): TopologyConfig {
  const parsed = topologySchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      field: fieldPath(i.path),
      message: i.message,
    }));
    const first = issues[0] ?? { field: '', message: 'invalid' };
    throw new TopologyConfigError(first.field, first.message, { cause: parsed.error, issues });
  }
  const config = parsed.data;
  const issues: { field: string; message: string }[] = [];
  const ids = new Set<string>();
  const roots = new Map<string, string>();
  config.nodes.forEach((node, i) => {
    if (ids.has(node.id))
      issues.push({ field: `nodes[${i}].id`, message: `duplicate node id ${node.id}` });
    ids.add(node.id);
    if (node.driver === 'file') {
      const root = path.resolve(node.options.root);
      const other = roots.get(root);
      if (other !== undefined)
        issues.push({
          field: `nodes[${i}].options.root`,
          message: `same directory as node ${other}`,
        });
      roots.set(root, node.id);
    }
  });
  const bucketNames = new Set<string>();
  config.buckets.forEach((b, i) => {
    try {
      validateBucketName(b.name);
    } catch (err) {
      issues.push({ field: `buckets[${i}].name`, message: (err as Error).message });
    }
    if (bucketNames.has(b.name))
      issues.push({ field: `buckets[${i}].name`, message: `duplicate bucket ${b.name}` });
    bucketNames.add(b.name);
    if ('nodes' in b) {
      b.nodes.forEach((n, j) => {
        if (!ids.has(n))
          issues.push({ field: `buckets[${i}].nodes[${j}]`, message: `unknown node ${n}` });
        if (b.nodes.indexOf(n) !== j)
          issues.push({ field: `buckets[${i}].nodes[${j}]`, message: `node ${n} listed twice` });
      });
    } else if (b.replicationFactor > config.nodes.length) {
      issues.push({
        field: `buckets[${i}].replicationFactor`,
        message: `exceeds the ${config.nodes.length} nodes`,
      });
    }
  });
  if (
    config.defaultReplicationFactor !== undefined &&
    config.defaultReplicationFactor > config.nodes.length
  ) {
    issues.push({
      field: 'defaultReplicationFactor',
      message: `exceeds the ${config.nodes.length} nodes`,
    });
  }
  const first = issues[0];
  if (first) throw new TopologyConfigError(first.field, first.message, { issues });
  return config;
}

/** Builds the store for one node entry. */
export function openNode(node: NodeConfig, options: OpenTopologyOptions = {}): ObjectStore {
  if (node.driver === 'file')
    return new FileObjectStore({ id: node.id, ...node.options, onChange: options.onChange });
  return new S3ObjectStore({ id: node.id, ...node.options, onChange: options.onChange });
}

/**
 * Validates `config` and opens one store per node (no I/O happens until the stores are used).
 * @throws TopologyConfigError
 */
export function openTopology(config: unknown, options: OpenTopologyOptions = {}): Topology {
  const parsed = parseTopologyConfig(config);
  const nodes = new Map<string, ObjectStore>();
  for (const node of parsed.nodes) nodes.set(node.id, openNode(node, options));
  const nodeIds = [...nodes.keys()];
  const byBucket = new Map(parsed.buckets.map((b) => [b.name, b]));
  return {
    config: parsed,
    nodes,
    replicasFor(bucket: string, key: string): string[] {
      validateBucketName(bucket);
      validateKey(bucket, key);
      const entry = byBucket.get(bucket);
      if (entry && 'nodes' in entry) return [...entry.nodes];
      const factor = entry?.replicationFactor ?? parsed.defaultReplicationFactor;
      if (factor === undefined) {
        throw new TopologyConfigError(
          'buckets',
          `bucket ${bucket} is not configured and there is no defaultReplicationFactor`,
        );
      }
      return rendezvousReplicas(nodeIds, bucket, key, factor);
    },
    async close(): Promise<void> {
      await Promise.all([...nodes.values()].map((s) => s.close()));
    },
  };
}

/**
 * Reads a JSON topology file; relative file-node roots and spool dirs are resolved against
 * the file's directory.
 * @throws TopologyConfigError (field `''` when the file is not JSON); fs errors when unreadable
 */
export async function loadTopologyFile(
  file: string,
  options: OpenTopologyOptions = {},
): Promise<Topology> {
  const text = await fs.readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TopologyConfigError('', `${file} is not valid JSON`, { cause: err });
  }
  const base = path.dirname(path.resolve(file));
  const config = parseTopologyConfig(json);
  for (const node of config.nodes) {
    if (node.driver === 'file') node.options.root = path.resolve(base, node.options.root);
    else if (node.options.spoolDir !== undefined)
      node.options.spoolDir = path.resolve(base, node.options.spoolDir);
  }
  return openTopology(config, options);
}
