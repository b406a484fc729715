import { afterAll, afterEach, beforeAll } from 'vitest';
import { NatsServer } from '@rfw/testkit';
import { JobQueue } from '@rfw/core';
import { WorkerManager, type Worker, type WorkerManagerOptions } from '@rfw/worker';

let counter = 0;

/** One nats-server per test file; each test gets its own prefix, queue and managers. */
export function useHarness() {
  const h = {
    server: undefined as unknown as NatsServer,
    managers: [] as WorkerManager[],
    queues: [] as JobQueue[],
    prefix: '',
    async queue(): Promise<JobQueue> {
      const q = await JobQueue.connect({ servers: h.server.url, prefix: h.prefix });
      h.queues.push(q);
      return q;
    },
    async manager(workers: Worker[], opts: WorkerManagerOptions = {}): Promise<WorkerManager> {
      const m = await WorkerManager.create({
        servers: h.server.url,
        prefix: h.prefix,
        workerId: `w${++counter}`,
        heartbeatIntervalMs: 500,
        backoff: { baseMs: 50, capMs: 1000 },
        ...opts,
      });
      m.register(...workers);
      await m.start();
      h.managers.push(m);
      return m;
    },
  };
  beforeAll(async () => {
    h.server = await NatsServer.start();
  });
  afterEach(async () => {
    await Promise.all(h.managers.splice(0).map((m) => m.shutdown()));
    await Promise.all(h.queues.splice(0).map((q) => q.close()));
    h.prefix = `t${++counter}`;
  });
  afterAll(async () => {
    await h.server?.stop();
  });
  h.prefix = `t${++counter}`;
  return h;
}

/** Wait until a job reaches one of `states`, by polling its record. */
export async function waitForState(q: JobQueue, id: string, states: string[], timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = await q.get(id);
    if (j && states.includes(j.state)) return j;
    if (Date.now() > deadline)
      throw new Error(`job ${id} did not reach ${states.join('|')}: ${JSON.stringify(j)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
