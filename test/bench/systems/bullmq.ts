/**
 * BullMQ: `Queue.add`/`addBulk` as the producer, a `Worker` as the worker.
 * Defaults are kept (completed jobs are retained: job tracking on). Priority
 * 1 is the highest; unprioritised jobs run before prioritised ones, so the
 * bench gives every job of a priority scenario a priority.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  JOB_TYPE,
  type Backend,
  type BenchPriority,
  type Handler,
  type JobSpec,
  type Producer,
  type WorkerHandle,
  type WorkerSettings,
} from './types.js';

const PRIORITY: Record<BenchPriority, number | undefined> = { high: 1, normal: undefined, low: 10 };

export function redisConnection(url: string | undefined): Redis {
  return new Redis(url ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
}

function jobOptions(job: JobSpec): { priority?: number; delay?: number } {
  const o: { priority?: number; delay?: number } = {};
  const p = job.priority ? PRIORITY[job.priority] : undefined;
  if (p !== undefined) o.priority = p;
  if (job.runAt !== undefined) o.delay = Math.max(0, job.runAt - Date.now());
  return o;
}

export async function bullmqProducer(backend: Backend): Promise<Producer> {
  const connection = redisConnection(backend.redisUrl);
  const queue = new Queue(JOB_TYPE, { connection, prefix: backend.prefix });
  await queue.waitUntilReady();
  return {
    async add(job) {
      await queue.add(JOB_TYPE, job.payload, jobOptions(job));
    },
    async addBulk(jobs) {
      await queue.addBulk(
        jobs.map((j) => ({ name: JOB_TYPE, data: j.payload, opts: jobOptions(j) })),
      );
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}

export async function bullmqWorker(
  backend: Backend,
  handler: Handler,
  settings: WorkerSettings,
): Promise<WorkerHandle> {
  const connection = redisConnection(backend.redisUrl);
  const worker = new Worker(JOB_TYPE, async (job) => handler(job.data), {
    connection,
    prefix: backend.prefix,
    concurrency: settings.concurrency,
  });
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close(true);
      connection.disconnect();
    },
  };
}
