import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { NatsServer, spawnService, waitFor } from '@rfw/testkit';
import { JobQueue, decodeJson, type JobEvent } from '@rfw/core/internal';

const shareWorker = fileURLToPath(new URL('./fixtures/share-worker.ts', import.meta.url));
const JOBS = 2000;
const WORKERS = 4;

describe('distributed: horizontal scaling', () => {
  let server: NatsServer;

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it(
    `${WORKERS} worker processes each take a share of ${JOBS} jobs, none twice`,
    { timeout: 240_000 },
    async () => {
      const prefix = 'hs1';
      const procs = Array.from({ length: WORKERS }, (_, i) =>
        spawnService(shareWorker, {
          env: {
            NATS_URL: server.url,
            RFW_PREFIX: prefix,
            WORKER_ID: `share-${i + 1}`,
            MAX_CONCURRENT_JOBS: '8',
            WORK_MS: '3',
          },
        }),
      );
      const nc = await connect({ servers: server.url });
      const queue = await JobQueue.connect({ connection: nc, prefix });
      try {
        await Promise.all(procs.map((p) => p.waitForLine(/service ready/, 120_000)));
        const byWorker = new Map<string, number>();
        const ids = new Set<string>();
        let events = 0;
        nc.subscribe(`${prefix}.events.share.*.succeeded`, {
          callback: (_err, msg) => {
            const e = decodeJson<JobEvent>(msg.data);
            events++;
            ids.add(e.id);
            byWorker.set(e.workerId ?? '?', (byWorker.get(e.workerId ?? '?') ?? 0) + 1);
          },
        });
        await nc.flush();
        const results = await queue.scheduleMany(
          Array.from({ length: JOBS }, (_, i) => ({ type: 'share', payload: { i } })),
        );
        expect(results.every((r) => r.ok)).toBe(true);
        await waitFor('every job to succeed', () => ids.size === JOBS, { timeoutMs: 120_000 });
        await nc.flush();
        expect(events).toBe(JOBS);
        expect([...byWorker.keys()].sort()).toEqual(['share-1', 'share-2', 'share-3', 'share-4']);
        // Each process takes a real share (an even split is 500 each).
        for (const count of byWorker.values())
          expect(count).toBeGreaterThanOrEqual(JOBS / WORKERS / 5);
        const stats = await queue.statistics();
        expect(stats).toBeDefined();
      } finally {
        await Promise.all(procs.map((p) => p.kill('SIGTERM')));
        await queue.close();
        await nc.close();
      }
    },
  );
});
