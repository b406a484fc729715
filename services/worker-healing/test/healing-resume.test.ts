/**
 * A healing sweep interrupted by a shutdown (its running job aborted and
 * handed back) resumes on another worker from the checkpoint it saved in the
 * control bucket, and finishes with the same totals as an uninterrupted run.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '@rfw/core';
import { loadTopologyFile, type Topology } from '@rfw/storage';
import { makeFaultyStore, type FaultManifest } from '@rfw/storage/testing';
import { NatsServer, waitFor } from '@rfw/testkit';
import { WorkerManager } from '@rfw/worker';
import { createHealingWorker, type HealingCheckpoint, type HealingResult } from '../src/index.js';
import { collectEvents, finished } from './helpers.js';

describe('integration: healing resumes from its checkpoint', () => {
  let server: NatsServer;
  let dir: string;
  let manifest: FaultManifest;
  let topology: Topology;
  let queue: JobQueue;
  const managers: WorkerManager[] = [];

  const manager = async (workerId: string): Promise<WorkerManager> => {
    const m = await WorkerManager.create({
      servers: server.url,
      prefix: 'hres',
      workerId,
      shutdownGraceMs: 0,
      heartbeatIntervalMs: 500,
    });
    m.register(
      createHealingWorker({ topology, control: m.core.control, pageSize: 5, pauseMs: 150 }),
    );
    await m.start();
    managers.push(m);
    return m;
  };

  beforeAll(async () => {
    server = await NatsServer.start();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-heal-resume-'));
    manifest = await makeFaultyStore({
      dir: path.join(dir, 'store'),
      nodes: 3,
      objects: 40,
      largeObjects: 0,
      seed: 5,
    });
    topology = await loadTopologyFile(path.join(dir, 'store', 'topology.json'));
    queue = await JobQueue.connect({ servers: server.url, prefix: 'hres' });
  });

  afterAll(async () => {
    await Promise.all(managers.map((m) => m.shutdown()));
    await queue?.close();
    await topology?.close();
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('picks up where the interrupted attempt stopped', async () => {
    const first = await manager('heal-a');
    const progress = collectEvents(queue, 'healing', 'progress');
    const id = await queue.schedule(
      'healing',
      { scope: 'bucket', bucket: 'data', deep: true },
      { id: 'heal-resume', priority: 'high' },
    );
    await waitFor('the sweep to pass 15 objects', () =>
      progress.some((e) => e.id === id && (e.progress?.done ?? 0) >= 15),
    );
    await first.shutdown();
    const saved = (
      await queue.ctx.control.get(`checkpoint.healing.${id}`)
    )?.json<HealingCheckpoint>();
    expect(saved?.summary.scanned).toBeGreaterThanOrEqual(15);
    expect(saved?.total).toBe(40);

    await manager('heal-b');
    const job = await finished(queue, id);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    const r = job.result as HealingResult;
    const objectFaults = manifest.faults.filter((f) => 'key' in f && f.kind !== 'partial-upload');
    expect(r.resumedFrom).toMatchObject({ bucket: 'data', scanned: saved?.summary.scanned });
    expect(r).toMatchObject({ scanned: 40, total: 40, healed: objectFaults.length, failed: 0 });
    expect(new Set(r.issues.map((i) => `${i.node}|${i.key}`)).size).toBe(objectFaults.length);
    expect(await queue.ctx.control.get(`checkpoint.healing.${id}`)).toMatchObject({
      operation: 'PURGE',
    });
  });
});
