import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buffer as readAll } from 'node:stream/consumers';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ObjectCorruptedError,
  S3ObjectStore,
  StorageUnavailableError,
  crc32,
} from '../src/index.js';
import { loadS3Sdk } from '../src/s3-sdk.js';
import { startS3TestServer, type S3TestServer } from '../src/testing.js';

let server: S3TestServer;
let store: S3ObjectStore;
const bucket = 's3-specific';

beforeAll(async () => {
  server = await startS3TestServer();
  store = new S3ObjectStore({
    id: 's3',
    endpoint: server.endpoint,
    credentials: server.credentials,
    blockSize: 16 * 1024,
    multipartThreshold: 5 * 1024 * 1024,
    partSize: 5 * 1024 * 1024,
  });
  await store.createBucket(bucket);
});

afterAll(async () => {
  await store.close();
  await server.stop();
});

/** Where s3rver keeps an object's bytes (its own on-disk layout). */
function s3rverObjectFile(key: string): string {
  return path.join(server.directory, bucket, `${key}._S3rver_object`);
}

describe('s3 driver specifics', () => {
  it('uploads big streams in parts and keeps block CRCs within the metadata budget', async () => {
    const data = randomBytes(6 * 1024 * 1024 + 5);
    const send = vi.spyOn(store.client, 'send');
    const info = await store.put(
      bucket,
      'big.bin',
      Readable.from([data.subarray(0, 1_000_000), data.subarray(1_000_000)]),
    );
    const commands = send.mock.calls.map(([command]) => command.constructor.name);
    send.mockRestore();
    expect(commands).toContain('CreateMultipartUploadCommand');
    expect(commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(2);
    expect(info.etag).not.toBe('');
    expect(info.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(info.blockCrc32.length).toBeLessThanOrEqual(96);
    expect(info.blockSize).toBe(16 * 1024 * 8); // 385 blocks of 16 KiB halved 3 times
    for (let i = 0; i < info.blockCrc32.length; i++) {
      expect(info.blockCrc32[i]).toBe(
        crc32(data.subarray(i * info.blockSize, (i + 1) * info.blockSize)),
      );
    }
    const head = await store.head(bucket, 'big.bin');
    expect(head).toMatchObject({
      size: data.length,
      sha256: info.sha256,
      blockCrc32: info.blockCrc32,
      versionId: info.versionId,
      mtime: info.mtime,
    });
    expect((await store.verify(bucket, 'big.bin', { deep: true })).status).toBe('ok');
  });

  it('detects bytes changed behind its back on the server', async () => {
    const data = Buffer.alloc(100 * 1024, 3);
    await store.put(bucket, 'tampered', data);
    const file = s3rverObjectFile('tampered');
    const bytes = await fs.readFile(file);
    bytes[50_000] = 4;
    await fs.writeFile(file, bytes);
    expect(await store.verify(bucket, 'tampered')).toMatchObject({ status: 'ok', deep: false });
    expect(await store.verify(bucket, 'tampered', { deep: true })).toMatchObject({
      status: 'corrupt',
      corruptBlocks: [3],
    });
    const err = await readAll((await store.get(bucket, 'tampered')).body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectCorruptedError);
    expect(err).toMatchObject({ kind: 'block-crc32', block: 3 });
  });

  it('reads objects written by other S3 clients, reporting them unverifiable', async () => {
    const { PutObjectCommand } = loadS3Sdk().s3;
    await store.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'foreign.txt',
        Body: 'from elsewhere',
        Metadata: { owner: 'bob' },
      }),
    );
    const info = await store.head(bucket, 'foreign.txt');
    expect(info).toMatchObject({
      size: 14,
      sha256: '',
      blockCrc32: [],
      userMetadata: { owner: 'bob' },
    });
    expect(info?.versionId).toBe(info?.etag);
    expect((await readAll((await store.get(bucket, 'foreign.txt')).body)).toString()).toBe(
      'from elsewhere',
    );
    expect((await store.verify(bucket, 'foreign.txt', { deep: true })).status).toBe('unverifiable');
  });

  it('reports an unreachable endpoint as StorageUnavailableError', async () => {
    const dead = new S3ObjectStore({
      id: 'dead',
      endpoint: 'http://127.0.0.1:9',
      credentials: server.credentials,
      maxAttempts: 1,
    });
    const err = await dead.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect(err).toMatchObject({ node: 'dead', reason: 'network' });
    await expect(dead.head(bucket, 'k')).rejects.toBeInstanceOf(StorageUnavailableError);
    await dead.close();
  });

  it('cleans its spool file when the upload fails', async () => {
    const spoolDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-spool-'));
    const s = new S3ObjectStore({
      id: 'x',
      endpoint: server.endpoint,
      credentials: server.credentials,
      spoolDir,
    });
    await expect(
      s.put('missing-bucket', 'k', Readable.from([Buffer.from('abc')])),
    ).rejects.toMatchObject({ name: 'BucketNotFoundError' });
    expect(await fs.readdir(spoolDir)).toEqual([]);
    await s.close();
    await fs.rm(spoolDir, { recursive: true });
  });
});
