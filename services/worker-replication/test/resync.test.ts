/**
 * `replication-resync` across a crash: a resync walking a bucket page by page
 * is SIGKILLed mid-walk, a second instance resumes from the checkpoint in the
 * control bucket, every object that lacked a replica gets exactly one
 * replication job (deterministic ids), and the bucket ends fully replicated.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, type JobEvent } from '@rfw/core';
import { FileObjectStore, type ObjectInfo } from '@rfw/storage';
import { NatsServer, spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
import { replicationJobId, type ResyncCheckpoint, type ResyncResult } from '../src/index.js';
import { collect, finished } from './helpers.js';

const ENTRY = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const BUCKET = 'logs';
const NODES = ['n1', 'n2', 'n3'] as const;

describe('integration: replication resync', () => {
  let server: NatsServer;
  let dir: string;
  let topologyFile: string;
  let queue: JobQueue;
  const procs: ServiceProcess[] = [];
  const stores = new Map<string, FileObjectStore>();
  const store = (n: string): FileObjectStore => stores.get(n) as FileObjectStore;
  /** Objects some replica lacks, as n1 holds them. */
  const behind: ObjectInfo[] = [];
  let total = 0;

  const start = (): ServiceProcess => {
    const p = spawnService(ENTRY, {
      env: {
        NATS_URL: server.url,
        RFW_PREFIX: 'rsync',
        TOPOLOGY_FILE: topologyFile,
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
        ACK_WAIT_MS: '2000',
        REPLICATION_RESYNC_PAGE_SIZE: '10',
        REPLICATION_RESYNC_PAUSE_MS: '300',
      },
    });
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    server = await NatsServer.start();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-resync-'));
    for (const n of NODES) {
      const s = new FileObjectStore({
        id: n,
        root: path.join(dir, n),
        createRoot: true,
        fsync: false,
      });
      await s.createBucket(BUCKET);
      stores.set(n, s);
    }
    topologyFile = path.join(dir, 'topology.json');
    await fs.writeFile(
      topologyFile,
      JSON.stringify({
        nodes: NODES.map((id) => ({
          id,
          driver: 'file',
          options: { root: path.join(dir, id), fsync: false },
        })),
        buckets: [{ name: BUCKET, replicationFactor: 3 }],
      }),
    );
    const now = Date.now();
    // 60 objects only on n1, one of them under a very long key.
    for (let i = 0; i < 60; i++) {
      const key =
        i === 7
          ? `long/${'k'.repeat(250)}/${'e'.repeat(250)}/${'y'.repeat(250)}.log`
          : `day-${String(i % 10).padStart(2, '0')}/part-${String(i).padStart(4, '0')}.log`;
      behind.push(await store('n1').put(BUCKET, key, randomBytes(2000 + i)));
    }
    // 10 objects where n2 holds an older version.
    for (let i = 0; i < 10; i++) {
      const key = `stale/s-${i}.log`;
      await store('n2').put(BUCKET, key, randomBytes(100), { mtime: now - 3_600_000 });
      const fresh = await store('n1').put(BUCKET, key, randomBytes(120), { mtime: now });
      await store('n3').put(BUCKET, key, await bodyOf('n1', key), {
        versionId: fresh.versionId,
        mtime: fresh.mtime,
      });
      behind.push(fresh);
    }
    // 20 objects already on every node.
    for (let i = 0; i < 20; i++) {
      const key = `ok/o-${i}.log`;
      const info = await store('n1').put(BUCKET, key, randomBytes(50));
      for (const n of ['n2', 'n3'])
        await store(n).put(BUCKET, key, await bodyOf('n1', key), {
          versionId: info.versionId,
          mtime: info.mtime,
        });
    }
    total = 90;
    queue = await JobQueue.connect({ servers: server.url, prefix: 'rsync' });
  });

  async function bodyOf(node: string, key: string): Promise<Buffer> {
    const { body } = await store(node).get(BUCKET, key);
    return Buffer.concat(await body.toArray());
  }

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await queue?.close();
    await Promise.all([...stores.values()].map((s) => s.close()));
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('resumes from its checkpoint after a crash and schedules each object once', async () => {
    const first = start();
    await first.waitForLine(/"msg":"service ready"/);
    const progress = collect<JobEvent>(queue, 'replication-resync', 'progress');
    const id = await queue.schedule('replication-resync', { bucket: BUCKET }, { id: 'resync-1' });
    await waitFor('the walk to pass 30 objects', () =>
      progress.some((e) => e.id === id && (e.progress?.done ?? 0) >= 30),
    );
    await first.kill('SIGKILL');

    const entry = await queue.ctx.control.get(`checkpoint.replication-resync.${id}`);
    const cp = entry?.json<ResyncCheckpoint>();
    expect(cp?.scanned).toBeGreaterThanOrEqual(30);
    expect(cp?.scanned).toBeLessThan(total);
    expect(cp?.after).toBeTruthy();

    const second = start();
    await second.waitForLine(/"msg":"service ready"/);
    const job = await finished(queue, id, 60_000);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    const r = job.result as ResyncResult;
    expect(r.resumedFrom).toBe(cp?.after);
    expect(r.scannedThisAttempt).toBe(total - (cp?.scanned ?? 0));
    expect(r.scanned).toBe(total);
    expect(r.inSync).toBe(20);
    expect(r.scheduled).toBe(behind.length);
    expect(await queue.ctx.control.get(`checkpoint.replication-resync.${id}`)).toMatchObject({
      operation: 'PURGE',
    });

    // Exactly one replication job per lagging object, under its deterministic id.
    for (const o of behind) {
      const j = await finished(queue, replicationJobId(BUCKET, o.key, o.versionId));
      expect(j.state, o.key).toBe('succeeded');
    }
    await waitFor('every replica in place', async () => {
      for (const o of behind)
        for (const n of ['n2', 'n3']) {
          const h = await store(n).head(BUCKET, o.key);
          if (h?.sha256 !== o.sha256 || h.versionId !== o.versionId) return false;
        }
      return true;
    });
    // No duplicates: one `succeeded` event per job (a job finished by the killed process may
    // have recorded its success without getting to publish the event).
    const succeededEvents = (await queue.statistics()).byType.replication?.total.succeeded ?? 0;
    expect(succeededEvents).toBeLessThanOrEqual(behind.length);
    expect(succeededEvents).toBeGreaterThanOrEqual(behind.length - 1);

    // A second resync finds everything in sync and schedules nothing.
    const again = await finished(
      queue,
      await queue.schedule('replication-resync', { bucket: BUCKET, prefix: 'day-00/' }),
    );
    expect(again.result).toMatchObject({ scanned: 6, inSync: 6, scheduled: 0 });
  });
});
