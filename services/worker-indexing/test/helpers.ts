import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { JobQueue, JobState } from '@rfw/core';
import { waitForJobState } from '@rfw/testkit';
import { loadPg } from '../src/index.js';
import {
  compareKeys,
  loadTopologyFile,
  type ObjectInfo,
  type ObjectStore,
  type Topology,
} from '@rfw/storage';

/** A temp dir with `n` file nodes and a topology file replicating every bucket on all of them. */
export async function makeNodes(
  n: number,
  buckets: string[],
): Promise<{ dir: string; topologyFile: string; topology: Topology }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-index-'));
  const nodes = Array.from({ length: n }, (_, i) => ({
    id: `n${i + 1}`,
    driver: 'file' as const,
    options: { root: path.join(dir, `n${i + 1}`), createRoot: true, fsync: false },
  }));
  const topologyFile = path.join(dir, 'topology.json');
  await fs.writeFile(
    topologyFile,
    JSON.stringify({ nodes, buckets: buckets.map((name) => ({ name, replicationFactor: n })) }),
  );
  const topology = await loadTopologyFile(topologyFile);
  for (const store of topology.nodes.values()) for (const b of buckets) await store.createBucket(b);
  return { dir, topologyFile, topology };
}

/** Every object of `bucket` on one node, in key order. */
export async function listAll(store: ObjectStore, bucket: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ bucket, cursor });
    out.push(...page.objects);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return out;
}

export function byBucketKey(
  a: { bucket: string; key: string },
  b: { bucket: string; key: string },
): number {
  return a.bucket === b.bucket ? compareKeys(a.key, b.key) : a.bucket < b.bucket ? -1 : 1;
}

/** Wait until a job reaches one of `states` (indexing jobs get 40 s on a shared machine). */
export function waitForJob(q: JobQueue, id: string, states: JobState[], timeoutMs = 40_000) {
  return waitForJobState(q, id, states, timeoutMs);
}

/** A deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const PG_URL = process.env.RFW_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Creates a uniquely named database; returns its URL and a function dropping it. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `rfw_idx_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new (loadPg().Client)({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new (loadPg().Client)({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
