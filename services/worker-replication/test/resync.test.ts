/**
 * `replication-resync`: a resync walking a bucket page by page copies what
 * the replicas lack itself; SIGKILLed mid-walk, a second instance resumes
 * from the checkpoint in the control bucket, and no replica is written
 * twice (each copy is logged; the page redone finds the copies made). An
 * object the inline copy cannot finish gets a `replication` job for the
 * targets left, in the backlog ledger until that job has copied it.
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
import {
  BacklogLedger,
  replicationJobId,
  type ResyncCheckpoint,
  type ResyncResult,
} from '../src/index.js';
import { collect, finished } from './helpers.js';

const ENTRY = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const BUCKET = 'logs';
/** The bucket of the fallback test. */
const FB = 'fallback';
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
        LOG_LEVEL: 'debug',
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
      await s.createBucket(FB);
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
        buckets: [
          { name: BUCKET, replicationFactor: 3 },
          { name: FB, replicationFactor: 3 },
        ],
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

  /** `replica written` log lines of `procs`, as `key -> target`. */
  const written = (of: ServiceProcess[]): string[] =>
    of.flatMap((p) =>
      p.lines
        .filter((l) => l.includes('"msg":"replica written"'))
        .map((l) => {
          const j = JSON.parse(l) as { key: string; target: string };
          return `${j.key} -> ${j.target}`;
        }),
    );

  it('copies inline, resumes from its checkpoint after a crash, and writes each replica once', async () => {
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
    expect(cp?.copied).toBeGreaterThan(0);

    const second = start();
    await second.waitForLine(/"msg":"service ready"/);
    const job = await finished(queue, id, 60_000);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    const r = job.result as ResyncResult;
    expect(r.resumedFrom).toBe(cp?.after);
    expect(r.scannedThisAttempt).toBe(total - (cp?.scanned ?? 0));
    expect(r.scanned).toBe(total);
    expect(r.scheduled).toBe(0);
    // Objects the killed instance copied in the page it did not save are in sync on the redo.
    const redoneInSync = r.inSync - 20;
    expect(redoneInSync).toBeGreaterThanOrEqual(0);
    expect(redoneInSync).toBeLessThanOrEqual(10);
    expect(r.copied).toBe(behind.length - redoneInSync);
    expect(r.bytesCopied).toBeGreaterThan(0);
    expect(await queue.ctx.control.get(`checkpoint.replication-resync.${id}`)).toMatchObject({
      operation: 'PURGE',
    });

    // Every replica in place, each written once over both instances, and no replication job.
    for (const o of behind)
      for (const n of ['n2', 'n3']) {
        const h = await store(n).head(BUCKET, o.key);
        expect(h && { versionId: h.versionId, sha256: h.sha256 }, `${o.key} on ${n}`).toEqual({
          versionId: o.versionId,
          sha256: o.sha256,
        });
      }
    const copies = written([first, second]);
    expect(new Set(copies).size, 'a replica written twice').toBe(copies.length);
    // 60 objects lack two replicas, 10 lack one; the killed instance may die between a commit and its log line.
    expect(copies.length).toBeLessThanOrEqual(130);
    expect(copies.length).toBeGreaterThanOrEqual(130 - 8);
    for (const o of behind)
      expect(await queue.get(replicationJobId(BUCKET, o.key, o.versionId))).toBeUndefined();

    // A second resync finds everything in sync and copies and schedules nothing.
    const again = await finished(
      queue,
      await queue.schedule('replication-resync', { bucket: BUCKET, prefix: 'day-00/' }),
    );
    expect(again.result).toMatchObject({ scanned: 6, inSync: 6, copied: 0, scheduled: 0 });
    await Promise.all([first.kill('SIGKILL'), second.kill('SIGKILL')]);
  });

  it('schedules a replication job for the targets an inline copy could not finish', async () => {
    const objects: ObjectInfo[] = [];
    for (let i = 0; i < 6; i++) {
      const key = i < 2 ? `blocked/b-${i}.log` : `free/f-${i}.log`;
      objects.push(await store('n1').put(FB, key, randomBytes(3000 + i)));
    }
    // A file where n2 needs the directory `blocked/`: n2 lists and heads fine, but cannot commit there.
    const blocker = path.join(dir, 'n2', FB, 'blocked');
    await fs.writeFile(blocker, 'in the way');
    const proc = start();
    await proc.waitForLine(/"msg":"service ready"/);
    const id = await queue.schedule('replication-resync', { bucket: FB }, { id: 'resync-fb' });
    const job = await finished(queue, id);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    expect(job.result).toMatchObject({ scanned: 6, inSync: 0, copied: 4, scheduled: 2 });

    const blocked = objects.slice(0, 2);
    const jobIds = blocked.map((o) => replicationJobId(FB, o.key, o.versionId));
    for (const [i, jid] of jobIds.entries()) {
      const j = await queue.get(jid);
      expect(j?.payload).toEqual({
        bucket: FB,
        key: blocked[i]?.key,
        targetNodes: ['n2'],
        versionId: blocked[i]?.versionId,
      });
      expect(await queue.ctx.control.get(BacklogLedger.key('n2', jid))).toMatchObject({
        operation: 'PUT',
      });
      // n3 got its copy inline: the job is not its backlog.
      expect(await queue.ctx.control.get(BacklogLedger.key('n3', jid))).toBeNull();
    }
    expect(written([proc]).sort()).toEqual(
      [
        ...objects.slice(2).flatMap((o) => [`${o.key} -> n2`, `${o.key} -> n3`]),
        ...blocked.map((o) => `${o.key} -> n3`),
      ].sort(),
    );

    await fs.rm(blocker);
    for (const jid of jobIds) {
      const j = await finished(queue, jid);
      expect(j.state, JSON.stringify(j)).toBe('succeeded');
      expect(await queue.ctx.control.get(BacklogLedger.key('n2', jid))).toMatchObject({
        operation: 'DEL',
      });
    }
    for (const o of objects)
      for (const n of ['n2', 'n3']) {
        const h = await store(n).head(FB, o.key);
        expect(h?.sha256, `${o.key} on ${n}`).toBe(o.sha256);
      }
  });
});
