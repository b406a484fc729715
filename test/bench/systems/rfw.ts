/** rustfs-workers: `JobQueue` as the producer, a worker service (`runWorkerService`) as the worker. */
import { JobQueue, type ScheduleOptions } from '@rfw/core';
import { defineWorker, runWorkerService } from '@rfw/worker';
import {
  CHILD_RESULT,
  FLOW_TYPE,
  JOB_TYPE,
  checkChildren,
  monoNow,
  type BenchPayload,
  type Backend,
  type Handler,
  type JobSpec,
  type Producer,
  type WorkerHandle,
  type WorkerSettings,
} from './types.js';

function options(job: JobSpec): ScheduleOptions {
  const o: ScheduleOptions = {};
  if (job.priority) o.priority = job.priority;
  if (job.runAt !== undefined) o.runAt = job.runAt;
  return o;
}

export async function rfwProducer(backend: Backend): Promise<Producer> {
  const queue = await JobQueue.connect({ servers: backend.natsUrl, prefix: backend.prefix });
  return {
    async add(job) {
      await queue.schedule(JOB_TYPE, job.payload, options(job));
    },
    async addBulk(jobs) {
      const results = await queue.scheduleMany(
        jobs.map((j) => ({ type: JOB_TYPE, payload: j.payload, options: options(j) })),
      );
      const failed = results.find((r) => !r.ok);
      if (failed && !failed.ok) throw failed.error;
    },
    async flow(n, timeoutMs) {
      const children = Array.from({ length: n }, () => ({
        type: JOB_TYPE,
        payload: { t: monoNow() },
      }));
      const startedAt = monoNow();
      const f = await queue.flow({ type: FLOW_TYPE, payload: { t: startedAt, n }, children });
      const enqueuedAt = monoNow();
      const parent = await queue.waitFor(f.id, { timeout: timeoutMs });
      const endedAt = monoNow();
      const read = (parent.result as { children?: number } | undefined)?.children;
      if (read !== n) throw new Error(`flow parent read ${read} children, expected ${n}`);
      return { startedAt, enqueuedAt, endedAt };
    },
    close: () => queue.close(),
  };
}

export async function rfwWorker(
  backend: Backend,
  handler: Handler,
  settings: WorkerSettings,
): Promise<WorkerHandle> {
  const service = await runWorkerService({
    service: 'bench-worker',
    workers: settings.flows
      ? [
          defineWorker<BenchPayload>(JOB_TYPE, async (p) => {
            await handler(p);
            return CHILD_RESULT;
          }),
          defineWorker<BenchPayload>(FLOW_TYPE, async (p, ctx) => {
            const c = await ctx.children();
            return checkChildren(
              [...c.succeeded, ...c.failed, ...c.ignored].map((e) => e.result),
              p.n,
            );
          }),
        ]
      : [defineWorker(JOB_TYPE, handler)],
    env: {
      ...process.env,
      NATS_URL: backend.natsUrl,
      RFW_PREFIX: backend.prefix,
      MAX_CONCURRENT_JOBS: String(settings.concurrency),
      HTTP_PORT: '0',
    },
  });
  return { close: () => service.stop() };
}
