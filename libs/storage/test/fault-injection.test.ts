import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buffer as readAll } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileObjectStore, ObjectCorruptedError, openTopology } from '../src/index.js';
import { makeFaultyStore, type Fault } from '../src/testing.js';

const run = promisify(execFile);
let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-faulty-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** What an independent scrub of every node finds, in the manifest's vocabulary. */
async function scrub(manifest: Awaited<ReturnType<typeof makeFaultyStore>>): Promise<Fault[]> {
  const topology = openTopology(manifest.topology);
  const found: Fault[] = [];
  for (const [node, store] of topology.nodes) {
    const file = store as FileObjectStore;
    for (const o of manifest.objects) {
      const v = await store.verify(o.bucket, o.key, { deep: true });
      if (v.status === 'missing')
        found.push({ kind: 'missing-replica', node, bucket: o.bucket, key: o.key });
      else if (v.status === 'size-mismatch') {
        found.push({
          kind: 'truncated',
          node,
          bucket: o.bucket,
          key: o.key,
          originalSize: o.size,
          truncatedTo: v.actualSize ?? -1,
          blocks: v.corruptBlocks,
        });
      } else if (v.status === 'corrupt') {
        found.push({
          kind: 'bitrot',
          node,
          bucket: o.bucket,
          key: o.key,
          offsets: [],
          blocks: v.corruptBlocks,
        });
      } else if (v.status === 'ok' && v.info && v.info.versionId !== o.versionId) {
        found.push({
          kind: 'stale-version',
          node,
          bucket: o.bucket,
          key: o.key,
          staleVersionId: v.info.versionId,
          staleMtime: v.info.mtime,
          staleSha256: v.info.sha256,
          currentVersionId: o.versionId,
          currentMtime: o.mtime,
        });
      } else {
        expect(v.status).toBe('ok');
      }
    }
    for (const t of await file.listTempFiles()) {
      if (t.ageMs > 3_600_000)
        found.push({
          kind: 'temp-file',
          node,
          name: t.name,
          path: t.path,
          size: t.size,
          mtime: t.mtime,
        });
    }
    for (const u of await file.listPartialUploads()) {
      if (u.ageMs > 3_600_000) {
        found.push({
          kind: 'partial-upload',
          node,
          uploadId: u.uploadId,
          bucket: u.bucket,
          key: u.key,
          parts: u.parts,
          bytes: u.bytes,
          mtime: u.lastActivity,
        });
      }
    }
    for (const b of manifest.buckets) expect(await file.listOrphanData(b)).toEqual([]);
  }
  await topology.close();
  return found;
}

describe('fault generator', () => {
  it('injects exactly the faults in its manifest, all detectable', async () => {
    const manifest = await makeFaultyStore({
      dir,
      nodes: 3,
      objects: 40,
      largeObjects: 1,
      buckets: ['data', 'logs'],
      blockSize: 256 * 1024,
      seed: 7,
      faults: {
        bitrot: 3,
        'missing-replica': 3,
        'stale-version': 3,
        truncated: 3,
        'temp-file': 2,
        'partial-upload': 2,
      },
    });
    expect(manifest.objects).toHaveLength(40);
    expect(manifest.objects.some((o) => o.size === 0 || o.size > 2 * 1024 * 1024)).toBe(true);
    expect(manifest.faults.filter((f) => f.kind === 'bitrot')).toHaveLength(3);

    // Each faulted object is faulted once, on one node, so a good replica always remains.
    const objectFaults = manifest.faults.filter((f) => 'key' in f && f.kind !== 'partial-upload');
    expect(new Set(objectFaults.map((f) => ('key' in f ? `${f.bucket}/${f.key}` : ''))).size).toBe(
      objectFaults.length,
    );
    // The first bitrot hits the multi-MiB object, flipping bytes in more than one place.
    const firstRot = manifest.faults.find((f) => f.kind === 'bitrot');
    expect(firstRot && 'offsets' in firstRot ? firstRot.offsets.length : 0).toBeGreaterThanOrEqual(
      1,
    );

    const found = await scrub(manifest);
    const norm = (f: Fault): string => {
      switch (f.kind) {
        case 'bitrot':
          return `${f.kind} ${f.node} ${f.bucket}/${f.key} blocks=${f.blocks.join(',')}`;
        case 'truncated':
          return `${f.kind} ${f.node} ${f.bucket}/${f.key} to=${f.truncatedTo} blocks=${f.blocks.join(',')}`;
        case 'stale-version':
          return `${f.kind} ${f.node} ${f.bucket}/${f.key} ${f.staleVersionId} ${f.staleMtime} ${f.staleSha256}`;
        case 'missing-replica':
          return `${f.kind} ${f.node} ${f.bucket}/${f.key}`;
        case 'temp-file':
          return `${f.kind} ${f.node} ${f.name} ${f.size} ${Math.round(f.mtime / 1000)}`;
        case 'partial-upload':
          return `${f.kind} ${f.node} ${f.uploadId} ${f.bucket}/${f.key} ${f.parts} ${f.bytes} ${Math.round(f.mtime / 1000)}`;
      }
    };
    expect(found.map(norm).sort()).toEqual(manifest.faults.map(norm).sort());
  });

  it('makes reads of rotten replicas fail while healthy replicas serve the bytes', async () => {
    const manifest = await makeFaultyStore({
      dir,
      nodes: 2,
      objects: 12,
      largeObjects: 0,
      seed: 3,
      faults: { bitrot: 2, truncated: 0, 'missing-replica': 0, 'stale-version': 0 },
    });
    const topology = openTopology(manifest.topology);
    for (const fault of manifest.faults) {
      if (fault.kind !== 'bitrot') continue;
      const bad = topology.nodes.get(fault.node);
      const good = [...topology.nodes.values()].find((s) => s.id !== fault.node);
      const rotten = await bad?.get(fault.bucket, fault.key);
      await expect(
        readAll(rotten?.body ?? (await Promise.reject(new Error('no body')))),
      ).rejects.toBeInstanceOf(ObjectCorruptedError);
      const healthy = await good?.get(fault.bucket, fault.key);
      const bytes = await readAll(healthy?.body ?? (await Promise.reject(new Error('no body'))));
      expect(bytes.length).toBe(manifest.objects.find((o) => o.key === fault.key)?.size);
    }
    await topology.close();
  });

  it('refuses a non-empty directory and a single node', async () => {
    await fs.writeFile(path.join(dir, 'x'), 'x');
    await expect(makeFaultyStore({ dir, objects: 5 })).rejects.toThrow(/not empty/);
    await expect(makeFaultyStore({ dir: path.join(dir, 'sub'), nodes: 1 })).rejects.toThrow(
      /at least 2 nodes/,
    );
  });

  it('runs as a CLI and writes manifest.json and topology.json', async () => {
    const out = path.join(dir, 'cli');
    const script = path.resolve(import.meta.dirname, '../../../test/tools/make-faulty-store.ts');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', script, '--nodes', '2', '--objects', '12', '--large', '0', '--dir', out],
      {
        cwd: path.resolve(import.meta.dirname, '../../..'),
        env: { ...process.env, NODE_OPTIONS: '' },
      },
    );
    expect(stdout).toContain('built 2 nodes x 12 objects');
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8')) as {
      faults: Fault[];
      nodes: unknown[];
    };
    expect(manifest.nodes).toHaveLength(2);
    expect(manifest.faults.length).toBeGreaterThan(0);
    const topo = JSON.parse(await fs.readFile(path.join(out, 'topology.json'), 'utf8')) as unknown;
    const opened = openTopology(topo);
    expect([...opened.nodes.keys()]).toEqual(['node-1', 'node-2']);
    await opened.close();
  });
});
