/**
 * A producer: schedule one thumbnail job, wait until it ends, and print its
 * record as one JSON line.
 *   NATS_URL=nats://127.0.0.1:4222 node dist/src/enqueue.js photos/cat.jpg
 */
import { JobQueue, TERMINAL_STATES, type Job } from '@rfw/core';
import { THUMBNAIL, type ThumbnailPayload } from './thumbnail.js';

const key = process.argv[2] ?? 'cat.jpg';
const queue = await JobQueue.connect({
  servers: process.env.NATS_URL,
  prefix: process.env.RFW_PREFIX,
});
try {
  const payload: ThumbnailPayload = { bucket: 'photos', key, size: 128 };
  const id = await queue.schedule(THUMBNAIL, payload, { priority: 'high', maxRetries: 3 });
  const deadline = Date.now() + 30_000;
  let job: Job | undefined;
  // A producer that needs the outcome polls the record (or listens to events).
  while (!(job && TERMINAL_STATES.has(job.state)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    job = await queue.get(id);
  }
  console.log(JSON.stringify(job));
} finally {
  await queue.close();
}
