/**
 * The replication service as a real process, against a real nats-server,
 * three file nodes and an S3 node (s3rver): copies are verified and
 * idempotent, a node that is down opens its breaker and defers the job
 * without using attempts, bad payloads are dead-lettered with a readable
 * reason, and the metrics say what happened.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, type JobEvent } from '@rfw/core';
import { FileObjectStore, S3ObjectStore } from '@rfw/storage';
import { startS3TestServer, type S3TestServer } from '@rfw/storage/testing';
import { NatsServer, spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
import type { ReplicationResult } from '../src/index.js';
import { collect, dataStamp, finished, httpUrl, sample } from './helpers.js';

const ENTRY = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const BUCKET = 'data';
const NODES = ['n1', 'n2', 'n3'] as const;

describe('integration: replication service', () => {
  let server: NatsServer;
  let s3: S3TestServer;
  let dir: string;
  let svc: ServiceProcess;
  let http: string;
  let queue: JobQueue;
  const stores = new Map<string, FileObjectStore>();
  let s3store: S3ObjectStore;
  const root = (n: string): string => path.join(dir, n);
  const store = (n: string): FileObjectStore => stores.get(n) as FileObjectStore;

  const replicate = async (payload: object, id?: string) => {
    const jobId = await queue.schedule('replication', payload, { id });
    return finished(queue, jobId);
  };
  const succeeded = async (payload: object, id?: string): Promise<ReplicationResult> => {
    const job = await replicate(payload, id);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    return job.result as ReplicationResult;
  };

  beforeAll(async () => {
    server = await NatsServer.start();
    s3 = await startS3TestServer();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-repl-'));
    for (const n of NODES) {
      const s = new FileObjectStore({ id: n, root: root(n), createRoot: true, fsync: false });
      await s.createBucket(BUCKET);
      stores.set(n, s);
    }
    const s3node = {
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: s3.credentials,
      spoolDir: path.join(dir, 'spool'),
    };
    s3store = new S3ObjectStore({ id: 's3', ...s3node });
    await fs.mkdir(s3node.spoolDir);
    const topologyFile = path.join(dir, 'topology.json');
    await fs.writeFile(
      topologyFile,
      JSON.stringify({
        nodes: [
          ...NODES.map((id) => ({ id, driver: 'file', options: { root: root(id), fsync: false } })),
          { id: 's3', driver: 's3', options: s3node },
        ],
        buckets: [{ name: BUCKET, nodes: [...NODES] }],
      }),
    );
    svc = spawnService(ENTRY, {
      env: {
        NATS_URL: server.url,
        RFW_PREFIX: 'repl',
        TOPOLOGY_FILE: topologyFile,
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
        BREAKER_VOLUME_THRESHOLD: '2',
        BREAKER_RESET_MS: '1500',
        REPLICATION_DEFER_MS: '300',
        REPLICATION_BACKLOG_INTERVAL_MS: '500',
      },
    });
    queue = await JobQueue.connect({ servers: server.url, prefix: 'repl' });
    http = httpUrl(await svc.waitForLine(/"msg":"service ready"/));
  });

  afterAll(async () => {
    await svc?.kill('SIGTERM');
    await queue?.close();
    await Promise.all([...stores.values()].map((s) => s.close()));
    await s3store?.close();
    await s3?.stop();
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('copies to every replica, verified; a second run copies nothing', async () => {
    const key = 'photos/2024/one.bin';
    const body = randomBytes(300_000);
    const src = await store('n1').put(BUCKET, key, body, { userMetadata: { owner: 'ann' } });
    const first = await succeeded({ bucket: BUCKET, key });
    expect(first).toMatchObject({
      source: 'n1',
      versionId: src.versionId,
      targets: { n2: 'copied', n3: 'copied' },
      bytes: 2 * body.length,
    });
    for (const n of ['n2', 'n3']) {
      const v = await store(n).verify(BUCKET, key, { deep: true });
      expect(v.status).toBe('ok');
      expect(v.info).toMatchObject({
        sha256: src.sha256,
        versionId: src.versionId,
        mtime: src.mtime,
        userMetadata: { owner: 'ann' },
      });
    }
    const before = await dataStamp(root('n2'), BUCKET, key);
    // The same payload again (as a redelivery or a duplicate producer would send it).
    const second = await succeeded({ bucket: BUCKET, key, versionId: src.versionId });
    expect(second).toMatchObject({
      targets: { n2: 'skipped-identical', n3: 'skipped-identical' },
      bytes: 0,
    });
    expect(await dataStamp(root('n2'), BUCKET, key)).toEqual(before);
  });

  it('never downgrades a target that holds a newer version', async () => {
    const key = 'newer.txt';
    await store('n2').put(BUCKET, key, Buffer.from('new'), { mtime: Date.now() });
    await store('n1').put(BUCKET, key, Buffer.from('old'), { mtime: Date.now() - 60_000 });
    const r = await succeeded({ bucket: BUCKET, key, sourceNode: 'n1', targetNodes: ['n2'] });
    expect(r.targets).toEqual({ n2: 'skipped-newer' });
    expect((await store('n2').head(BUCKET, key))?.size).toBe(3);
    const text = async () =>
      (await store('n2').get(BUCKET, key)).body.toArray().then((b) => Buffer.concat(b).toString());
    expect(await text()).toBe('new');
  });

  it('defers without using attempts while a target is down, then completes', async () => {
    const key = 'down/obj.bin';
    const src = await store('n1').put(BUCKET, key, randomBytes(50_000));
    const deferred = collect<JobEvent>(queue, 'replication', 'deferred');
    const breaker = collect<{ key: string; state: string }>(queue, 'replication', 'breaker');
    await fs.rename(root('n3'), `${root('n3')}.away`);
    const id = await queue.schedule(
      'replication',
      { bucket: BUCKET, key },
      { id: 'repl-down', maxRetries: 2 },
    );
    await waitFor(
      'three deferrals and an open breaker',
      () =>
        deferred.filter((e) => e.id === id).length >= 3 &&
        breaker.some((b) => b.key === 'n3' && b.state === 'open'),
      { timeoutMs: 30_000 },
    );
    const waiting = await queue.get(id);
    expect(waiting?.state).not.toBe('dead');
    expect(waiting?.attempts ?? 0).toBeLessThanOrEqual(1);
    expect(deferred.find((e) => e.id === id)?.reason).toMatch(/n3/);
    // The reachable target got its copy already; the backlog shows the lagging one.
    expect((await store('n2').head(BUCKET, key))?.sha256).toBe(src.sha256);
    await waitFor('backlog gauge for n3', async () => {
      const text = await (await fetch(`${http}/metrics`)).text();
      return (sample(text, 'rfw_replication_backlog_jobs', 'target="n3"') ?? 0) >= 1;
    });

    await fs.rename(`${root('n3')}.away`, root('n3'));
    const job = await finished(queue, id);
    expect(job.state).toBe('succeeded');
    expect(job.attempts).toBe(1);
    expect(job.result).toMatchObject({ targets: { n2: 'skipped-identical', n3: 'copied' } });
    expect((await store('n3').verify(BUCKET, key, { deep: true })).status).toBe('ok');
    await waitFor('backlog gauge back to 0', async () => {
      const text = await (await fetch(`${http}/metrics`)).text();
      return sample(text, 'rfw_replication_backlog_jobs', 'target="n3"') === 0;
    });
  });

  it('replicates to an S3 node (bucket created on first write)', async () => {
    const key = 'to-s3/blob.bin';
    const src = await store('n1').put(BUCKET, key, randomBytes(700_000), {
      contentType: 'application/x-test',
    });
    const r = await succeeded({ bucket: BUCKET, key, targetNodes: ['s3'] });
    expect(r.targets).toEqual({ s3: 'copied' });
    const v = await s3store.verify(BUCKET, key, { deep: true });
    expect(v.status).toBe('ok');
    expect(v.info).toMatchObject({
      sha256: src.sha256,
      versionId: src.versionId,
      mtime: src.mtime,
      contentType: 'application/x-test',
    });
    const again = await succeeded({ bucket: BUCKET, key, targetNodes: ['s3'] });
    expect(again.targets).toEqual({ s3: 'skipped-identical' });
  });

  it('dead-letters invalid payloads with a readable reason, using no attempt', async () => {
    const cases = [
      { payload: { bucket: BUCKET, key: '../../etc/passwd' }, reason: /key: .*dot-dot-segment/ },
      { payload: { bucket: BUCKET, key: 'a//b' }, reason: /key: .*empty-segment/ },
      {
        payload: { bucket: BUCKET, key: 'x', targetNodes: ['n9'] },
        reason: /targetNodes\.0: unknown node n9/,
      },
      { payload: { bucket: 'Bad_Bucket', key: 'x' }, reason: /bucket: invalid bucket name/ },
      { payload: { bucket: BUCKET, key: 'k'.repeat(1025) }, reason: /key: / },
    ];
    for (const c of cases) {
      const job = await replicate(c.payload);
      expect(job.state).toBe('dead');
      expect(job.attempts).toBe(0);
      expect(job.deadReason ?? job.lastError).toMatch(c.reason);
    }
    const dlq = await queue.listDeadLetters({ type: 'replication' });
    expect(dlq.deadLetters.length).toBeGreaterThanOrEqual(cases.length);
  });

  it('exposes health, readiness and replication metrics', async () => {
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
    expect((await fetch(`${http}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${http}/metrics`)).text();
    expect(sample(text, 'rfw_replication_bytes_total', 'target="n2"')).toBeGreaterThan(0);
    expect(
      sample(text, 'rfw_replication_objects_total', 'outcome="skipped-identical"'),
    ).toBeGreaterThan(0);
    expect(sample(text, 'rfw_replication_failures_total', 'reason="unavailable"')).toBeGreaterThan(
      0,
    );
    expect(text).toMatch(/rfw_replication_copy_seconds_bucket\{/);
    expect(text).toMatch(/rfw_replication_queue_depth\{[^}]*\} \d+/);
  });
});
