import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobQueue, newRecord, type Job } from '@rfw/core/internal';
import { NatsServer } from '@rfw/testkit';
import { FileObjectStore, loadTopologyFile, type ObjectInfo, type Topology } from '@rfw/storage';
import { StorageJobType } from '@rfw/storage-jobs';
import { WorkerManager } from '@rfw/worker';
import {
  createCleanupWorker,
  parseLifecycleRules,
  type CleanupResult,
  type CleanupWorkerOptions,
} from '../src/index.js';

const HOUR = 3600_000;
let counter = 0;

async function waitForJob(q: JobQueue, id: string, timeoutMs = 30_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = await q.get(id);
    if (j && ['succeeded', 'dead', 'cancelled'].includes(j.state)) return j;
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish: ${JSON.stringify(j)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function listKeys(store: FileObjectStore, bucket: string): Promise<string[]> {
  const page = await store.list({ bucket });
  return page.objects.map((o) => o.key);
}

describe('integration: cleanup worker', () => {
  let server: NatsServer;
  let dir: string;
  let topology: Topology;
  let queue: JobQueue;
  let manager: WorkerManager | undefined;
  let prefix: string;
  let n1: FileObjectStore;
  let n2: FileObjectStore;

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  beforeEach(async () => {
    prefix = `cl${++counter}`;
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-cleanup-'));
    const nodes = ['n1', 'n2'].map((id) => ({
      id,
      driver: 'file',
      options: { root: path.join(dir, id), createRoot: true, fsync: false },
    }));
    await fs.writeFile(
      path.join(dir, 'topology.json'),
      JSON.stringify({ nodes, defaultReplicationFactor: 2 }),
    );
    topology = await loadTopologyFile(path.join(dir, 'topology.json'));
    n1 = topology.nodes.get('n1') as FileObjectStore;
    n2 = topology.nodes.get('n2') as FileObjectStore;
    for (const s of [n1, n2]) for (const b of ['logs-data', 'keep-data']) await s.createBucket(b);
    queue = await JobQueue.connect({ servers: server.url, prefix });
  });

  afterEach(async () => {
    await manager?.shutdown();
    manager = undefined;
    await queue.close();
    await topology.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function startWorker(extra: Partial<CleanupWorkerOptions> = {}): Promise<WorkerManager> {
    const m = await WorkerManager.create({
      servers: server.url,
      prefix,
      workerId: `cleanup-${counter}`,
    });
    m.register(
      createCleanupWorker({
        topology,
        queue,
        core: m.core,
        rules: parseLifecycleRules([
          { bucket: 'logs-data', prefix: 'tmp/', maxAgeMs: HOUR },
          { bucket: 'logs-data', prefix: 'old/', maxAgeMs: 24 * HOUR },
        ]),
        batchSize: 3,
        registry: m.metrics.registry,
        ...extra,
      }),
    );
    await m.start();
    manager = m;
    return m;
  }

  async function run(payload: Record<string, unknown>): Promise<CleanupResult> {
    const id = await queue.schedule(StorageJobType.Cleanup, payload);
    const job = await waitForJob(queue, id);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    return job.result as CleanupResult;
  }

  /** The same object version on both nodes (as replication leaves it). */
  async function putBoth(bucket: string, key: string, ageMs: number): Promise<ObjectInfo> {
    const info = await n1.put(bucket, key, Buffer.from(`${bucket}/${key}`), {
      mtime: Date.now() - ageMs,
    });
    await n2.put(bucket, key, Buffer.from(`${bucket}/${key}`), {
      mtime: info.mtime,
      versionId: info.versionId,
    });
    return info;
  }

  async function seedLifecycle(): Promise<string[]> {
    const ages = { fresh: 10 * 60_000, hours: 2 * HOUR, days: 2 * 24 * HOUR };
    for (const bucket of ['logs-data', 'keep-data']) {
      for (const dirName of ['tmp', 'old', 'other']) {
        for (const [name, age] of Object.entries(ages)) {
          for (let i = 0; i < 2; i++) await putBoth(bucket, `${dirName}/${name}-${i}.log`, age);
        }
      }
    }
    // Expected: logs-data tmp/ older than 1 h, old/ older than 1 day.
    return [
      'old/days-0.log',
      'old/days-1.log',
      'tmp/days-0.log',
      'tmp/days-1.log',
      'tmp/hours-0.log',
      'tmp/hours-1.log',
    ];
  }

  it('a dry run reports exactly the expired set and deletes nothing; the real run deletes exactly it', async () => {
    const expired = await seedLifecycle();
    const before = { a: await listKeys(n1, 'logs-data'), b: await listKeys(n2, 'logs-data') };
    await startWorker();

    const dry = await run({ kind: 'lifecycle', dryRun: true });
    expect(dry.dryRun).toBe(true);
    const wouldDelete = (dry.items ?? []).map((i) => `${i.node}:${i.bucket}/${i.key}`).sort();
    expect(wouldDelete).toEqual(
      ['n1', 'n2'].flatMap((n) => expired.map((k) => `${n}:logs-data/${k}`)).sort(),
    );
    expect(dry.deleted.lifecycle?.objects).toBe(12);
    expect(await listKeys(n1, 'logs-data')).toEqual(before.a);
    expect(await listKeys(n2, 'logs-data')).toEqual(before.b);

    const real = await run({ kind: 'lifecycle' });
    expect(real.deleted.lifecycle).toMatchObject({ objects: 12 });
    expect(real.errors).toBe(0);
    const keep = (keys: string[]) => keys.filter((k) => !expired.includes(k));
    expect(await listKeys(n1, 'logs-data')).toEqual(keep(before.a));
    expect(await listKeys(n2, 'logs-data')).toEqual(keep(before.b));
    expect(await listKeys(n1, 'keep-data')).toHaveLength(18);

    // Every delete told the indexer.
    const notices = await queue.list({
      type: StorageJobType.Indexing,
      status: 'pending',
      limit: 100,
    });
    expect(notices.jobs.map((j) => (j.payload as { key: string }).key).sort()).toEqual(
      [...expired, ...expired].sort(),
    );
    expect(notices.jobs.every((j) => (j.payload as { op: string }).op === 'delete')).toBe(true);

    const metrics = await manager!.metrics.registry.metrics();
    expect(metrics).toMatch(/rfw_cleanup_deleted_objects_total\{reason="lifecycle"[^}]*\} 12/);
  });

  it('never deletes an object modified between selection and delete', async () => {
    const victims = ['tmp/a.log', 'tmp/b.log', 'tmp/c.log', 'tmp/d.log'];
    for (const k of victims)
      await n1.put('logs-data', k, Buffer.from('x'), { mtime: Date.now() - 3 * HOUR });
    let raced = false;
    await startWorker({
      batchSize: 10,
      async beforeDelete(node, batch) {
        if (node !== 'n1' || raced) return;
        raced = true;
        expect(batch.map((o) => o.key)).toEqual(victims);
        // A new version that is just as old (only the version differs) ...
        await n1.put('logs-data', 'tmp/b.log', Buffer.from('new b'), { mtime: batch[1]!.mtime });
        // ... and a rewrite with a fresh mtime.
        await n1.put('logs-data', 'tmp/c.log', Buffer.from('new c'));
      },
    });
    const result = await run({ kind: 'lifecycle', node: 'n1' });
    expect(raced).toBe(true);
    expect(result.deleted.lifecycle?.objects).toBe(2);
    expect(result.skipped.modified).toBe(2);
    expect(await listKeys(n1, 'logs-data')).toEqual(['tmp/b.log', 'tmp/c.log']);
  });

  it('skips objects whose replication is still pending', async () => {
    await putBoth('logs-data', 'tmp/pending.log', 3 * HOUR);
    await putBoth('logs-data', 'tmp/settled.log', 3 * HOUR);
    // No replication worker runs here: the job stays pending in the stream.
    await queue.schedule(StorageJobType.Replication, {
      bucket: 'logs-data',
      key: 'tmp/pending.log',
    });
    await startWorker();
    const result = await run({ kind: 'lifecycle', bucket: 'logs-data' });
    expect(result.skipped['replication-pending']).toBe(2);
    expect(result.deleted.lifecycle?.objects).toBe(2);
    expect(await listKeys(n1, 'logs-data')).toEqual(['tmp/pending.log']);
    expect(await listKeys(n2, 'logs-data')).toEqual(['tmp/pending.log']);
  });

  it("the seed's max_file_age: maxAgeMs and node override the rules", async () => {
    await putBoth('keep-data', 'x/old.bin', 5 * HOUR);
    await putBoth('keep-data', 'x/new.bin', HOUR);
    await putBoth('logs-data', 'other/old.bin', 5 * HOUR);
    await startWorker();
    const result = await run({ kind: 'lifecycle', maxAgeMs: 2 * HOUR, node: 'n2' });
    expect(result.deleted['max-age']?.objects).toBe(2);
    expect(await listKeys(n2, 'keep-data')).toEqual(['x/new.bin']);
    expect(await listKeys(n2, 'logs-data')).toEqual([]);
    expect(await listKeys(n1, 'keep-data')).toEqual(['x/new.bin', 'x/old.bin']);
    // An unknown node is the payload's fault: dead at once, with the reason.
    const bad = await waitForJob(
      queue,
      await queue.schedule(StorageJobType.Cleanup, { node: 'nope' }),
    );
    expect(bad).toMatchObject({ state: 'dead', attempts: 1 });
    expect(`${bad.deadReason} ${bad.lastError}`).toMatch(/node nope is not in the topology/);
  });

  it('removes stale temp files and abandoned partial uploads, keeping young ones', async () => {
    const tmpDir = path.join(n1.root, '.rfw-tmp');
    await fs.mkdir(tmpDir, { recursive: true });
    const old = new Date(Date.now() - 30 * HOUR);
    await fs.writeFile(path.join(tmpDir, 'stale.data'), 'leftover');
    await fs.utimes(path.join(tmpDir, 'stale.data'), old, old);
    await fs.writeFile(path.join(tmpDir, 'inflight.data'), 'writing');
    const abandoned = await n1.createPartialUpload('logs-data', 'big/upload.bin');
    await n1.uploadPart(abandoned, 1, Buffer.alloc(1000));
    const uploadDir = path.join(n1.root, '.rfw-multipart', abandoned);
    for (const f of await fs.readdir(uploadDir)) await fs.utimes(path.join(uploadDir, f), old, old);
    const active = await n1.createPartialUpload('logs-data', 'big/active.bin');
    await n1.uploadPart(active, 1, Buffer.alloc(10));
    await startWorker();

    const dry = await run({ kind: 'all', dryRun: true, node: 'n1' });
    expect(dry.items?.filter((i) => i.reason !== 'lifecycle')).toEqual([
      expect.objectContaining({ reason: 'temp-file', name: 'stale.data', size: 8 }),
      expect.objectContaining({ reason: 'partial-upload', name: abandoned, size: 1000 }),
    ]);
    expect((await n1.listTempFiles()).map((f) => f.name)).toContain('stale.data');

    const temp = await run({ kind: 'temp-files', node: 'n1' });
    expect(temp.deleted['temp-file']).toEqual({ objects: 1, bytes: 8 });
    expect((await n1.listTempFiles()).map((f) => f.name)).not.toContain('stale.data');
    expect((await n1.listTempFiles()).map((f) => f.name)).toContain('inflight.data');

    const uploads = await run({ kind: 'partial-uploads' });
    expect(uploads.deleted['partial-upload']).toEqual({ objects: 1, bytes: 1000 });
    expect((await n1.listPartialUploads()).map((u) => u.uploadId)).toEqual([active]);
  });

  it('purges finished job records past the retention, and only those', async () => {
    const records = (await JobQueue.connect({ servers: server.url, prefix })).ctx.records;
    const old = Date.now() - 8 * 24 * HOUR;
    const mk = (id: string, state: Job['state'], at: number) =>
      records.create(
        newRecord(
          {
            id,
            type: 'demo',
            priority: 'normal',
            payload: {},
            maxRetries: 0,
            timeoutMs: 1000,
            createdAt: at,
            runAt: at,
          },
          state,
          at,
        ),
      );
    await mk('old-succeeded', 'succeeded', old);
    await mk('old-dead', 'dead', old);
    await mk('old-cancelled', 'cancelled', old);
    await mk('old-but-running', 'running', old);
    await mk('recent-succeeded', 'succeeded', Date.now() - HOUR);
    await startWorker({ jobRetentionMs: 7 * 24 * HOUR });

    const dry = await run({ kind: 'job-records', dryRun: true });
    expect((dry.items ?? []).map((i) => i.name).sort()).toEqual([
      'old-cancelled',
      'old-dead',
      'old-succeeded',
    ]);
    expect(await records.get('old-dead')).toBeDefined();

    const real = await run({ kind: 'job-records' });
    expect(real.deleted['job-record']?.objects).toBe(3);
    for (const id of ['old-succeeded', 'old-dead', 'old-cancelled'])
      expect(await records.get(id)).toBeUndefined();
    for (const id of ['old-but-running', 'recent-succeeded'])
      expect(await records.get(id)).toBeDefined();
  });
});
