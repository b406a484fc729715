/**
 * Reading one storage node: online check, capacity, objects and bytes per
 * bucket, and the canary probe under the reserved key prefix.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ObjectStore } from '@rfw/storage';
import {
  SNAPSHOT_SCHEMA,
  type BucketUsage,
  type CanaryResult,
  type NodeReading,
} from './snapshot.js';

/** Key prefix of canary objects; the indexer and cleanup leave it alone. */
export const CANARY_PREFIX = '.rfw-canary/';

/** Options of {@link collectNode}. */
export interface CollectOptions {
  workerId: string;
  /** Bucket for the canary; default: the node's first bucket (no canary when it has none). */
  canaryBucket?: string;
  /** Canary object size, bytes. @default 4096 */
  canaryBytes?: number;
  /** Objects listed per bucket at most; beyond, counts are lower bounds (`truncated`). @default 100000 */
  maxListObjects?: number;
  signal?: AbortSignal;
}

function message(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

async function bucketUsage(
  store: ObjectStore,
  bucket: string,
  max: number,
  signal?: AbortSignal,
): Promise<BucketUsage> {
  const usage: BucketUsage = { bucket, objects: 0, bytes: 0 };
  let cursor: string | undefined;
  do {
    if (signal?.aborted) throw new Error('aborted');
    const page = await store.list({ bucket, cursor });
    for (const o of page.objects) {
      if (o.key.startsWith(CANARY_PREFIX)) continue;
      usage.objects++;
      usage.bytes += o.size;
    }
    cursor = page.nextCursor;
    if (cursor !== undefined && usage.objects >= max) {
      usage.truncated = true;
      break;
    }
  } while (cursor !== undefined);
  return usage;
}

async function canary(
  store: ObjectStore,
  bucket: string,
  o: CollectOptions,
): Promise<CanaryResult> {
  const result: CanaryResult = { bucket, ok: false };
  const key = `${CANARY_PREFIX}${o.workerId.replace(/[^A-Za-z0-9_-]/g, '_')}-${randomUUID()}`;
  const body = randomBytes(o.canaryBytes ?? 4096);
  let written = false;
  try {
    let t = performance.now();
    await store.put(bucket, key, body, { contentType: 'application/octet-stream' });
    written = true;
    result.putMs = performance.now() - t;
    t = performance.now();
    const got = await store.get(bucket, key);
    const chunks: Buffer[] = [];
    for await (const c of got.body) chunks.push(c as Buffer);
    result.getMs = performance.now() - t;
    if (!Buffer.concat(chunks).equals(body)) throw new Error('canary read back different bytes');
    t = performance.now();
    await store.delete(bucket, key);
    written = false;
    result.deleteMs = performance.now() - t;
    result.ok = true;
  } catch (err) {
    result.error = message(err);
  } finally {
    if (written) await store.delete(bucket, key).catch(() => undefined);
  }
  return result;
}

/** Reads one node. Never throws for node failures: an unreachable node is reported offline. */
export async function collectNode(store: ObjectStore, o: CollectOptions): Promise<NodeReading> {
  const reading: NodeReading = {
    schema: SNAPSHOT_SCHEMA,
    node: store.id,
    driver: store.driver,
    collectedAt: Date.now(),
    collectedBy: o.workerId,
    online: false,
    buckets: [],
  };
  try {
    reading.pingMs = (await store.ping()).latencyMs;
    reading.online = true;
  } catch (err) {
    reading.error = message(err);
    return reading;
  }
  const errors: string[] = [];
  try {
    reading.capacity = await store.capacity();
  } catch (err) {
    errors.push(`capacity: ${message(err)}`);
  }
  let buckets: string[] = [];
  try {
    buckets = (await store.listBuckets()).map((b) => b.name);
  } catch (err) {
    errors.push(`buckets: ${message(err)}`);
  }
  for (const b of buckets) {
    try {
      reading.buckets.push(await bucketUsage(store, b, o.maxListObjects ?? 100_000, o.signal));
    } catch (err) {
      errors.push(`bucket ${b}: ${message(err)}`);
    }
  }
  const canaryBucket = o.canaryBucket ?? buckets[0];
  if (canaryBucket !== undefined) {
    reading.canary = await canary(store, canaryBucket, o);
    if (!reading.canary.ok) errors.push(`canary: ${reading.canary.error ?? 'failed'}`);
  }
  if (errors.length > 0) reading.error = errors.join('; ');
  return reading;
}
