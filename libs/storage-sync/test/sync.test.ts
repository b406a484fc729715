/**
 * The shared building blocks, in-process against real files: the bandwidth
 * limit holds across concurrent transfers, the merged walk sees each key
 * once across nodes and resumes from any key, a copy from a corrupt source
 * fails as a source error and leaves the target untouched, small objects
 * (one read) and big ones (streamed) copy identically under the bandwidth
 * limit, and job ids stay
 * valid for any key.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileObjectStore } from '@rfw/storage';
import {
  Bandwidth,
  CopySourceError,
  compareVersions,
  copyObject,
  walkBucket,
} from '@rfw/storage-sync';

const sink = (): Writable =>
  new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });

describe('job_processing: replication building blocks', () => {
  let dir: string;
  const stores: FileObjectStore[] = [];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-sync-'));
    for (const id of ['a', 'b', 'c']) {
      const s = new FileObjectStore({
        id,
        root: path.join(dir, id),
        createRoot: true,
        fsync: false,
      });
      await s.createBucket('bkt');
      stores.push(s);
    }
  });

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('shares one bandwidth limit between concurrent transfers', async () => {
    const bw = new Bandwidth(2 * 1024 * 1024);
    const started = performance.now();
    const transfer = () =>
      pipeline(
        Readable.from([randomBytes(700 * 1024), randomBytes(324 * 1024)]),
        bw.stream(),
        sink(),
      );
    await Promise.all([transfer(), transfer()]);
    const seconds = (performance.now() - started) / 1000;
    // 2 MiB at 2 MiB/s with 0.2 MiB of burst: at least ~0.9 s, whatever the machine's load.
    expect(seconds).toBeGreaterThan(0.8);
    expect(() => new Bandwidth(0)).toThrow(RangeError);
  });

  it('walks a bucket across nodes: each key once, in order, resumable', async () => {
    const [a, b, c] = stores as [FileObjectStore, FileObjectStore, FileObjectStore];
    const keys = Array.from({ length: 37 }, (_, i) => `k/${String(i).padStart(3, '0')}`);
    for (const [i, key] of keys.entries()) {
      const target = [a, b, c][i % 3] as FileObjectStore;
      await target.put('bkt', key, Buffer.from(key));
      if (i % 5 === 0) await a.put('bkt', key, Buffer.from(key));
    }
    const seen: string[] = [];
    let pages = 0;
    for await (const page of walkBucket({ stores, bucket: 'bkt', pageSize: 4 })) {
      pages++;
      for (const e of page) {
        seen.push(e.key);
        expect(e.replicas.size).toBeGreaterThanOrEqual(1);
      }
    }
    expect(seen).toEqual(keys);
    expect(pages).toBeGreaterThan(3);
    const rest: string[] = [];
    for await (const page of walkBucket({ stores, bucket: 'bkt', after: keys[20], pageSize: 4 }))
      rest.push(...page.map((e) => e.key));
    expect(rest).toEqual(keys.slice(21));
    const missing: string[] = [];
    for await (const page of walkBucket({ stores, bucket: 'no-such-bucket' }))
      missing.push(...page.map((e) => e.key));
    expect(missing).toEqual([]);
  });

  it('fails a copy from a corrupt source as a source error, leaving the target alone', async () => {
    const [a, b] = stores as [FileObjectStore, FileObjectStore];
    const info = await a.put('bkt', 'rot.bin', randomBytes(200_000));
    const meta = JSON.parse(
      await fs.readFile(path.join(a.root, 'bkt', 'rot.bin', '.rfw.meta.json'), 'utf8'),
    ) as { dataFile: string };
    const file = path.join(a.root, 'bkt', 'rot.bin', meta.dataFile);
    const data = await fs.readFile(file);
    data[150_000] = (data[150_000] ?? 0) ^ 0xff;
    await fs.writeFile(file, data);
    const err = await copyObject({
      source: a,
      target: b,
      bucket: 'bkt',
      key: 'rot.bin',
      expected: info,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopySourceError);
    expect((err as CopySourceError).kind).toBe('corrupt');
    expect(await b.head('bkt', 'rot.bin')).toBeUndefined();
    expect(await fs.readdir(path.join(b.root, '.rfw-tmp'))).toEqual([]);
  });

  it('copies small objects from one read and big ones streamed, each identical and throttled', async () => {
    const [a, , c] = stores as [FileObjectStore, FileObjectStore, FileObjectStore];
    const small = randomBytes(300_000);
    const big = randomBytes(1_500_000);
    const infoSmall = await a.put('bkt', 'copy/small', small, { userMetadata: { k: 'v' } });
    const infoBig = await a.put('bkt', 'copy/big', big);
    const bw = new Bandwidth(1024 * 1024);
    const started = performance.now();
    for (const [info, body] of [
      [infoSmall, small],
      [infoBig, big],
    ] as const) {
      const copied = await copyObject({
        source: a,
        target: c,
        bucket: 'bkt',
        key: info.key,
        expected: info,
        bandwidth: bw,
      });
      expect(copied.info).toEqual(info);
      const got = await c.getWhole('bkt', info.key, 2 << 20);
      expect(got?.info).toEqual(info);
      expect(got?.data.equals(body)).toBe(true);
    }
    // 1.8 MB at 1 MiB/s with 0.1 MiB of burst: both paths went through the limit.
    expect((performance.now() - started) / 1000).toBeGreaterThan(1.4);
  });

  it('orders versions by mtime then version id', () => {
    expect(
      compareVersions({ mtime: 2, versionId: 'a' }, { mtime: 1, versionId: 'z' }),
    ).toBeGreaterThan(0);
    expect(
      compareVersions({ mtime: 1, versionId: 'b' }, { mtime: 1, versionId: 'a' }),
    ).toBeGreaterThan(0);
  });
});
