/**
 * BullMQ: `Queue.add`/`addBulk` as the producer, a `Worker` as the worker.
 * Defaults are kept (completed jobs are retained: job tracking on). Priority
 * 1 is the highest; unprioritised jobs run before prioritised ones, so the
 * bench gives every job of a priority scenario a priority.
 */
import { FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  CHILD_RESULT,
  FLOW_TYPE,
  JOB_TYPE,
  checkChildren,
  monoNow,
  type BenchPayload,
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
    async flow(n, timeoutMs) {
      // The same queue holds the parent and its children (the worker runs both).
      const flows = new FlowProducer({ connection, prefix: backend.prefix });
      const eventsConnection = redisConnection(backend.redisUrl);
      const events = new QueueEvents(JOB_TYPE, {
        connection: eventsConnection,
        prefix: backend.prefix,
      });
      try {
        await events.waitUntilReady();
        const children = Array.from({ length: n }, () => ({
          name: JOB_TYPE,
          queueName: JOB_TYPE,
          data: { t: monoNow() },
        }));
        const startedAt = monoNow();
        const tree = await flows.add({
          name: FLOW_TYPE,
          queueName: JOB_TYPE,
          data: { t: startedAt, n },
          children,
        });
        const enqueuedAt = monoNow();
        const result = (await tree.job.waitUntilFinished(events, timeoutMs)) as
          { children?: number } | undefined;
        const endedAt = monoNow();
        if (result?.children !== n)
          throw new Error(`flow parent read ${result?.children} children, expected ${n}`);
        return { startedAt, enqueuedAt, endedAt };
      } finally {
        await events.close();
        eventsConnection.disconnect();
        await flows.close();
      }
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
  const worker = new Worker(
    JOB_TYPE,
    async (job) => {
      if (!settings.flows) return handler(job.data as BenchPayload);
      if (job.name === FLOW_TYPE) {
        const values = await job.getChildrenValues();
        return checkChildren(Object.values(values), (job.data as BenchPayload).n);
      }
      await handler(job.data as BenchPayload);
      return CHILD_RESULT;
    },
    {
      connection,
      prefix: backend.prefix,
      concurrency: settings.concurrency,
    },
  );
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close(true);
      connection.disconnect();
    },
  };
}
