/**
 * Tests of the worker type against a real nats-server, with the test kit:
 * `npm run build && npm test` (nats-server from NATS_SERVER_BIN or PATH).
 */
import { after, afterEach, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { useJobFixture, waitForJobState } from '@rfw/testkit';
import { THUMBNAIL, thumbnailWorker } from '../src/thumbnail.js';

const fx = useJobFixture({ beforeAll: before, afterEach, afterAll: after });

it('makes a thumbnail', async () => {
  const queue = await fx.queue();
  await fx.manager([thumbnailWorker]);
  const id = await queue.schedule(THUMBNAIL, { bucket: 'photos', key: 'cat.jpg' });
  const job = await waitForJobState(queue, id, ['succeeded', 'dead']);
  assert.equal(job.state, 'succeeded');
  assert.deepEqual(job.result, { thumbnail: 'photos/thumbs/cat.jpg@256', size: 256 });
});

it('dead-letters what is not an image, without retrying', async () => {
  const queue = await fx.queue();
  await fx.manager([thumbnailWorker]);
  const id = await queue.schedule(THUMBNAIL, { bucket: 'photos', key: 'notes.txt' });
  const job = await waitForJobState(queue, id, ['succeeded', 'dead']);
  assert.equal(job.state, 'dead');
  assert.equal(job.attempts, 1);
});
