/**
 * Builds an N-node local store where every object is replicated on every node, then injects
 * faults and returns a manifest saying exactly which fault was put where, so tests of the
 * healing / scrubbing / cleanup services can check that every fault is found.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_BLOCK_SIZE } from './checksum.js';
import { TMP_DIR, objectDir, readMeta } from './file-layout.js';
import { FileObjectStore } from './file-store.js';
import type { TopologyConfigInput } from './topology.js';
import { keyFor, pickSize, prng, randomBuffer, versionIdAt } from './fault-data.js';

/** Kinds of injected faults. */
export const FaultKind = {
  /** Bytes flipped in a data file; metadata unchanged. */
  Bitrot: 'bitrot',
  /** The object is absent from one node (metadata and data removed). */
  MissingReplica: 'missing-replica',
  /** One node holds an older version: older content and older metadata (mtime, version id). */
  StaleVersion: 'stale-version',
  /** A data file cut short; metadata unchanged. */
  Truncated: 'truncated',
  /** A leftover file in `<root>/.rfw-tmp`, backdated. */
  TempFile: 'temp-file',
  /** An abandoned partial upload under `<root>/.rfw-multipart`, backdated. */
  PartialUpload: 'partial-upload',
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

/** Object faults name the object and node; `blocks` are the CRC blocks that no longer match. */
export type Fault =
  | {
      kind: 'bitrot';
      node: string;
      bucket: string;
      key: string;
      offsets: number[];
      blocks: number[];
    }
  | { kind: 'missing-replica'; node: string; bucket: string; key: string }
  | {
      kind: 'stale-version';
      node: string;
      bucket: string;
      key: string;
      staleVersionId: string;
      staleMtime: number;
      staleSha256: string;
      currentVersionId: string;
      currentMtime: number;
    }
  | {
      kind: 'truncated';
      node: string;
      bucket: string;
      key: string;
      originalSize: number;
      truncatedTo: number;
      blocks: number[];
    }
  | { kind: 'temp-file'; node: string; name: string; path: string; size: number; mtime: number }
  | {
      kind: 'partial-upload';
      node: string;
      uploadId: string;
      bucket: string;
      key: string;
      parts: number;
      bytes: number;
      mtime: number;
    };

/** The correct (current) state of one object, identical on every healthy replica. */
export interface ManifestObject {
  bucket: string;
  key: string;
  size: number;
  sha256: string;
  versionId: string;
  mtime: number;
}

/** Everything a test needs to check a scrubber / healer against. */
export interface FaultManifest {
  dir: string;
  seed: number;
  nodes: { id: string; root: string }[];
  buckets: string[];
  blockSize: number;
  objects: ManifestObject[];
  faults: Fault[];
  /** A topology config for these nodes with every bucket replicated on all of them. */
  topology: TopologyConfigInput;
}

/** Options of {@link makeFaultyStore}. */
export interface FaultyStoreOptions {
  /** Parent directory; node i lives in `<dir>/node-<i>`. Must be empty or absent. */
  dir: string;
  /** Number of nodes, at least 2 (so every object keeps a good replica). Default 3. */
  nodes?: number;
  /** Number of objects, including `largeObjects`. Default 200. */
  objects?: number;
  /** How many objects are several MiB (2..5 MiB). Default 2. */
  largeObjects?: number;
  /** Buckets the objects are spread over. Default `['data']`. */
  buckets?: string[];
  /** PRNG seed: same seed, same layout and faults. Default 1. */
  seed?: number;
  /** CRC32 block size of the stores. Default 1 MiB. */
  blockSize?: number;
  /** Number of faults per kind. Defaults: 5% of objects each for object faults (at least 1), 3 temp files, 2 partial uploads. */
  faults?: Partial<Record<FaultKind, number>>;
  /** Reference time, ms. Default `Date.now()`. */
  now?: number;
  /** Also write `<dir>/manifest.json` and `<dir>/topology.json`. Default true. */
  writeFiles?: boolean;
}

function blocksFrom(offset: number, blockSize: number, blockCount: number): number[] {
  const out: number[] = [];
  for (let b = Math.floor(offset / blockSize); b < blockCount; b++) out.push(b);
  return out;
}

/**
 * Creates the nodes, writes every object to every node (same version id and mtime, as
 * replication would), then injects the faults. Each faulted object gets exactly one fault on
 * exactly one node; all other replicas stay intact.
 * @throws Error when `dir` is not empty, fewer than 2 nodes are asked for, or there are not enough objects for the faults
 */
export async function makeFaultyStore(options: FaultyStoreOptions): Promise<FaultManifest> {
  const nodeCount = options.nodes ?? 3;
  const objectCount = options.objects ?? 200;
  const largeCount = Math.min(options.largeObjects ?? 2, objectCount);
  const buckets = options.buckets ?? ['data'];
  const seed = options.seed ?? 1;
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  const now = options.now ?? Date.now();
  const rand = prng(seed);
  if (nodeCount < 2) throw new Error('makeFaultyStore needs at least 2 nodes');
  const dir = path.resolve(options.dir);
  const existing = await fs.readdir(dir).catch(() => [] as string[]);
  if (existing.length > 0) throw new Error(`${dir} is not empty`);

  const perKind = Math.max(1, Math.round(objectCount * 0.05));
  const want = {
    bitrot: options.faults?.bitrot ?? perKind,
    'missing-replica': options.faults?.['missing-replica'] ?? perKind,
    'stale-version': options.faults?.['stale-version'] ?? perKind,
    truncated: options.faults?.truncated ?? perKind,
    'temp-file': options.faults?.['temp-file'] ?? 3,
    'partial-upload': options.faults?.['partial-upload'] ?? 2,
  };

  const stores = Array.from({ length: nodeCount }, (_, i) => {
    const id = `node-${i + 1}`;
    return new FileObjectStore({
      id,
      root: path.join(dir, id),
      createRoot: true,
      fsync: false,
      blockSize,
    });
  });
  for (const store of stores) for (const b of buckets) await store.createBucket(b);

  const objects: ManifestObject[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < objectCount; i++) {
    const bucket = buckets[i % buckets.length] ?? 'data';
    let key = keyFor(rand, i);
    if (seen.has(`${bucket}/${key}`)) key = `obj-${i}.bin`;
    seen.add(`${bucket}/${key}`);
    const data = randomBuffer(rand, pickSize(rand, i < largeCount));
    const mtime = now - 86_400_000 + Math.floor(rand() * 3_600_000);
    const versionId = versionIdAt(rand, mtime);
    let sha256 = '';
    for (const store of stores) {
      sha256 = (
        await store.put(bucket, key, data, {
          versionId,
          mtime,
          contentType: 'application/octet-stream',
          userMetadata: { origin: 'fault-gen' },
        })
      ).sha256;
    }
    objects.push({ bucket, key, size: data.length, sha256, versionId, mtime });
  }

  // Assign object faults: each object at most once, large objects first for bitrot.
  const faults: Fault[] = [];
  const free = objects.map((_, i) => i);
  const take = (
    predicate: (o: ManifestObject) => boolean,
    preferFirst: boolean,
  ): ManifestObject | undefined => {
    const candidates = free.filter((i) => predicate(objects[i] as ManifestObject));
    if (candidates.length === 0) return undefined;
    const idx = preferFirst
      ? (candidates[0] as number)
      : (candidates[Math.floor(rand() * candidates.length)] as number);
    free.splice(free.indexOf(idx), 1);
    return objects[idx];
  };
  const nodeFor = (): FileObjectStore =>
    stores[Math.floor(rand() * stores.length)] as FileObjectStore;
  const need = (o: ManifestObject | undefined, kind: string): ManifestObject => {
    if (!o)
      throw new Error(
        `not enough suitable objects for ${kind} faults; add objects or lower the fault counts`,
      );
    return o;
  };
  const dataPath = async (store: FileObjectStore, o: ManifestObject): Promise<string> => {
    const meta = await readMeta(store.root, o.bucket, o.key);
    if (!meta) throw new Error(`internal: ${o.key} missing on ${store.id}`);
    return path.join(objectDir(store.root, o.bucket, o.key), meta.dataFile);
  };

  for (let n = 0; n < want.bitrot; n++) {
    const o = need(
      take((x) => x.size > 0, n === 0 && largeCount > 0),
      'bitrot',
    );
    const store = nodeFor();
    const file = await dataPath(store, o);
    const data = await fs.readFile(file);
    const flips = o.size > blockSize ? 2 : 1;
    const offsets = [
      ...new Set(Array.from({ length: flips }, () => Math.floor(rand() * o.size))),
    ].sort((a, b) => a - b);
    for (const off of offsets) data[off] = (data[off] ?? 0) ^ 0xff;
    await fs.writeFile(file, data);
    const blocks = [...new Set(offsets.map((off) => Math.floor(off / blockSize)))];
    faults.push({ kind: 'bitrot', node: store.id, bucket: o.bucket, key: o.key, offsets, blocks });
  }
  for (let n = 0; n < want.truncated; n++) {
    const o = need(
      take((x) => x.size > 0, false),
      'truncated',
    );
    const store = nodeFor();
    const truncatedTo = Math.floor(rand() * o.size);
    await fs.truncate(await dataPath(store, o), truncatedTo);
    const blocks = blocksFrom(truncatedTo, blockSize, Math.ceil(o.size / blockSize));
    faults.push({
      kind: 'truncated',
      node: store.id,
      bucket: o.bucket,
      key: o.key,
      originalSize: o.size,
      truncatedTo,
      blocks,
    });
  }
  for (let n = 0; n < want['missing-replica']; n++) {
    const o = need(
      take(() => true, false),
      'missing-replica',
    );
    const store = nodeFor();
    await store.delete(o.bucket, o.key);
    faults.push({ kind: 'missing-replica', node: store.id, bucket: o.bucket, key: o.key });
  }
  for (let n = 0; n < want['stale-version']; n++) {
    const o = need(
      take(() => true, false),
      'stale-version',
    );
    const store = nodeFor();
    const staleMtime = o.mtime - 3_600_000 - Math.floor(rand() * 86_400_000);
    const staleVersionId = versionIdAt(rand, staleMtime);
    const old = randomBuffer(rand, Math.max(1, Math.floor(o.size * (0.5 + rand()))));
    const info = await store.put(o.bucket, o.key, old, {
      versionId: staleVersionId,
      mtime: staleMtime,
      userMetadata: { origin: 'fault-gen' },
    });
    faults.push({
      kind: 'stale-version',
      node: store.id,
      bucket: o.bucket,
      key: o.key,
      staleVersionId,
      staleMtime,
      staleSha256: info.sha256,
      currentVersionId: o.versionId,
      currentMtime: o.mtime,
    });
  }

  const backdate = async (p: string, mtime: number): Promise<void> => {
    await fs.utimes(p, mtime / 1000, mtime / 1000);
  };
  for (let n = 0; n < want['temp-file']; n++) {
    const store = nodeFor();
    const name = `${versionIdAt(rand, now)}.${rand() < 0.5 ? 'data' : 'meta'}`;
    const file = path.join(store.root, TMP_DIR, name);
    const size = Math.floor(rand() * 20_000);
    await fs.writeFile(file, randomBuffer(rand, size));
    const mtime = now - 2 * 3_600_000 - Math.floor(rand() * 86_400_000);
    await backdate(file, mtime);
    faults.push({ kind: 'temp-file', node: store.id, name, path: file, size, mtime });
  }
  for (let n = 0; n < want['partial-upload']; n++) {
    const store = nodeFor();
    const bucket = buckets[n % buckets.length] ?? 'data';
    const key = `uploads/abandoned-${n}.bin`;
    const uploadId = await store.createPartialUpload(bucket, key);
    const parts = 1 + Math.floor(rand() * 3);
    let bytes = 0;
    for (let p = 1; p <= parts; p++)
      bytes += (
        await store.uploadPart(uploadId, p, randomBuffer(rand, 1000 + Math.floor(rand() * 50_000)))
      ).size;
    const mtime = now - 3 * 3_600_000 - Math.floor(rand() * 86_400_000);
    const uploadDir = path.join(store.root, '.rfw-multipart', uploadId);
    const recordFile = path.join(uploadDir, 'upload.json');
    const record = JSON.parse(await fs.readFile(recordFile, 'utf8')) as Record<string, unknown>;
    await fs.writeFile(recordFile, JSON.stringify({ ...record, initiated: mtime }));
    for (const f of await fs.readdir(uploadDir)) await backdate(path.join(uploadDir, f), mtime);
    await backdate(uploadDir, mtime);
    faults.push({
      kind: 'partial-upload',
      node: store.id,
      uploadId,
      bucket,
      key,
      parts,
      bytes,
      mtime,
    });
  }

  const nodes = stores.map((s) => ({ id: s.id, root: s.root }));
  const manifest: FaultManifest = {
    dir,
    seed,
    nodes,
    buckets,
    blockSize,
    objects,
    faults,
    topology: {
      nodes: nodes.map((n) => ({
        id: n.id,
        driver: 'file' as const,
        options: { root: n.root, blockSize },
      })),
      buckets: buckets.map((name) => ({ name, nodes: nodes.map((n) => n.id) })),
    },
  };
  if (options.writeFiles ?? true) {
    await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    await fs.writeFile(path.join(dir, 'topology.json'), JSON.stringify(manifest.topology, null, 2));
  }
  await Promise.all(stores.map((s) => s.close()));
  return manifest;
}
