import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FileObjectStore,
  S3ObjectStore,
  TopologyConfigError,
  loadTopologyFile,
  openTopology,
  parseTopologyConfig,
  rendezvousReplicas,
  type ChangeEvent,
} from '../src/index.js';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-topology-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function fileNodes(
  n: number,
): { id: string; driver: 'file'; options: { root: string; createRoot: boolean } }[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `n${i + 1}`,
    driver: 'file' as const,
    options: { root: path.join(dir, `n${i + 1}`), createRoot: true },
  }));
}

function configError(input: unknown): TopologyConfigError {
  try {
    parseTopologyConfig(input);
  } catch (err) {
    if (err instanceof TopologyConfigError) return err;
    throw err;
  }
  throw new Error('expected TopologyConfigError');
}

describe('topology config validation', () => {
  it('names the offending field', () => {
    expect(configError({ nodes: [] }).field).toBe('nodes');
    expect(configError({ nodes: [{ id: 'a', driver: 'ftp', options: {} }] }).field).toBe(
      'nodes[0].driver',
    );
    expect(configError({ nodes: [{ id: 'a', driver: 'file', options: {} }] }).field).toBe(
      'nodes[0].options.root',
    );
    expect(
      configError({ nodes: [{ id: 'bad id!', driver: 'file', options: { root: '/x' } }] }).field,
    ).toBe('nodes[0].id');
    expect(
      configError({ nodes: [{ id: 'a', driver: 's3', options: { endpoint: 'not a url' } }] }).field,
    ).toBe('nodes[0].options.endpoint');
    expect(configError({ nodes: fileNodes(1), extra: true }).field).toBe('');
  });

  it('checks cross-references', () => {
    const nodes = fileNodes(3);
    expect(
      configError({ nodes: [...nodes, { ...nodes[0], options: { root: '/elsewhere' } }] }),
    ).toMatchObject({ field: 'nodes[3].id' });
    expect(
      configError({ nodes: [nodes[0], { ...nodes[1], options: nodes[0]?.options }] }).field,
    ).toBe('nodes[1].options.root');
    expect(
      configError({ nodes, buckets: [{ name: 'Bad_Bucket', replicationFactor: 1 }] }).field,
    ).toBe('buckets[0].name');
    expect(configError({ nodes, buckets: [{ name: 'photos', nodes: ['n1', 'n9'] }] }).field).toBe(
      'buckets[0].nodes[1]',
    );
    expect(configError({ nodes, buckets: [{ name: 'photos', nodes: ['n1', 'n1'] }] }).field).toBe(
      'buckets[0].nodes[1]',
    );
    expect(configError({ nodes, buckets: [{ name: 'photos', replicationFactor: 4 }] }).field).toBe(
      'buckets[0].replicationFactor',
    );
    expect(
      configError({
        nodes,
        buckets: [
          { name: 'photos', replicationFactor: 1 },
          { name: 'photos', replicationFactor: 1 },
        ],
      }).field,
    ).toBe('buckets[1].name');
    expect(configError({ nodes, defaultReplicationFactor: 5 }).field).toBe(
      'defaultReplicationFactor',
    );
    const err = configError({ nodes, buckets: [{ name: 'ab', nodes: ['zz'] }] });
    expect(err.issues.map((i) => i.field)).toEqual(['buckets[0].name', 'buckets[0].nodes[0]']);
    expect(err.name).toBe('TopologyConfigError');
  });
});

describe('openTopology', () => {
  it('opens one store per node and places replicas', async () => {
    const events: ChangeEvent[] = [];
    const topo = openTopology(
      {
        nodes: [
          ...fileNodes(4),
          {
            id: 's3-a',
            driver: 's3',
            options: {
              endpoint: 'http://127.0.0.1:9',
              credentials: { accessKeyId: 'k', secretAccessKey: 's' },
            },
          },
        ],
        buckets: [
          { name: 'pinned', nodes: ['n2', 'n4'] },
          { name: 'spread', replicationFactor: 3 },
        ],
      },
      { onChange: (e) => events.push(e) },
    );
    expect([...topo.nodes.keys()]).toEqual(['n1', 'n2', 'n3', 'n4', 's3-a']);
    expect(topo.nodes.get('n1')).toBeInstanceOf(FileObjectStore);
    expect(topo.nodes.get('s3-a')).toBeInstanceOf(S3ObjectStore);
    expect(topo.replicasFor('pinned', 'any/key')).toEqual(['n2', 'n4']);
    const replicas = topo.replicasFor('spread', 'photos/1.jpg');
    expect(replicas).toHaveLength(3);
    expect(new Set(replicas).size).toBe(3);
    expect(topo.replicasFor('spread', 'photos/1.jpg')).toEqual(replicas);
    expect(() => topo.replicasFor('unknown', 'k')).toThrow(TopologyConfigError);

    const n1 = topo.nodes.get('n1');
    await n1?.createBucket('pinned');
    await n1?.put('pinned', 'k', Buffer.from('x'));
    expect(events).toMatchObject([{ type: 'put', node: 'n1', bucket: 'pinned', key: 'k' }]);
    await topo.close();
  });

  it('spreads keys over all nodes and moves few keys when a node is added', () => {
    const four = ['n1', 'n2', 'n3', 'n4'];
    const counts = new Map<string, number>();
    let moved = 0;
    for (let i = 0; i < 2000; i++) {
      const key = `obj-${i}`;
      const before = rendezvousReplicas(four, 'b', key, 2);
      for (const n of before) counts.set(n, (counts.get(n) ?? 0) + 1);
      const after = rendezvousReplicas([...four, 'n5'], 'b', key, 2);
      moved += before.filter((n) => !after.includes(n)).length;
    }
    for (const n of four) expect(counts.get(n)).toBeGreaterThan(800);
    // The new node enters the top 2 of about 2/5 of the keys, displacing one replica each:
    // ~800 of 4000 placements move, and no others.
    expect(moved).toBeGreaterThan(650);
    expect(moved).toBeLessThan(950);
  });

  it('uses defaultReplicationFactor for unlisted buckets', () => {
    const topo = openTopology({ nodes: fileNodes(3), defaultReplicationFactor: 2 });
    expect(topo.replicasFor('anything', 'k')).toHaveLength(2);
  });
});

describe('loadTopologyFile', () => {
  it('resolves relative roots against the file', async () => {
    const file = path.join(dir, 'topology.json');
    await fs.writeFile(
      file,
      JSON.stringify({
        nodes: [{ id: 'a', driver: 'file', options: { root: 'data/a', createRoot: true } }],
        buckets: [{ name: 'logs', replicationFactor: 1 }],
      }),
    );
    const topo = await loadTopologyFile(file);
    const store = topo.nodes.get('a');
    expect(store).toBeInstanceOf(FileObjectStore);
    expect((store as FileObjectStore).root).toBe(path.join(dir, 'data/a'));
    await store?.createBucket('logs');
    expect((await fs.stat(path.join(dir, 'data/a/logs'))).isDirectory()).toBe(true);
    await topo.close();
  });

  it('rejects a file that is not JSON', async () => {
    const file = path.join(dir, 'bad.json');
    await fs.writeFile(file, '{ nodes: ');
    await expect(loadTopologyFile(file)).rejects.toBeInstanceOf(TopologyConfigError);
  });
});
