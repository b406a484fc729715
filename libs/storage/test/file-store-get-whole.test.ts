/**
 * `FileObjectStore.getWhole`, the copy path of small objects: one checked read
 * into memory. It returns the stored bytes and metadata, leaves objects bigger
 * than asked to the stream, and finds every fault a verifying `get` finds
 * (flipped bytes, a data file cut short or grown, a missing data file).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileObjectStore, ObjectCorruptedError, ObjectNotFoundError } from '@rfw/storage';

describe('storage: file store getWhole', () => {
  let dir: string;
  let store: FileObjectStore;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-get-whole-'));
    store = new FileObjectStore({ id: 'n1', root: dir, blockSize: 64 * 1024 });
    await store.createBucket('bkt');
  });

  afterAll(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const dataFile = async (key: string): Promise<string> => {
    const meta = JSON.parse(
      await fs.readFile(path.join(dir, 'bkt', key, '.rfw.meta.json'), 'utf8'),
    ) as { dataFile: string };
    return path.join(dir, 'bkt', key, meta.dataFile);
  };

  const corruption = async (key: string) => {
    const err = await store.getWhole('bkt', key, 1 << 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectCorruptedError);
    return (err as ObjectCorruptedError).kind;
  };

  it('reads an object whole with its metadata, and leaves bigger ones alone', async () => {
    const body = randomBytes(200_000);
    const info = await store.put('bkt', 'ok', body, {
      contentType: 'x/y',
      userMetadata: { a: '1' },
    });
    const got = await store.getWhole('bkt', 'ok', 1 << 20);
    expect(got?.info).toEqual(info);
    expect(got?.data.equals(body)).toBe(true);
    expect(await store.getWhole('bkt', 'ok', 199_999)).toBeUndefined();
    await store.put('bkt', 'empty', Buffer.alloc(0));
    expect((await store.getWhole('bkt', 'empty', 1 << 20))?.data.length).toBe(0);
    await expect(store.getWhole('bkt', 'absent', 1 << 20)).rejects.toBeInstanceOf(
      ObjectNotFoundError,
    );
  });

  it('finds flipped bytes, a short or long data file and a missing one', async () => {
    for (const key of ['rot', 'short', 'long', 'gone'])
      await store.put('bkt', key, randomBytes(150_000));
    const rot = await dataFile('rot');
    const data = await fs.readFile(rot);
    data[100_000] = (data[100_000] ?? 0) ^ 0xff;
    await fs.writeFile(rot, data);
    expect(await corruption('rot')).toBe('block-crc32');
    await fs.truncate(await dataFile('short'), 149_999);
    expect(await corruption('short')).toBe('size');
    await fs.appendFile(await dataFile('long'), 'x');
    expect(await corruption('long')).toBe('size');
    await fs.rm(await dataFile('gone'));
    expect(await corruption('gone')).toBe('missing-data');
  });
});
