import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, headers } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { useJobFixture } from '@rfw/testkit';
import { MAX_BATCH, hasBatchDirectGet, type JobFilter, type JobQueue } from '@rfw/core/internal';

/** Every page of `filter`, in order. */
async function allPages(queue: JobQueue, filter: JobFilter): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await queue.list({ ...filter, cursor });
    if (page.jobs.length) pages.push(page.jobs.map((j) => j.id));
    cursor = page.jobs.length ? page.nextCursor : undefined;
  } while (cursor);
  return pages;
}

// list() reads a page in batches on 2.11+ (batched direct get of messages, then
// of their records) and one message at a time on 2.10: both must page the same.
describe('job_processing: list() pages and get() scans, batched or not', () => {
  const fx = useJobFixture({ beforeAll, afterEach, afterAll });

  it('pages through hits whose state moved on without losing or repeating a job', async () => {
    const queue = await fx.queue();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await queue.schedule('pages', { i }));
    const cancelled = ids.filter((_, i) => i % 3 === 0);
    for (const id of cancelled) await queue.cancel(id);
    const waiting = ids.filter((id) => !cancelled.includes(id));

    const pendingPages = await allPages(queue, { status: 'pending', type: 'pages', limit: 7 });
    expect(pendingPages.flat()).toEqual(waiting);
    expect(pendingPages.slice(0, -1).every((p) => p.length === 7)).toBe(true);

    // From the events stream: every job has a pending event, the cancelled
    // ones a cancelled event too; the records decide what is listed.
    const cancelledPages = await allPages(queue, { status: 'cancelled', type: 'pages', limit: 4 });
    expect(cancelledPages.flat()).toEqual(cancelled);
    // No status: every job once, in the state its record holds now.
    const everyJob: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await queue.list({ type: 'pages', limit: 5, cursor });
      for (const j of page.jobs) {
        expect(j.state).toBe(cancelled.includes(j.id) ? 'cancelled' : 'pending');
        everyJob.push(j.id);
      }
      cursor = page.jobs.length ? page.nextCursor : undefined;
    } while (cursor);
    expect(everyJob).toEqual(ids);
  });

  it(`finds a bare NATS job behind more than ${MAX_BATCH} waiting messages`, async () => {
    const queue = await fx.queue();
    const nc = await connect({ servers: fx.server.url });
    const js = jetstream(nc);
    const subject = `${fx.prefix}.jobs.scan.low`;
    for (let i = 0; i < MAX_BATCH + 50; i++) await js.publish(subject, '{}');
    const h = headers();
    h.set('Nats-Msg-Id', 'bare-behind');
    await js.publish(subject, '{"deep":true}', { headers: h });
    await nc.close();
    expect(await queue.get('bare-behind')).toMatchObject({
      id: 'bare-behind',
      state: 'pending',
      payload: { deep: true },
    });
    const pages = await allPages(queue, { status: 'pending', type: 'scan', limit: 1000 });
    expect(pages).toHaveLength(1);
    expect(pages[0]).toHaveLength(MAX_BATCH + 51);
    expect(pages[0]?.at(-1)).toBe('bare-behind');
  });

  it('uses batched reads exactly on servers that have them', async () => {
    const { nc } = (await fx.queue()).ctx;
    const [major = 0, minor = 0] = (nc.info?.version ?? '').split('.').map(Number);
    expect(hasBatchDirectGet(nc)).toBe(major > 2 || (major === 2 && minor >= 11));
  });
});
