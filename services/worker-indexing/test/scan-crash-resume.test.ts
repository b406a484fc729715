import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '@rfw/core';
import { NatsServer, spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
import { StorageJobType } from '@rfw/storage-jobs';
import { SqliteIndexStore, isNewer, toEntry } from '../src/index.js';
import type { ObjectInfo } from '@rfw/storage';
import { listAll, makeNodes, waitForJob } from './helpers.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../src/main.ts');
const BUCKET = 'crash-scan';
const OBJECTS = 1600;

describe('integration: indexing scan survives a crash', () => {
  let server: NatsServer;
  let nodes: Awaited<ReturnType<typeof makeNodes>>;
  let queue: JobQueue;
  const procs: ServiceProcess[] = [];

  beforeAll(async () => {
    server = await NatsServer.start();
    nodes = await makeNodes(2, [BUCKET]);
    const [n1, n2] = [nodes.topology.nodes.get('n1')!, nodes.topology.nodes.get('n2')!];
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < OBJECTS; i++) {
      const key = `dir-${String(i % 25).padStart(2, '0')}/obj-${String(i).padStart(5, '0')}.bin`;
      const body = Buffer.from(`object ${i}`);
      // Some objects on both nodes, the others on one: the index is the union.
      if (i % 5 !== 1) writes.push(n1.put(BUCKET, key, body, { userMetadata: { i: String(i) } }));
      if (i % 5 <= 1) writes.push(n2.put(BUCKET, key, body, { userMetadata: { i: String(i) } }));
      if (writes.length >= 64) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    queue = await JobQueue.connect({ servers: server.url, prefix: 'crash' });
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await queue?.close();
    await nodes?.topology.close();
    await server?.stop();
    if (nodes) await fs.rm(nodes.dir, { recursive: true, force: true });
  });

  function start(dbFile: string): ServiceProcess {
    const p = spawnService(MAIN, {
      env: {
        NATS_URL: server.url,
        RFW_PREFIX: 'crash',
        TOPOLOGY_FILE: nodes.topologyFile,
        INDEX_STORE: 'sqlite',
        INDEX_SQLITE_PATH: dbFile,
        INDEX_SCAN_PAGE_SIZE: '50',
        INDEX_SCAN_PAUSE_MS: '25',
        ACK_WAIT_MS: '2000',
        LOG_LEVEL: 'info',
      },
    });
    procs.push(p);
    return p;
  }

  it('a SIGKILLed scan resumes from its checkpoint and ends equal to the store listing', async () => {
    const dbFile = path.join(nodes.dir, 'index.sqlite');
    const first = start(dbFile);
    await first.waitForLine(/service ready/, 40_000);
    const id = await queue.schedule(StorageJobType.Indexing, { kind: 'scan', bucket: BUCKET });

    // Watch the checkpoint from outside (WAL lets a reader in) and kill mid-scan.
    const probe = new SqliteIndexStore(dbFile);
    await probe.init();
    const cp = await waitFor(
      'a checkpoint past 300 objects',
      async () => {
        const c = await probe.getCheckpoint(BUCKET, '*');
        return c && c.indexed >= 300 ? c : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 10 },
    );
    await first.kill('SIGKILL');
    expect(cp.indexed).toBeLessThan(OBJECTS);
    const atKill = await probe.getCheckpoint(BUCKET, '*');
    expect(atKill?.jobId).toBe(id);

    const second = start(dbFile);
    await second.waitForLine(/service ready/, 40_000);
    const job = await waitForJob(queue, id, ['succeeded', 'dead'], 50_000);
    expect(job.state).toBe('succeeded');
    expect(job.attempts).toBeGreaterThanOrEqual(2);
    const out = job.result as { resumedFrom?: string; indexed: number };
    expect(out.resumedFrom).toBeDefined();
    expect(out.resumedFrom! >= cp.cursor).toBe(true);
    expect(await second.waitForLine(/resuming scan from checkpoint/, 1000)).toBeTruthy();

    // The index equals the union of both nodes' listings, newest copy per key.
    const newest = new Map<string, ObjectInfo>();
    for (const store of nodes.topology.nodes.values()) {
      for (const o of await listAll(store, BUCKET)) {
        const seen = newest.get(o.key);
        if (!seen || isNewer(o, seen)) newest.set(o.key, o);
      }
    }
    const union = new Map([...newest].map(([k, o]) => [k, toEntry(o)]));
    expect(union.size).toBe(OBJECTS);
    const indexed: ReturnType<typeof toEntry>[] = [];
    let after: { bucket: string; key: string } | undefined;
    do {
      const page = await probe.search({ bucket: BUCKET, limit: 1000, after });
      indexed.push(...page.results);
      after = page.after;
    } while (after);
    expect(indexed.length).toBe(OBJECTS);
    for (const e of indexed) expect(e).toEqual(union.get(e.key));
    expect(await probe.getCheckpoint(BUCKET, '*')).toBeUndefined();
    await probe.close();
    await second.kill('SIGTERM');
  });
});
