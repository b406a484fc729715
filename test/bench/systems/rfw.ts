/** rustfs-workers: `JobQueue` as the producer, a worker service (`runWorkerService`) as the worker. */
import { JobQueue, type ScheduleOptions } from '@rfw/core';
import { defineWorker, runWorkerService } from '@rfw/worker';
import {
  JOB_TYPE,
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
    workers: [defineWorker(JOB_TYPE, handler)],
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
