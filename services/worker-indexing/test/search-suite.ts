import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, Names } from '@rfw/core';
import { NatsServer } from '@rfw/testkit';
import { notifyIndexer, StorageJobType } from '@rfw/storage-jobs';
import type { ObjectInfo, Topology } from '@rfw/storage';
import { WorkerManager } from '@rfw/worker';
import type { Subscription } from '@nats-io/nats-core';
import {
  PostgresIndexStore,
  SqliteIndexStore,
  compileSearch,
  createIndexingWorker,
  matchesQuery,
  sizeBin,
  startSearchApi,
  toEntry,
  type IndexStore,
  type SearchRequest,
} from '../src/index.js';
import {
  byBucketKey,
  createTestDatabase,
  listAll,
  makeNodes,
  prng,
  waitForJob,
} from './helpers.js';

const BUCKETS = ['alpha-data', 'beta-logs'];
const SEGMENTS = ['photos', 'docs', 'Ünïcode', 'a', '2024', 'img_01', 'report-final', 'x'];
const EXTS = ['', '.jpg', '.txt', '.tar.gz'];
const OWNERS = ['alice', 'bob', 'carol'];
const NOTES = [
  'quarterly report',
  'Holiday photos 2024',
  'draft',
  'Unicode note',
  'final-final v2',
];
const BASE_TIME = Date.UTC(2024, 0, 1);

/** Puts a deterministic set of objects on node n1 (the only node). */
async function seed(topology: Topology, count: number): Promise<void> {
  const rnd = prng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const store = topology.nodes.get('n1')!;
  const keys = new Set<string>();
  while (keys.size < count) {
    const depth = 1 + Math.floor(rnd() * 3);
    const segs = Array.from({ length: depth }, () => pick(SEGMENTS));
    keys.add(`${pick(BUCKETS)}\u0000${segs.join('/')}${pick(EXTS)}`);
  }
  for (const bk of keys) {
    const [bucket, key] = bk.split('\u0000') as [string, string];
    const meta: Record<string, string> = { owner: pick(OWNERS) };
    if (rnd() < 0.5) meta.team = rnd() < 0.5 ? 'red' : 'blue';
    if (rnd() < 0.6) meta.note = pick(NOTES);
    const size = rnd() < 0.1 ? 70_000 + Math.floor(rnd() * 1000) : Math.floor(rnd() * 3000);
    await store.put(bucket, key, Buffer.alloc(size, 7), {
      userMetadata: meta,
      contentType: key.endsWith('.jpg') ? 'image/jpeg' : 'text/plain',
      mtime: BASE_TIME + Math.floor(rnd() * 100) * 60_000,
    });
  }
}

const FILTERS = [
  'bucket',
  'prefix',
  'text',
  'metadata',
  'minSize',
  'maxSize',
  'modifiedAfter',
  'modifiedBefore',
] as const;

/** Queries with up to three filters (more would almost always match nothing). */
const queryArb: fc.Arbitrary<SearchRequest> = fc
  .tuple(
    fc.subarray([...FILTERS], { minLength: 0, maxLength: 3 }),
    fc.record({
      bucket: fc.constantFrom(...BUCKETS, 'gamma-none'),
      prefix: fc.constantFrom('', 'photos/', 'pho', 'docs/2024', 'Ünï', 'a/', 'x'),
      text: fc.constantFrom(
        'photos',
        'PHO',
        'rep',
        'ünï',
        'alice',
        'final 2024',
        'img',
        'tar gz',
        'holiday pho',
        'zzz',
      ),
      metadata: fc.constantFrom(
        { owner: 'alice' },
        { owner: 'bob', team: 'blue' },
        { Team: 'red' },
        { note: 'draft' },
        { owner: 'nobody' },
      ),
      minSize: fc.constantFrom(0, 100, 1500, 70_000),
      maxSize: fc.constantFrom(50, 2000, 80_000),
      modifiedAfter: fc.integer({ min: -5, max: 105 }).map((m) => BASE_TIME + m * 60_000),
      modifiedBefore: fc
        .integer({ min: -5, max: 105 })
        .map((m) => new Date(BASE_TIME + m * 60_000).toISOString()),
      limit: fc.constantFrom(10, 200, 1000),
    }),
  )
  .map(([keys, all]) => {
    const q: Record<string, unknown> = { limit: all.limit };
    for (const k of keys) q[k] = all[k];
    return q as SearchRequest;
  });

/** The search suite against one index store kind (one test file per kind, so they run in parallel). */
export function searchSuite(kind: 'sqlite' | 'postgres'): void {
  describe(`integration: search on ${kind}`, () => {
    let server: NatsServer;
    let nodes: Awaited<ReturnType<typeof makeNodes>>;
    let index: IndexStore;
    let dropDb: (() => Promise<void>) | undefined;
    let manager: WorkerManager;
    let queue: JobQueue;
    let subs: Subscription[];
    let tmp: string;
    const prefix = `ix${kind === 'sqlite' ? 's' : 'p'}`;

    beforeAll(async () => {
      server = await NatsServer.start();
      nodes = await makeNodes(1, BUCKETS);
      tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'rfw-index-db-'));
      if (kind === 'postgres') {
        const db = await createTestDatabase();
        dropDb = db.drop;
        index = new PostgresIndexStore({ connectionString: db.url, schema: 'rfw_index' });
      } else {
        index = new SqliteIndexStore(path.join(tmp, 'index.sqlite'));
      }
      await index.init();
      await seed(nodes.topology, 250);
      manager = await WorkerManager.create({
        servers: server.url,
        prefix,
        workerId: `idx-${kind}`,
      });
      manager.register(createIndexingWorker({ topology: nodes.topology, index, scanPageSize: 37 }));
      await manager.start();
      subs = startSearchApi({
        nc: manager.core.nc,
        names: new Names(prefix),
        index,
        logger: manager.log,
      });
      queue = await JobQueue.connect({ servers: server.url, prefix });
      for (const bucket of BUCKETS) {
        const id = await queue.schedule(StorageJobType.Indexing, { kind: 'scan', bucket });
        const job = await waitForJob(queue, id, ['succeeded', 'dead']);
        expect(job.state).toBe('succeeded');
      }
    });

    afterAll(async () => {
      for (const s of subs ?? []) s.unsubscribe();
      await queue?.close();
      await manager?.shutdown();
      await index?.close();
      await dropDb?.();
      await nodes?.topology.close();
      await server?.stop();
      if (nodes) await fs.rm(nodes.dir, { recursive: true, force: true });
      if (tmp) await fs.rm(tmp, { recursive: true, force: true });
    });

    async function request(api: string, body: unknown): Promise<Record<string, unknown>> {
      const m = await manager.core.nc.request(`${prefix}.api.${api}`, JSON.stringify(body), {
        timeout: 10_000,
      });
      return m.json<Record<string, unknown>>();
    }

    async function searchAll(q: SearchRequest): Promise<ObjectInfo[] | Record<string, unknown>> {
      const out: ObjectInfo[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 1000; pages++) {
        const reply = await request('search', cursor ? { ...q, cursor } : q);
        if (reply.ok !== true) return reply;
        const results = reply.results as ObjectInfo[];
        expect(results.length).toBeLessThanOrEqual(q.limit ?? 100);
        out.push(...results);
        cursor = reply.nextCursor as string | undefined;
        if (!cursor) return out;
      }
      throw new Error('too many pages');
    }

    async function storeObjects(): Promise<ObjectInfo[]> {
      const store = nodes.topology.nodes.get('n1')!;
      const all = [...(await listAll(store, BUCKETS[0]!)), ...(await listAll(store, BUCKETS[1]!))];
      return all.sort(byBucketKey);
    }

    it('a full scan indexes exactly the store listing', async () => {
      const all = await searchAll({ limit: 1000 });
      expect(all).toEqual((await storeObjects()).map(toEntry));
    });

    it('search answers equal a brute-force filter over the store, page by page', async () => {
      const objects = (await storeObjects()).map(toEntry);
      let nonEmpty = 0;
      await fc.assert(
        fc.asyncProperty(queryArb, async (q) => {
          if (q.minSize !== undefined && q.maxSize !== undefined && q.minSize > q.maxSize) {
            expect(await searchAll(q)).toMatchObject({
              ok: false,
              error: { name: 'ValidationError', field: 'maxSize' },
            });
            return;
          }
          const compiled = compileSearch(q);
          const expected = objects.filter((e) => matchesQuery(e, compiled));
          if (expected.length > 0) nonEmpty++;
          const got = await searchAll(q);
          expect(got).toEqual(expected);
        }),
        { numRuns: 100, seed: 20_241_201 },
      );
      // The generator must produce queries that find something, or the property says little.
      expect(nonEmpty).toBeGreaterThan(35);
    });

    it('rejects bad requests with a typed error naming the field', async () => {
      const cases: Array<[unknown, string]> = [
        [{ limit: 0 }, 'limit'],
        [{ limit: 1001 }, 'limit'],
        [{ minSize: -1 }, 'minSize'],
        [{ minSize: 10, maxSize: 5 }, 'maxSize'],
        [{ text: '///' }, 'text'],
        [{ modifiedAfter: 'yesterday' }, 'modifiedAfter'],
        [{ cursor: 'not-a-cursor' }, 'cursor'],
        [{ nope: 1 }, ''],
      ];
      for (const [body, field] of cases) {
        const reply = await request('search', body);
        expect(reply.ok, JSON.stringify(body)).toBe(false);
        expect(reply.error).toMatchObject({ name: 'ValidationError', field });
      }
      const raw = await manager.core.nc.request(`${prefix}.api.search`, 'not json', {
        timeout: 10_000,
      });
      expect(raw.json()).toMatchObject({ ok: false, error: { name: 'ValidationError' } });
    });

    it('usage rolls up objects, bytes and sizes per bucket and prefix', async () => {
      const objects = await storeObjects();
      const reply = await request('usage', {
        bucket: BUCKETS[0],
        prefix: 'photos/',
        delimiter: '/',
      });
      expect(reply.ok).toBe(true);
      const inScope = objects.filter((o) => o.bucket === BUCKETS[0] && o.key.startsWith('photos/'));
      const hist = new Array(7).fill(0);
      for (const o of inScope) hist[sizeBin(o.size)]++;
      expect(reply.total).toMatchObject({
        objects: inScope.length,
        bytes: inScope.reduce((s, o) => s + o.size, 0),
      });
      expect(
        (reply.total as { histogram: Array<{ objects: number }> }).histogram.map((b) => b.objects),
      ).toEqual(hist);
      const children = new Map<string, { objects: number; bytes: number }>();
      let direct = { objects: 0, bytes: 0 };
      for (const o of inScope) {
        const rest = o.key.slice('photos/'.length);
        const i = rest.indexOf('/');
        if (i < 0) direct = { objects: direct.objects + 1, bytes: direct.bytes + o.size };
        else {
          const p = `photos/${rest.slice(0, i + 1)}`;
          const c = children.get(p) ?? { objects: 0, bytes: 0 };
          children.set(p, { objects: c.objects + 1, bytes: c.bytes + o.size });
        }
      }
      const expected = [...children.entries()]
        .sort((a, b) => byBucketKey({ bucket: '', key: a[0] }, { bucket: '', key: b[0] }))
        .map(([prefix, v]) => ({ prefix, ...v }));
      expect(reply.prefixes).toEqual(expected);
      expect(reply.direct).toEqual(direct);

      const all = await request('usage', {});
      expect(
        (all.buckets as Array<{ bucket: string; objects: number }>).map((b) => [
          b.bucket,
          b.objects,
        ]),
      ).toEqual(BUCKETS.map((b) => [b, objects.filter((o) => o.bucket === b).length]));
      expect(await request('usage', { delimiter: '/' })).toMatchObject({
        ok: false,
        error: { field: 'bucket' },
      });
    });

    it('incremental updates follow puts and deletes; deleted objects leave the index', async () => {
      const store = nodes.topology.nodes.get('n1')!;
      const bucket = BUCKETS[1]!;
      await store.put(bucket, 'fresh/new-object.txt', Buffer.from('hello'), {
        userMetadata: { owner: 'dave' },
      });
      const putJob = await notifyIndexer(queue, {
        op: 'put',
        bucket,
        key: 'fresh/new-object.txt',
        node: 'n1',
      });
      expect((await waitForJob(queue, putJob, ['succeeded', 'dead'])).result).toMatchObject({
        action: 'upserted',
      });
      expect(await searchAll({ metadata: { owner: 'dave' }, limit: 10 })).toMatchObject([
        { key: 'fresh/new-object.txt', size: 5 },
      ]);

      const victim = (await listAll(store, bucket)).find((o) => !o.key.startsWith('fresh/'))!;
      await store.delete(bucket, victim.key);
      const delJob = await notifyIndexer(queue, { op: 'delete', bucket, key: victim.key });
      expect((await waitForJob(queue, delJob, ['succeeded', 'dead'])).result).toMatchObject({
        action: 'removed',
      });
      const left = (await searchAll({ bucket, prefix: victim.key, limit: 1000 })) as ObjectInfo[];
      expect(left.map((o) => o.key)).not.toContain(victim.key);

      // A stale "put" notice for an object that is gone removes it rather than resurrecting it.
      const stale = await notifyIndexer(queue, { op: 'put', bucket, key: victim.key });
      expect((await waitForJob(queue, stale, ['succeeded', 'dead'])).result).toMatchObject({
        action: 'absent',
      });

      // After all that, a rescan finds nothing to change.
      const id = await queue.schedule(StorageJobType.Indexing, { kind: 'scan', bucket });
      const job = await waitForJob(queue, id, ['succeeded', 'dead']);
      expect(job.result).toMatchObject({ removed: 0 });
      expect(await searchAll({ limit: 1000 })).toEqual((await storeObjects()).map(toEntry));
    });
  });
}
