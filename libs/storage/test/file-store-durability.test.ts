import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FileObjectStore,
  ObjectCorruptedError,
  StorageFullError,
  StorageUnavailableError,
  UploadNotFoundError,
  crc32,
} from '../src/index.js';

let dir: string;
let root: string;
let store: FileObjectStore;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-file-'));
  root = path.join(dir, 'node');
  await fs.mkdir(root);
  store = new FileObjectStore({ id: 'n1', root, blockSize: 1024 });
  await store.createBucket('bucket');
});

afterEach(async () => {
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const objDir = (key: string): string => path.join(root, 'bucket', ...key.split('/'));

async function dataFileOf(key: string): Promise<string> {
  const names = await fs.readdir(objDir(key));
  const data = names.filter((n) => n.startsWith('.rfw.data.'));
  expect(data).toHaveLength(1);
  return path.join(objDir(key), data[0] ?? '');
}

describe('crash consistency', () => {
  it('keeps the layout: one data file plus a metadata sidecar, nothing left in temp', async () => {
    const info = await store.put('bucket', 'a/b.txt', Buffer.from('hello'));
    const names = (await fs.readdir(objDir('a/b.txt'))).sort();
    expect(names).toEqual(
      ['.rfw.data.' + names[0]?.slice('.rfw.data.'.length), '.rfw.meta.json'].sort(),
    );
    const meta = JSON.parse(
      await fs.readFile(path.join(objDir('a/b.txt'), '.rfw.meta.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(meta).toMatchObject({
      format: 'rfw-object/1',
      bucket: 'bucket',
      key: 'a/b.txt',
      sha256: info.sha256,
      size: 5,
    });
    expect(await store.listTempFiles()).toEqual([]);
  });

  it('never shows an object whose metadata was not committed', async () => {
    // Crash after the data rename, before the metadata rename.
    await fs.mkdir(objDir('half'), { recursive: true });
    await fs.writeFile(path.join(objDir('half'), '.rfw.data.123'), 'partial');
    // Crash while writing: temp files only.
    await fs.writeFile(path.join(root, '.rfw-tmp', 'abc.data'), 'x');
    await fs.writeFile(path.join(root, '.rfw-tmp', 'abc.meta'), '{"format":');
    // Garbage / mismatching metadata.
    await fs.mkdir(objDir('junk'), { recursive: true });
    await fs.writeFile(path.join(objDir('junk'), '.rfw.meta.json'), '{ not json');
    const other = await store.put('bucket', 'real', Buffer.from('real'));
    await fs.mkdir(objDir('moved'), { recursive: true });
    await fs.copyFile(
      path.join(objDir('real'), '.rfw.meta.json'),
      path.join(objDir('moved'), '.rfw.meta.json'),
    );

    for (const key of ['half', 'junk', 'moved'])
      expect(await store.head('bucket', key)).toBeUndefined();
    const listed = await store.list({ bucket: 'bucket' });
    expect(listed.objects.map((o) => o.key)).toEqual(['real']);
    expect(listed.objects[0]).toEqual(other);

    const temps = await store.listTempFiles();
    expect(temps.map((t) => t.name).sort()).toEqual(['abc.data', 'abc.meta']);
    expect(temps[0]?.ageMs).toBeGreaterThanOrEqual(0);
    expect(await store.removeTempFile('abc.data')).toBe(true);
    expect(await store.removeTempFile('abc.data')).toBe(false);
    await expect(store.removeTempFile('../node/bucket')).rejects.toThrow();

    const orphans = await store.listOrphanData('bucket');
    expect(orphans.map((o) => `${o.key}/${o.file}`)).toEqual(['half/.rfw.data.123']);
    expect(
      await store.removeOrphanData(orphans[0] ?? { bucket: 'bucket', key: 'half', file: '' }),
    ).toBe(false); // too young
    expect(
      await store.removeOrphanData({ bucket: 'bucket', key: 'half', file: '.rfw.data.123' }, 0),
    ).toBe(true);
    expect(await store.listOrphanData('bucket')).toEqual([]);
  });

  it('serves the old version intact if an overwrite died before its metadata', async () => {
    await store.put('bucket', 'k', Buffer.from('old content'));
    await fs.writeFile(path.join(objDir('k'), '.rfw.data.new'), 'new content, never committed');
    const got = await store.get('bucket', 'k');
    expect((await readAll(got.body)).toString()).toBe('old content');
    expect((await store.listOrphanData('bucket')).map((o) => o.file)).toEqual(['.rfw.data.new']);
  });

  it('does not mistake a listener exception for a failed write', async () => {
    const noisy = new FileObjectStore({
      id: 'n1',
      root,
      onChange: () => {
        throw new Error('listener bug');
      },
    });
    await expect(noisy.put('bucket', 'k', Buffer.from('x'))).resolves.toMatchObject({ size: 1 });
  });

  it('prunes empty directories on delete but keeps siblings', async () => {
    await store.put('bucket', 'x/y/z', Buffer.from('1'));
    await store.put('bucket', 'x/w', Buffer.from('2'));
    await store.delete('bucket', 'x/y/z');
    await expect(fs.access(path.join(root, 'bucket', 'x', 'y'))).rejects.toThrow();
    expect(await fs.readdir(path.join(root, 'bucket', 'x'))).toEqual(['w']);
  });
});

describe('bitrot and truncation', () => {
  it('pinpoints corrupt blocks and fails reads of rotten data', async () => {
    const data = Buffer.alloc(10 * 1024 + 17, 7);
    const info = await store.put(
      'bucket',
      'rot',
      Readable.from([data.subarray(0, 3000), data.subarray(3000)]),
    );
    expect(info.blockSize).toBe(1024);
    expect(info.blockCrc32).toHaveLength(11);
    expect(info.blockCrc32[10]).toBe(crc32(data.subarray(10 * 1024)));
    const file = await dataFileOf('rot');
    const bytes = await fs.readFile(file);
    bytes[5000] = (bytes[5000] ?? 0) ^ 0x01;
    await fs.writeFile(file, bytes);

    expect(await store.verify('bucket', 'rot')).toMatchObject({ status: 'ok', deep: false });
    expect(await store.verify('bucket', 'rot', { deep: true })).toMatchObject({
      status: 'corrupt',
      corruptBlocks: [4],
      actualSize: data.length,
    });
    const got = await store.get('bucket', 'rot');
    const err = await readAll(got.body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectCorruptedError);
    expect(err).toMatchObject({ kind: 'block-crc32', block: 4, node: 'n1', key: 'rot' });
    const raw = await readAll((await store.get('bucket', 'rot', { verify: false })).body);
    expect(raw.equals(bytes)).toBe(true);
  });

  it('reports truncated and missing data', async () => {
    await store.put('bucket', 'short', Buffer.alloc(4096, 1));
    await fs.truncate(await dataFileOf('short'), 2500);
    expect(await store.verify('bucket', 'short')).toMatchObject({
      status: 'size-mismatch',
      actualSize: 2500,
      corruptBlocks: [2, 3],
    });
    expect(await store.verify('bucket', 'short', { deep: true })).toMatchObject({
      status: 'size-mismatch',
      corruptBlocks: [2, 3],
    });
    await expect(store.get('bucket', 'short')).rejects.toMatchObject({
      name: 'ObjectCorruptedError',
      kind: 'size',
    });

    await store.put('bucket', 'gone', Buffer.alloc(10, 1));
    await fs.rm(await dataFileOf('gone'));
    expect(await store.verify('bucket', 'gone')).toMatchObject({
      status: 'missing-data',
      corruptBlocks: [0],
    });
    await expect(store.get('bucket', 'gone')).rejects.toMatchObject({ kind: 'missing-data' });
  });
});

describe('unavailable node', () => {
  it('wraps a missing node directory in StorageUnavailableError', async () => {
    await fs.rm(root, { recursive: true });
    for (const op of [
      () => store.ping(),
      () => store.head('bucket', 'k'),
      () => store.list({ bucket: 'bucket' }),
      () => store.put('bucket', 'k', Buffer.from('x')),
      () => store.delete('bucket', 'k'),
      () => store.listBuckets(),
      () => store.capacity(),
      () => store.createBucket('other'),
    ]) {
      const err = await op().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect(err).toMatchObject({ reason: 'missing', node: 'n1' });
    }
    // A store that may create its root recovers by itself.
    const fresh = new FileObjectStore({
      id: 'n2',
      root: path.join(dir, 'new-root'),
      createRoot: true,
    });
    await fresh.createBucket('bucket');
    expect((await fresh.ping()).latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('treats a node path that is a file as unavailable', async () => {
    const file = path.join(dir, 'file-root');
    await fs.writeFile(file, 'x');
    const bad = new FileObjectStore({ id: 'n3', root: file });
    await expect(bad.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
  });

  it('maps permission, read-only and full-disk errors with the cause kept', async () => {
    const errno = (code: string): Error => Object.assign(new Error(code), { code });
    expect(await store.mapError(errno('EACCES'))).toMatchObject({
      name: 'StorageUnavailableError',
      reason: 'access-denied',
    });
    expect(await store.mapError(errno('EROFS'))).toMatchObject({
      name: 'StorageUnavailableError',
      reason: 'read-only',
    });
    const full = await store.mapError(errno('ENOSPC'));
    expect(full).toBeInstanceOf(StorageFullError);
    expect((full as Error).cause).toMatchObject({ code: 'ENOSPC' });
  });
});

describe('partial uploads', () => {
  it('assembles parts in order, lists and aborts abandoned uploads', async () => {
    const id = await store.createPartialUpload('bucket', 'multi/file.bin', {
      contentType: 'text/plain',
    });
    await store.uploadPart(id, 2, Buffer.from('world'));
    await store.uploadPart(id, 1, Readable.from([Buffer.from('hello ')]));
    const abandoned = await store.createPartialUpload('bucket', 'never/finished');
    await store.uploadPart(abandoned, 1, Buffer.alloc(100));
    const listed = await store.listPartialUploads();
    expect(listed.map((u) => [u.uploadId, u.parts, u.bytes]).sort()).toEqual(
      [
        [abandoned, 1, 100],
        [id, 2, 11],
      ].sort(),
    );
    expect(listed.every((u) => u.ageMs >= 0 && u.bucket === 'bucket')).toBe(true);

    const info = await store.completePartialUpload(id);
    expect(info).toMatchObject({ key: 'multi/file.bin', size: 11, contentType: 'text/plain' });
    expect((await readAll((await store.get('bucket', 'multi/file.bin')).body)).toString()).toBe(
      'hello world',
    );
    await expect(store.completePartialUpload(id)).rejects.toBeInstanceOf(UploadNotFoundError);

    expect(await store.abortPartialUpload(abandoned)).toBe(true);
    expect(await store.abortPartialUpload(abandoned)).toBe(false);
    expect(await store.abortPartialUpload('../../etc')).toBe(false);
    expect(await store.listPartialUploads()).toEqual([]);
    await expect(store.uploadPart('nope', 1, Buffer.alloc(1))).rejects.toBeInstanceOf(
      UploadNotFoundError,
    );
  });
});
