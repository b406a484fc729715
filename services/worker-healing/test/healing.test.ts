/**
 * The healing service as a real process against a real nats-server and a
 * 3-node file store with injected faults: every fault is found and repaired,
 * healthy replicas are never rewritten, a dry run writes nothing, dangling
 * objects are reported (and removed only on request), a node scope rebuilds
 * a wiped node, and bad payloads are dead-lettered with a readable reason.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '@rfw/core';
import { FileObjectStore } from '@rfw/storage';
import { makeFaultyStore, type FaultManifest } from '@rfw/storage/testing';
import { NatsServer, spawnService, type ServiceProcess } from '@rfw/testkit';
import type { HealingResult } from '../src/index.js';
import { collectEvents, dataFile, finished, objectFiles, snapshot } from './helpers.js';

const ENTRY = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const BUCKET = 'data';

/** What each injected object fault should be classified as. */
const STATE_OF: Record<string, string> = {
  bitrot: 'corrupt',
  truncated: 'corrupt',
  'missing-replica': 'missing',
  'stale-version': 'outdated',
};

describe('integration: healing service', () => {
  let server: NatsServer;
  let dir: string;
  let manifest: FaultManifest;
  let svc: ServiceProcess;
  let queue: JobQueue;
  let stores: FileObjectStore[];
  const root = (node: string): string =>
    manifest.nodes.find((n) => n.id === node)?.root ?? 'nowhere';
  const objectFaults = () => manifest.faults.filter((f) => f.kind in STATE_OF);

  const heal = async (payload: object, id?: string): Promise<HealingResult> => {
    const jobId = await queue.schedule('healing', payload, { priority: 'high', id });
    const job = await finished(queue, jobId);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    return job.result as HealingResult;
  };

  beforeAll(async () => {
    server = await NatsServer.start();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-heal-'));
    manifest = await makeFaultyStore({
      dir: path.join(dir, 'store'),
      nodes: 3,
      objects: 60,
      largeObjects: 1,
      blockSize: 64 * 1024,
      seed: 11,
    });
    stores = manifest.nodes.map((n) => new FileObjectStore({ id: n.id, root: n.root }));
    svc = spawnService(ENTRY, {
      env: {
        NATS_URL: server.url,
        RFW_PREFIX: 'heal',
        TOPOLOGY_FILE: path.join(dir, 'store', 'topology.json'),
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
        HEALING_PAGE_SIZE: '16',
      },
    });
    queue = await JobQueue.connect({ servers: server.url, prefix: 'heal' });
    await svc.waitForLine(/"msg":"service ready"/);
  });

  afterAll(async () => {
    await svc?.kill('SIGTERM');
    await queue?.close();
    await Promise.all((stores ?? []).map((s) => s.close()));
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('dry run: finds every fault (deep) and writes nothing', async () => {
    const before = await snapshot(path.join(dir, 'store'));
    const r = await heal({ scope: 'bucket', bucket: BUCKET, deep: true, dryRun: true });
    expect(await snapshot(path.join(dir, 'store'))).toEqual(before);

    const faults = objectFaults();
    const count = (...kinds: string[]) => faults.filter((f) => kinds.includes(f.kind)).length;
    expect(r).toMatchObject({
      dryRun: true,
      deep: true,
      scanned: 60,
      total: 60,
      healthy: 60 - faults.length,
      healed: faults.length,
      failed: 0,
      bitrot: count('bitrot', 'truncated'),
      missing: count('missing-replica'),
      outdated: count('stale-version'),
      dangling: 0,
    });
    const found = r.issues.map((i) => `${i.node} ${i.key} ${i.state} ${i.action}`).sort();
    const expected = faults
      .map((f) => `${f.node} ${'key' in f ? f.key : ''} ${STATE_OF[f.kind]} would-heal`)
      .sort();
    expect(found).toEqual(expected);
  });

  it('normal scan: presence, size and metadata; bitrot needs a deep scan', async () => {
    const r = await heal({ scope: 'bucket', bucket: BUCKET, dryRun: true });
    const count = (kind: string) => objectFaults().filter((f) => f.kind === kind).length;
    expect(r).toMatchObject({
      deep: false,
      bitrot: count('truncated'),
      missing: count('missing-replica'),
      outdated: count('stale-version'),
    });
  });

  it('repairs every fault, verifies the copies, never rewrites a healthy replica', async () => {
    const faults = objectFaults();
    const faulted = new Set(faults.map((f) => `${f.node}|${'key' in f ? f.key : ''}`));
    const healthyBefore = new Map<string, Awaited<ReturnType<typeof objectFiles>>>();
    for (const o of manifest.objects)
      for (const n of manifest.nodes)
        if (!faulted.has(`${n.id}|${o.key}`))
          healthyBefore.set(`${n.id}|${o.key}`, await objectFiles(n.root, o.bucket, o.key));

    const progress = collectEvents(queue, 'healing', 'progress');
    const r = await heal({ scope: 'bucket', bucket: BUCKET, deep: true }, 'heal-all');
    expect(r).toMatchObject({ dryRun: false, scanned: 60, healed: faults.length, failed: 0 });
    const bytes = faults.reduce(
      (sum, f) => sum + (manifest.objects.find((o) => 'key' in f && o.key === f.key)?.size ?? 0),
      0,
    );
    expect(r.bytesHealed).toBe(bytes);
    expect(r.issues.every((i) => i.action === 'healed')).toBe(true);

    // Every replica is now the current version and verifies, byte for byte.
    for (const o of manifest.objects) {
      for (const s of stores) {
        const v = await s.verify(o.bucket, o.key, { deep: true });
        expect(v.status, `${s.id} ${o.key}`).toBe('ok');
        expect(v.info).toMatchObject({ sha256: o.sha256, versionId: o.versionId, mtime: o.mtime });
      }
    }
    // Healthy replicas kept their files: same inodes, same mtimes.
    for (const [id, files] of healthyBefore) {
      const [node, key] = id.split('|') as [string, string];
      expect(await objectFiles(root(node), BUCKET, key), id).toEqual(files);
    }
    // Progress went out with a total and an ETA.
    const last = progress.filter((e) => e.id === 'heal-all').at(-1);
    expect(last?.progress).toMatchObject({ done: 60, total: 60 });
    expect(last?.progress?.message).toMatch(/60\/60 objects, \d+ healed, 0 failed, ETA \d+s/);

    // A second sweep finds nothing to do.
    const again = await heal({ scope: 'bucket', bucket: BUCKET, deep: true });
    expect(again).toMatchObject({ healthy: 60, healed: 0, bitrot: 0, missing: 0, outdated: 0 });
  });

  it('reports an object with no valid copy as dangling, and removes it only when asked', async () => {
    const o = manifest.objects.find((x) => x.size > 10) ?? manifest.objects[0]!;
    for (const n of manifest.nodes) await fs.truncate(await dataFile(n.root, o.bucket, o.key), 3);
    const kept = await heal({ scope: 'object', bucket: o.bucket, key: o.key });
    expect(kept).toMatchObject({ dangling: 1, removed: 0, healed: 0, bitrot: 3 });
    expect(kept.issues.map((i) => i.action)).toEqual(['reported', 'reported', 'reported']);
    for (const s of stores) expect(await s.head(o.bucket, o.key)).toBeDefined();

    const dry = await heal({
      scope: 'object',
      bucket: o.bucket,
      key: o.key,
      removeDangling: true,
      dryRun: true,
    });
    expect(dry.issues.map((i) => i.action)).toEqual([
      'would-remove',
      'would-remove',
      'would-remove',
    ]);
    for (const s of stores) expect(await s.head(o.bucket, o.key)).toBeDefined();

    const removed = await heal({
      scope: 'object',
      bucket: o.bucket,
      key: o.key,
      removeDangling: true,
    });
    expect(removed).toMatchObject({ dangling: 1, removed: 3 });
    for (const s of stores) expect(await s.head(o.bucket, o.key)).toBeUndefined();
    manifest.objects = manifest.objects.filter((x) => x !== o);
  });

  it('node scope rebuilds every object the topology places on a wiped node', async () => {
    await fs.rm(path.join(root('node-2'), BUCKET), { recursive: true });
    const others = ['node-1', 'node-3'];
    const before = await Promise.all(others.map((n) => snapshot(path.join(root(n), BUCKET))));
    const r = await heal({ scope: 'node', node: 'node-2' });
    expect(r).toMatchObject({
      scanned: manifest.objects.length,
      missing: manifest.objects.length,
      healed: manifest.objects.length,
      failed: 0,
    });
    for (const o of manifest.objects)
      expect(await stores[1]!.head(o.bucket, o.key)).toMatchObject({ sha256: o.sha256 });
    const after = await Promise.all(others.map((n) => snapshot(path.join(root(n), BUCKET))));
    expect(after).toEqual(before);
  });

  it('dead-letters invalid payloads with a readable reason', async () => {
    const bad = [
      {
        payload: { scope: 'object', bucket: BUCKET, key: '../../etc/passwd' },
        reason: /key: .*dot-dot-segment/,
      },
      { payload: { scope: 'node', node: 'node-9' }, reason: /node: unknown node node-9/ },
      { payload: { scope: 'prefix', bucket: BUCKET }, reason: /prefix: prefix is required/ },
    ];
    for (const b of bad) {
      const id = await queue.schedule('healing', b.payload);
      const job = await finished(queue, id);
      expect(job.state).toBe('dead');
      expect(job.deadReason ?? job.lastError).toMatch(b.reason);
    }
  });
});
