/**
 * The README's runnable example: a worker and a producer in one process.
 * Run it against any NATS with JetStream:
 *   NATS_URL=nats://127.0.0.1:4222 npx tsx --conditions=source test/examples/quickstart.ts
 */
import { z } from 'zod';
import { JobQueue } from '@rfw/core';
import { JobResult, NonRetryableError, WorkerManager, type Worker } from '@rfw/worker';

// A job type is data plus a registered handler; its payload is validated by the schema.
const Thumbnail = z.object({
  bucket: z.string(),
  key: z.string(),
  width: z.number().int().positive(),
});
type Thumbnail = z.infer<typeof Thumbnail>;

const thumbnails: Worker<Thumbnail> = {
  workerType: 'thumbnail',
  schema: Thumbnail,
  maxRetries: 5,
  async processJob(job, ctx) {
    ctx.logger.info({ key: job.payload.key }, 'resizing');
    if (job.payload.width > 10_000) throw new NonRetryableError('width too large'); // dead at once
    ctx.progress({ done: 1, total: 1 });
    ctx.updateMetrics('thumbnails_made', 1);
    return JobResult.success({ thumbnail: `${job.payload.key}@${job.payload.width}` });
  },
  healthCheck: () => true,
};

const prefix = process.env.RFW_PREFIX ?? 'quickstart';
const manager = await WorkerManager.create({
  workerId: 'quickstart-1',
  maxConcurrentJobs: 10,
  jobTimeout: 30_000,
  retryLimit: 3,
  prefix,
});
manager.register(thumbnails as Worker);
await manager.start();

const queue = await JobQueue.connect({ prefix });
const id = await queue.schedule(
  'thumbnail',
  { bucket: 'photos', key: 'cat.jpg', width: 256 },
  { priority: 'high' },
);
for (;;) {
  const job = await queue.get(id);
  if (job?.state === 'succeeded' || job?.state === 'dead') {
    console.log(JSON.stringify({ id, state: job.state, result: job.result }));
    break;
  }
  await new Promise((r) => setTimeout(r, 50));
}
console.log(JSON.stringify(await queue.statistics().then((s) => s.byType.thumbnail?.total)));
await queue.close();
await manager.shutdown();
