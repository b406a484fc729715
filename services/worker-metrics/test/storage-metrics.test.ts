import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { JobQueue, type Job } from '@rfw/core';
import { NatsServer } from '@rfw/testkit';
import { FileObjectStore } from '@rfw/storage';
import { StorageJobType } from '@rfw/storage-jobs';
import {
  startMetricsService,
  storageMetricsBucket,
  type StorageNodeSnapshot,
} from '../src/index.js';

async function waitForJob(q: JobQueue, id: string, timeoutMs = 30_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = await q.get(id);
    if (j && ['succeeded', 'dead', 'cancelled'].includes(j.state)) return j;
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish: ${JSON.stringify(j)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('integration: storage metrics worker', () => {
  let server: NatsServer;
  let dir: string;
  let service: Awaited<ReturnType<typeof startMetricsService>>;
  let queue: JobQueue;
  const prefix = 'sm';

  beforeAll(async () => {
    server = await NatsServer.start();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-metrics-'));
    const nodes = ['n1', 'n2'].map((id) => ({
      id,
      driver: 'file',
      options: { root: path.join(dir, id), createRoot: true, fsync: false },
    }));
    await fs.writeFile(
      path.join(dir, 'topology.json'),
      JSON.stringify({ nodes, defaultReplicationFactor: 2 }),
    );
    for (const id of ['n1', 'n2']) {
      const store = new FileObjectStore({
        id,
        root: path.join(dir, id),
        createRoot: true,
        fsync: false,
      });
      await store.createBucket('photos');
      await store.createBucket('docs-x');
      for (let i = 0; i < (id === 'n1' ? 5 : 3); i++)
        await store.put('photos', `p/${i}.jpg`, Buffer.alloc(100 * (i + 1)));
      await store.put('docs-x', 'readme.txt', Buffer.from('hello'));
    }
    service = await startMetricsService({
      NATS_URL: server.url,
      RFW_PREFIX: prefix,
      TOPOLOGY_FILE: path.join(dir, 'topology.json'),
      HTTP_PORT: '0',
    });
    queue = await JobQueue.connect({ servers: server.url, prefix });
  });

  afterAll(async () => {
    await queue?.close();
    await service?.stop();
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  async function snapshots(): Promise<Map<string, StorageNodeSnapshot>> {
    const kv = await new Kvm(queue.ctx.nc).open(storageMetricsBucket(prefix));
    const out = new Map<string, StorageNodeSnapshot>();
    for await (const key of await kv.keys())
      out.set(key, (await kv.get(key))!.json<StorageNodeSnapshot>());
    return out;
  }

  async function metricsText(): Promise<string> {
    const res = await fetch(`${service.http.url}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  }

  async function collect(): Promise<Job> {
    const job = await waitForJob(queue, await queue.schedule(StorageJobType.Metrics, {}));
    expect(job.state).toBe('succeeded');
    return job;
  }

  it('snapshots capacity, usage per bucket, online status and canary latency of every node', async () => {
    await collect();
    const snaps = await snapshots();
    expect([...snaps.keys()].sort()).toEqual(['n1', 'n2']);
    const n1 = snaps.get('n1')!;
    expect(n1).toMatchObject({ schema: 1, node: 'n1', driver: 'file', online: true });
    expect(n1.error).toBeUndefined();
    expect(n1.capacity!.totalBytes).toBeGreaterThan(0);
    expect(n1.capacity!.freeBytes).toBeGreaterThan(0);
    expect(n1.buckets).toEqual([
      { bucket: 'docs-x', objects: 1, bytes: 5 },
      { bucket: 'photos', objects: 5, bytes: 1500 },
    ]);
    expect(n1.canary).toMatchObject({ ok: true, bucket: 'docs-x' });
    for (const op of ['putMs', 'getMs', 'deleteMs'] as const)
      expect(n1.canary![op]).toBeGreaterThanOrEqual(0);
    expect(n1.history.lastMinute).toHaveLength(1);
    expect(n1.history.lastHour).toHaveLength(1);
    // The canary left nothing behind.
    const left = await new FileObjectStore({ id: 'n1', root: path.join(dir, 'n1') }).list({
      bucket: 'docs-x',
    });
    expect(left.objects.map((o) => o.key)).toEqual(['readme.txt']);

    const text = await metricsText();
    expect(text).toMatch(/rfw_storage_online\{node="n1"[^}]*\} 1/);
    expect(text).toMatch(/rfw_storage_objects\{node="n2",bucket="photos"[^}]*\} 3/);
    expect(text).toMatch(/rfw_storage_capacity_bytes\{node="n1"[^}]*\} [1-9]/);
    expect(text).toMatch(/rfw_storage_free_bytes\{node="n2"[^}]*\} [1-9]/);
    expect(text).toMatch(/rfw_storage_canary_latency_seconds\{node="n1",op="get"[^}]*\} \d/);
  });

  it('reports a node whose directory is gone as offline, keeping its history', async () => {
    await fs.rename(path.join(dir, 'n2'), path.join(dir, 'n2-moved'));
    try {
      const job = await collect();
      expect(job.result).toMatchObject({
        nodes: [
          { node: 'n1', online: true },
          { node: 'n2', online: false },
        ],
      });
      const snaps = await snapshots();
      const n2 = snaps.get('n2')!;
      expect(n2.online).toBe(false);
      expect(n2.error).toMatch(/missing|not a directory|ENOENT/i);
      expect(n2.history.lastMinute.map((s) => s.online)).toEqual([true, false]);
      expect(snaps.get('n1')!.online).toBe(true);
      const text = await metricsText();
      expect(text).toMatch(/rfw_storage_online\{node="n2"[^}]*\} 0/);
      expect(text).toMatch(/rfw_storage_online\{node="n1"[^}]*\} 1/);
      expect(text).not.toMatch(/rfw_storage_canary_latency_seconds\{node="n2"/);
    } finally {
      await fs.rename(path.join(dir, 'n2-moved'), path.join(dir, 'n2'));
    }
    await collect();
    expect((await snapshots()).get('n2')!.online).toBe(true);
  });

  it('dead-letters a job naming an unknown node', async () => {
    const job = await waitForJob(
      queue,
      await queue.schedule(StorageJobType.Metrics, { node: 'nope' }),
    );
    expect(job.state).toBe('dead');
    const health = await fetch(`${service.http.url}/readyz`);
    expect(health.status).toBe(200);
  });
});
