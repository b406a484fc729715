/**
 * The harness of the chaos scenarios: one nats-server per file, and the
 * queue and worker pool a scenario opens, stopped after the file with its
 * scratch directories.
 */
import { afterAll, beforeAll } from 'vitest';
import { JobQueue, type JobQueueOptions } from '@rfw/core';
import { NatsServer } from '@rfw/testkit';
import { removeScratch } from './paths.js';
import { WorkerPool, type WorkerPoolOptions } from './worker-pool.js';

export interface ChaosHarness {
  /** The nats-server of this file (started before its tests). */
  readonly server: NatsServer;
  /** A queue on this server, closed after the file. */
  queue(options: Omit<JobQueueOptions, 'servers'>): Promise<JobQueue>;
  /** A worker pool on this server (not started), stopped after the file. */
  pool(options: Omit<WorkerPoolOptions, 'servers'>): WorkerPool;
}

export function useChaosHarness(): ChaosHarness {
  let server: NatsServer | undefined;
  const queues: JobQueue[] = [];
  const pools: WorkerPool[] = [];
  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    for (const p of pools) await p.stopAll(5000);
    for (const q of queues) await q.close();
    await server?.stop();
    removeScratch();
  });
  const h: ChaosHarness = {
    get server(): NatsServer {
      if (!server) throw new Error('the chaos harness server starts in beforeAll');
      return server;
    },
    async queue(options) {
      const q = await JobQueue.connect({ ...options, servers: h.server.url });
      queues.push(q);
      return q;
    },
    pool(options) {
      const p = new WorkerPool({ ...options, servers: [h.server.url] });
      pools.push(p);
      return p;
    },
  };
  return h;
}
