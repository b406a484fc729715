/**
 * The behaviour every ObjectStore driver must have. Each driver's test file calls
 * `describeStoreContract` with a factory; the same assertions run against all of them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BucketNotFoundError,
  InvalidBucketError,
  InvalidKeyError,
  InvalidMetadataError,
  ObjectNotFoundError,
  PreconditionFailedError,
  StorageUnavailableError,
  compareKeys,
  crc32,
  type ChangeEvent,
  type ChangeListener,
  type ObjectInfo,
  type ObjectStore,
} from '../src/index.js';

export interface ContractHarness {
  store: ObjectStore;
  cleanup(): Promise<void>;
}

export type ContractFactory = (onChange: ChangeListener) => Promise<ContractHarness>;

const MiB = 1024 * 1024;

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Splits data into uneven chunks so block boundaries fall inside chunks. */
function chunked(data: Buffer, size = 300_001): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

/** CRC32 of each block of the data for the block size the store reported. */
function expectedBlocks(data: Buffer, blockSize: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < data.length; i += blockSize) out.push(crc32(data.subarray(i, i + blockSize)));
  return out;
}

async function listAll(
  store: ObjectStore,
  bucket: string,
  prefix?: string,
  limit?: number,
): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await store.list({ bucket, prefix, cursor, limit });
    keys.push(...page.objects.map((o) => o.key));
    if (page.nextCursor === undefined) return keys;
    cursor = page.nextCursor;
  }
  throw new Error('listing did not terminate');
}

let seq = 0;

export function describeStoreContract(driver: string, factory: ContractFactory): void {
  describe(`ObjectStore contract: ${driver}`, () => {
    let h: ContractHarness;
    let store: ObjectStore;
    let events: ChangeEvent[];
    let bucket: string;

    beforeEach(async () => {
      events = [];
      h = await factory((e) => events.push(e));
      store = h.store;
      bucket = `bkt-${process.pid}-${++seq}`;
      await store.createBucket(bucket);
    });

    afterEach(async () => {
      await h.cleanup();
    });

    it('creates buckets idempotently and lists them', async () => {
      await store.createBucket(bucket);
      await store.createBucket('other.bucket-1');
      const names = (await store.listBuckets()).map((b) => b.name);
      expect(names).toContain(bucket);
      expect(names).toContain('other.bucket-1');
    });

    it('rejects bad bucket names with InvalidBucketError', async () => {
      for (const [name, reason] of [
        ['ab', 'length'],
        ['Upper', 'charset'],
        ['-dash', 'edge'],
        ['a..b', 'adjacent-dots'],
        ['192.168.1.1', 'ip-address'],
        ['xn--abc', 'reserved-prefix'],
      ] as const) {
        const err = await store.createBucket(name).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidBucketError);
        expect(err).toMatchObject({ name: 'InvalidBucketError', bucket: name, reason });
      }
    });

    it('puts a buffer and reads back content, checksums and metadata', async () => {
      const data = Buffer.from('hello rustfs workers');
      const info = await store.put(bucket, 'docs/hello.txt', data, {
        contentType: 'text/plain',
        userMetadata: { Owner: 'alice', 'x-team': 'storage' },
        mtime: 1_700_000_000_123,
        versionId: 'v-1',
      });
      expect(info).toMatchObject({
        bucket,
        key: 'docs/hello.txt',
        size: data.length,
        sha256: sha256(data),
        mtime: 1_700_000_000_123,
        versionId: 'v-1',
        contentType: 'text/plain',
        userMetadata: { owner: 'alice', 'x-team': 'storage' },
      });
      expect(info.blockCrc32).toEqual([crc32(data)]);
      expect(info.etag).not.toBe('');
      expect(await store.head(bucket, 'docs/hello.txt')).toMatchObject({
        ...info,
        etag: expect.any(String),
      });
      const got = await store.get(bucket, 'docs/hello.txt');
      expect(got.info.sha256).toBe(info.sha256);
      expect((await readAll(got.body)).equals(data)).toBe(true);
    });

    it('stores an empty object', async () => {
      const info = await store.put(bucket, 'empty', Buffer.alloc(0));
      expect(info).toMatchObject({ size: 0, sha256: sha256(Buffer.alloc(0)), blockCrc32: [] });
      const got = await store.get(bucket, 'empty');
      expect((await readAll(got.body)).length).toBe(0);
      expect((await store.verify(bucket, 'empty', { deep: true })).status).toBe('ok');
    });

    it('streams a multi-MiB body and records per-block CRC32', async () => {
      const data = randomBytes(Math.floor(2.5 * MiB));
      const info = await store.put(bucket, 'big/blob.bin', chunked(data));
      expect(info.size).toBe(data.length);
      expect(info.sha256).toBe(sha256(data));
      expect(info.blockSize).toBeGreaterThan(0);
      expect(info.blockCrc32).toEqual(expectedBlocks(data, info.blockSize));
      expect(info.blockCrc32.length).toBe(Math.ceil(data.length / info.blockSize));
      const back = await readAll((await store.get(bucket, 'big/blob.bin')).body);
      expect(sha256(back)).toBe(info.sha256);
      expect(await store.verify(bucket, 'big/blob.bin', { deep: true })).toMatchObject({
        status: 'ok',
        corruptBlocks: [],
      });
    });

    it('overwrites atomically with a new version', async () => {
      const v1 = await store.put(bucket, 'k', Buffer.from('one'));
      const v2 = await store.put(bucket, 'k', Buffer.from('two-two'));
      expect(v2.versionId).not.toBe(v1.versionId);
      expect((await store.head(bucket, 'k'))?.versionId).toBe(v2.versionId);
      expect((await readAll((await store.get(bucket, 'k')).body)).toString()).toBe('two-two');
      expect(await listAll(store, bucket)).toEqual(['k']);
    });

    it('lists in UTF-8 key order with prefix and cursor pagination', async () => {
      const keys = [
        'b',
        'a',
        'a/b',
        'a-x',
        'a-x/y',
        'a0',
        'a/b/c',
        'z/é',
        'z/e',
        'photos/2024/01.jpg',
        'photos/2024/02.jpg',
        'photos/2025/01.jpg',
      ];
      for (const key of keys) await store.put(bucket, key, Buffer.from(key));
      const sorted = [...keys].sort(compareKeys);
      expect(await listAll(store, bucket)).toEqual(sorted);
      expect(await listAll(store, bucket, undefined, 3)).toEqual(sorted);
      expect(await listAll(store, bucket, 'photos/2024/')).toEqual([
        'photos/2024/01.jpg',
        'photos/2024/02.jpg',
      ]);
      expect(await listAll(store, bucket, 'a', 2)).toEqual(sorted.filter((k) => k.startsWith('a')));
      const page = await store.list({ bucket, cursor: 'a-x/y', limit: 2 });
      expect(page.objects.map((o) => o.key)).toEqual(
        sorted.filter((k) => compareKeys(k, 'a-x/y') > 0).slice(0, 2),
      );
      expect(page.nextCursor).toBe(page.objects[1]?.key);
      const all = await store.list({ bucket, limit: 1000 });
      expect(all.nextCursor).toBeUndefined();
      expect(all.objects.find((o) => o.key === 'a/b')).toMatchObject({
        size: 3,
        sha256: sha256(Buffer.from('a/b')),
      });
    });

    it('reports missing objects and buckets', async () => {
      expect(await store.head(bucket, 'nope')).toBeUndefined();
      expect(await store.head('no-such-bucket', 'nope')).toBeUndefined();
      await expect(store.get(bucket, 'nope')).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(await store.delete(bucket, 'nope')).toBe(false);
      await expect(store.put('no-such-bucket', 'k', Buffer.from('x'))).rejects.toBeInstanceOf(
        BucketNotFoundError,
      );
      await expect(store.list({ bucket: 'no-such-bucket' })).rejects.toBeInstanceOf(
        BucketNotFoundError,
      );
      expect((await store.verify(bucket, 'nope')).status).toBe('missing');
    });

    it('deletes, honouring ifVersionId and ifMtime', async () => {
      const info = await store.put(bucket, 'dir/k', Buffer.from('x'), { mtime: 1000 });
      const err = await store
        .delete(bucket, 'dir/k', { ifVersionId: 'other' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PreconditionFailedError);
      expect(err).toMatchObject({
        condition: 'ifVersionId',
        expected: 'other',
        actual: info.versionId,
        key: 'dir/k',
      });
      await expect(store.delete(bucket, 'dir/k', { ifMtime: 999 })).rejects.toMatchObject({
        condition: 'ifMtime',
      });
      expect(await store.head(bucket, 'dir/k')).toBeDefined();
      expect(
        await store.delete(bucket, 'dir/k', { ifVersionId: info.versionId, ifMtime: 1000 }),
      ).toBe(true);
      expect(await store.head(bucket, 'dir/k')).toBeUndefined();
      expect(await listAll(store, bucket)).toEqual([]);
    });

    it('keeps a key and keys below it independent', async () => {
      await store.put(bucket, 'a', Buffer.from('parent'));
      await store.put(bucket, 'a/b', Buffer.from('child'));
      expect(await store.delete(bucket, 'a/b')).toBe(true);
      expect((await readAll((await store.get(bucket, 'a')).body)).toString()).toBe('parent');
      await store.put(bucket, 'a/b/c', Buffer.from('grandchild'));
      expect(await store.delete(bucket, 'a')).toBe(true);
      expect(await listAll(store, bucket)).toEqual(['a/b/c']);
    });

    it('rejects unsafe keys with InvalidKeyError', async () => {
      const cases: [string, string][] = [
        ['', 'empty'],
        ['../etc/passwd', 'dot-dot-segment'],
        ['a/../../b', 'dot-dot-segment'],
        ['/abs', 'absolute'],
        ['nul\0byte', 'nul-byte'],
        ['back\\slash', 'backslash'],
        ['a//b', 'empty-segment'],
        ['dir/', 'empty-segment'],
        ['a/./b', 'dot-segment'],
        ['x/.rfw.meta.json', 'reserved-segment'],
        ['k'.repeat(1025), 'too-long'],
        ['s'.repeat(256), 'segment-too-long'],
        ['tab\tkey', 'control-character'],
      ];
      for (const [key, reason] of cases) {
        const err = await store.put(bucket, key, Buffer.from('x')).catch((e: unknown) => e);
        expect(err, key).toBeInstanceOf(InvalidKeyError);
        expect(err).toMatchObject({ name: 'InvalidKeyError', key, bucket, reason });
        await expect(store.head(bucket, key)).rejects.toBeInstanceOf(InvalidKeyError);
      }
      const okKey = `${'k'.repeat(250)}/${'é'.repeat(100)}`;
      await store.put(bucket, okKey, Buffer.from('ok'));
      expect(await store.head(bucket, okKey)).toBeDefined();
    });

    it('rejects non-portable metadata with InvalidMetadataError', async () => {
      await expect(
        store.put(bucket, 'k', Buffer.from('x'), { userMetadata: { 'rfw-sha256': 'x' } }),
      ).rejects.toBeInstanceOf(InvalidMetadataError);
      await expect(
        store.put(bucket, 'k', Buffer.from('x'), { userMetadata: { k: 'é' } }),
      ).rejects.toBeInstanceOf(InvalidMetadataError);
      await expect(
        store.put(bucket, 'k', Buffer.from('x'), { userMetadata: { k: 'v'.repeat(2000) } }),
      ).rejects.toBeInstanceOf(InvalidMetadataError);
      await expect(store.put(bucket, 'k', Buffer.from('x'), { mtime: -1 })).rejects.toBeInstanceOf(
        InvalidMetadataError,
      );
      expect(await store.head(bucket, 'k')).toBeUndefined();
    });

    it('does not expose an object whose body stream failed', async () => {
      async function* failing(): AsyncGenerator<Buffer> {
        yield Buffer.alloc(1000, 1);
        throw new Error('client went away');
      }
      await expect(store.put(bucket, 'partial', Readable.from(failing()))).rejects.toThrow(
        'client went away',
      );
      expect(await store.head(bucket, 'partial')).toBeUndefined();
      expect(await listAll(store, bucket)).toEqual([]);
    });

    it('serialises concurrent writers to one key into a consistent object', async () => {
      const bodies = Array.from({ length: 6 }, (_, i) => Buffer.alloc(10_000 + i * 1000, i));
      await Promise.all(bodies.map((b) => store.put(bucket, 'hot', b)));
      const info = await store.head(bucket, 'hot');
      const data = await readAll((await store.get(bucket, 'hot')).body);
      expect(info?.sha256).toBe(sha256(data));
      expect(bodies.some((b) => b.equals(data))).toBe(true);
      expect((await store.verify(bucket, 'hot', { deep: true })).status).toBe('ok');
    });

    it('emits change events after writes and deletes', async () => {
      const info = await store.put(bucket, 'ev', Buffer.from('x'));
      await store.delete(bucket, 'ev');
      await store.delete(bucket, 'ev');
      expect(events).toEqual([
        { type: 'put', node: store.id, bucket, key: 'ev', info },
        {
          type: 'delete',
          node: store.id,
          bucket,
          key: 'ev',
          info: expect.objectContaining({ versionId: info.versionId }) as ObjectInfo,
        },
      ]);
    });

    it('answers ping and capacity, and refuses work after close', async () => {
      expect((await store.ping()).latencyMs).toBeGreaterThanOrEqual(0);
      await store.put(bucket, 'c', Buffer.alloc(1234));
      const cap = await store.capacity();
      expect(cap.totalBytes).toBeGreaterThan(0);
      expect(cap.usedBytes).toBeGreaterThan(0);
      expect(cap.freeBytes).toBeGreaterThanOrEqual(0);
      await store.close();
      await expect(store.head(bucket, 'c')).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(store.head(bucket, 'c')).rejects.toMatchObject({ reason: 'closed' });
    });
  });
}
