/**
 * Uniqueness (issue 17, item 6): `schedule()`'s `unique` option and
 * `enqueue()`'s `duplicate` answer, against a real nats-server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer } from '@rfw/testkit';
import { JobQueue, JobValidationError, type JobQueue as Q } from '@rfw/core/internal';

/** End a job the way a worker would: write its terminal record. */
async function finish(q: Q, id: string): Promise<void> {
  const rec = await q.ctx.records.get(id);
  if (!rec) throw new Error(`no record for ${id}`);
  const now = Date.now();
  await q.ctx.records.update(
    {
      ...rec.job,
      state: 'succeeded',
      updatedAt: now,
      history: [...rec.job.history, { state: 'succeeded', at: now }],
    },
    rec.revision,
  );
}

describe('job_processing: unique jobs and duplicate answers', () => {
  let server: NatsServer;
  let queue: JobQueue;

  beforeAll(async () => {
    server = await NatsServer.start();
    queue = await JobQueue.connect({ servers: server.url, prefix: 'uq' });
  });
  afterAll(async () => {
    await queue?.close();
    await server?.stop();
  });

  it('answers duplicate for an explicit id while its job exists, and runs it again once finished', async () => {
    expect(await queue.enqueue('mail', { n: 1 }, { id: 'once' })).toEqual({
      id: 'once',
      duplicate: false,
    });
    expect(await queue.enqueue('mail', { n: 2 }, { id: 'once' })).toEqual({
      id: 'once',
      duplicate: true,
    });
    expect((await queue.get('once'))?.payload).toEqual({ n: 1 });
    await finish(queue, 'once');
    expect(await queue.enqueue('mail', { n: 3 }, { id: 'once' })).toEqual({
      id: 'once',
      duplicate: false,
    });
    // A generated id is never a duplicate.
    const a = await queue.enqueue('mail', {});
    const b = await queue.enqueue('mail', {});
    expect([a.duplicate, b.duplicate]).toEqual([false, false]);
    expect(a.id).not.toBe(b.id);
  });

  it('is unique by the whole payload, by fields, or by a key, per type', async () => {
    const p = { bucket: 'photos', key: 'cat.jpg', size: 1 };
    const first = await queue.enqueue('heal', p, { unique: {} });
    expect(first.duplicate).toBe(false);
    expect(first.id).toMatch(/^u_[0-9a-f]{40}$/);
    // Same payload with its keys in another order: the same key.
    expect(
      await queue.enqueue('heal', { size: 1, key: 'cat.jpg', bucket: 'photos' }, { unique: {} }),
    ).toEqual({ id: first.id, duplicate: true });
    expect((await queue.enqueue('heal', { ...p, size: 2 }, { unique: {} })).duplicate).toBe(false);
    // Another type with the same payload is another job.
    expect((await queue.enqueue('replicate', p, { unique: {} })).id).not.toBe(first.id);

    const byFields = { unique: { fields: ['bucket', 'key'] } };
    const f1 = await queue.enqueue('scan', p, byFields);
    expect(await queue.enqueue('scan', { ...p, size: 99 }, byFields)).toEqual({
      id: f1.id,
      duplicate: true,
    });
    expect((await queue.enqueue('scan', { ...p, key: 'dog.jpg' }, byFields)).duplicate).toBe(false);

    const k1 = await queue.enqueue('report', { a: 1 }, { unique: { key: 'tenant-7' } });
    expect(await queue.enqueue('report', { a: 2 }, { unique: { key: 'tenant-7' } })).toEqual({
      id: k1.id,
      duplicate: true,
    });
    // schedule() keeps answering the id; scheduleMany() says which were duplicates.
    expect(await queue.schedule('report', {}, { unique: { key: 'tenant-7' } })).toBe(k1.id);
    const many = await queue.scheduleMany([
      { type: 'report', payload: {}, options: { unique: { key: 'tenant-7' } } },
      { type: 'report', payload: {}, options: { unique: { key: 'tenant-8' } } },
    ]);
    expect(many.map((r) => r.ok && r.duplicate)).toEqual([true, false]);
  });

  it('holds for periodMs after the job finished, then runs again', async () => {
    const opts = { unique: { key: 'nightly', periodMs: 60_000 } };
    const j = await queue.enqueue('digest', {}, opts);
    await finish(queue, j.id);
    expect(await queue.enqueue('digest', {}, opts)).toEqual({ id: j.id, duplicate: true });
    // Without a period, a finished job's key is free again.
    const k = await queue.enqueue('digest', {}, { unique: { key: 'hourly' } });
    await finish(queue, k.id);
    expect(await queue.enqueue('digest', {}, { unique: { key: 'hourly' } })).toEqual({
      id: k.id,
      duplicate: false,
    });
    // A period that has passed frees it too.
    const short = { unique: { key: 'short', periodMs: 1 } };
    const s = await queue.enqueue('digest', {}, short);
    await finish(queue, s.id);
    const rec = await queue.ctx.records.get(s.id);
    await queue.ctx.records.update({ ...rec!.job, updatedAt: Date.now() - 10 }, rec!.revision);
    expect((await queue.enqueue('digest', {}, short)).duplicate).toBe(false);
  });

  it('names the bad field', async () => {
    const cases: Array<[unknown, unknown, string]> = [
      [{}, { id: 'x', unique: {} }, 'unique'],
      [{}, { unique: 'yes' }, 'unique'],
      [{}, { unique: { key: '' } }, 'unique.key'],
      [{}, { unique: { key: 'a', fields: ['b'] } }, 'unique.key'],
      [{}, { unique: { fields: [] } }, 'unique.fields'],
      [{ a: 1 }, { unique: { fields: ['b'] } }, 'unique.fields'],
      [[1, 2], { unique: { fields: ['a'] } }, 'unique.fields'],
      [{}, { unique: { periodMs: -1 } }, 'unique.periodMs'],
    ];
    for (const [payload, options, field] of cases) {
      const err = await queue.enqueue('bad', payload, options as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(options)).toBeInstanceOf(JobValidationError);
      expect((err as JobValidationError).field).toBe(field);
    }
    expect((await queue.list({ type: 'bad' })).jobs).toHaveLength(0);
  });
});
