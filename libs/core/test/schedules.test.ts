/**
 * `JobQueue.schedules` against a real nats-server: typed errors naming the
 * field, compare-and-set edits, next fire times, and the DST rule of
 * `periodic-schedule.ts`. (The scheduler applying them:
 * services/scheduler/test/stored-schedules.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer } from '@rfw/testkit';
import {
  JobQueue,
  JobValidationError,
  ScheduleExistsError,
  ScheduleNotFoundError,
  nextFireTimes,
  parseSchedule,
  type ScheduleDefinition,
} from '@rfw/core/internal';

const fieldOf = async (p: Promise<unknown>): Promise<string> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JobValidationError);
  return (err as JobValidationError).field;
};

const iso = (ms: number[]): string[] => ms.map((t) => new Date(t).toISOString());

describe('job_processing: stored periodic schedules', () => {
  let server: NatsServer;
  let queue: JobQueue;

  beforeAll(async () => {
    server = await NatsServer.start();
    queue = await JobQueue.connect({ servers: server.url, prefix: 'sch' });
  });
  afterAll(async () => {
    await queue?.close();
    await server?.stop();
  });

  it('adds, reads, lists, updates and removes, with typed errors', async () => {
    const s = await queue.schedules.add(
      { name: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', type: 'cleanup' },
      { by: 'ops' },
    );
    expect(s).toMatchObject({
      v: 1,
      paused: false,
      by: 'ops',
      schedule: { name: 'nightly', payload: {}, misfire: 'latest', misfireGraceMs: 300_000 },
    });
    await expect(
      queue.schedules.add({ name: 'nightly', everyMs: 1000, type: 'x' }),
    ).rejects.toBeInstanceOf(ScheduleExistsError);
    expect(await queue.schedules.get('nightly')).toEqual(s);

    // cron and everyMs replace each other; the time zone goes with the cron.
    const u = await queue.schedules.update('nightly', { everyMs: 60_000, priority: 'low' });
    expect(u.schedule).toMatchObject({ everyMs: 60_000, priority: 'low', type: 'cleanup' });
    expect(u.schedule.cron).toBeUndefined();
    expect(u.schedule.timezone).toBeUndefined();
    expect(u.updatedAt).toBeGreaterThanOrEqual(s.updatedAt);
    expect(u.createdAt).toBe(s.createdAt);

    await queue.schedules.add({ name: 'a-first', everyMs: 500, type: 'x' }, { paused: true });
    expect((await queue.schedules.list()).map((x) => [x.schedule.name, x.paused])).toEqual([
      ['a-first', true],
      ['nightly', false],
    ]);
    expect(await queue.schedules.nextFireTimes('a-first')).toEqual([]);
    expect((await queue.schedules.resume('a-first')).paused).toBe(false);
    expect(await queue.schedules.nextFireTimes('a-first', { count: 3 })).toHaveLength(3);

    await queue.schedules.remove('a-first');
    expect(await queue.schedules.get('a-first')).toBeUndefined();
    for (const p of [
      queue.schedules.remove('a-first'),
      queue.schedules.update('a-first', { everyMs: 1000 }),
      queue.schedules.pause('nope'),
      queue.schedules.nextFireTimes('nope'),
    ])
      await expect(p).rejects.toBeInstanceOf(ScheduleNotFoundError);
    // Added again after removal: a new schedule.
    await queue.schedules.add({ name: 'a-first', everyMs: 500, type: 'y' });
    expect((await queue.schedules.get('a-first'))?.schedule.type).toBe('y');
  });

  it('names the bad field and stores nothing', async () => {
    const bad: Array<[unknown, string]> = [
      [{ name: 'bad name!', everyMs: 1000, type: 'x' }, 'name'],
      [{ name: 'n1', type: 'x' }, 'cron'],
      [{ name: 'n1', cron: '* * * * *', everyMs: 1000, type: 'x' }, 'cron'],
      [{ name: 'n1', cron: 'every day', type: 'x' }, 'cron'],
      [{ name: 'n1', cron: '* * * * *', timezone: 'Mars/Olympus', type: 'x' }, 'timezone'],
      [{ name: 'n1', everyMs: 1000, timezone: 'UTC', type: 'x' }, 'timezone'],
      [{ name: 'n1', everyMs: 50, type: 'x' }, 'everyMs'],
      [{ name: 'n1', everyMs: 1000, type: 'Bad Type' }, 'type'],
      [{ name: 'n1', everyMs: 1000, type: 'x', priority: 'urgent' }, 'priority'],
      [{ name: 'n1', everyMs: 1000, type: 'x', misfire: 'sometimes' }, 'misfire'],
      [{ name: 'n1', everyMs: 1000, type: 'x', extra: 1 }, 'schedule'],
    ];
    for (const [def, field] of bad)
      expect(
        await fieldOf(queue.schedules.add(def as ScheduleDefinition)),
        JSON.stringify(def),
      ).toBe(field);
    expect(await queue.schedules.get('n1')).toBeUndefined();
    await queue.schedules.add({ name: 'n2', everyMs: 1000, type: 'x' });
    expect(await fieldOf(queue.schedules.update('n2', { everyMs: -1 }))).toBe('everyMs');
    expect(
      await fieldOf(queue.schedules.update('n2', { name: 'n3' } as unknown as { type: string })),
    ).toBe('name');
    expect(await fieldOf(queue.schedules.nextFireTimes('n2', { count: 0 }))).toBe('count');
    expect(await fieldOf(queue.schedules.get('../x'))).toBe('name');
    expect((await queue.schedules.get('n2'))?.schedule.everyMs).toBe(1000);
  });

  it('concurrent edits of one schedule all land (compare-and-set, retried)', async () => {
    await queue.schedules.add({ name: 'busy', everyMs: 1000, type: 'x', payload: {} });
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        i % 2 ? queue.schedules.pause('busy') : queue.schedules.update('busy', { maxRetries: i }),
      ),
    );
    // Neither kind of edit undid the other: a lost update would drop the pause
    // or the retries.
    const s = await queue.schedules.get('busy');
    expect(s?.paused).toBe(true);
    expect([0, 2, 4, 6]).toContain(s?.schedule.maxRetries);
  });

  it('a remove racing edits removes the schedule or says it is gone, never a conflict', async () => {
    for (let round = 0; round < 5; round++) {
      await queue.schedules.add({ name: 'racy', everyMs: 1000, type: 'x' });
      const results = await Promise.allSettled([
        queue.schedules.pause('racy'),
        queue.schedules.remove('racy'),
        queue.schedules.update('racy', { maxRetries: 2 }),
        queue.schedules.remove('racy'),
        queue.schedules.resume('racy'),
      ]);
      const removes = [results[1], results[3]];
      // Exactly one remove deleted it; the other found nothing to remove.
      expect(removes.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ScheduleNotFoundError);
      expect(await queue.schedules.get('racy')).toBeUndefined();
    }
  });

  it('lists next fire times by the documented DST rule', () => {
    const daily = parseSchedule(
      { name: 'd', cron: '30 2 * * *', timezone: 'Europe/Berlin', type: 'x' },
      '',
      (f, r) => new JobValidationError(f, r),
    );
    // Spring forward (29 March 2026, 02:00 CET -> 03:00 CEST): 02:30 does not
    // exist; it fires once, at 03:30 CEST (01:30Z), then at 02:30 CEST again.
    expect(iso(nextFireTimes(daily, Date.parse('2026-03-28T12:00:00Z'), 3))).toEqual([
      '2026-03-29T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
      '2026-03-31T00:30:00.000Z',
    ]);
    // Fall back (25 October 2026, 03:00 CEST -> 02:00 CET): 02:30 occurs twice;
    // it fires once, at the first (CEST, 00:30Z), not at 01:30Z.
    expect(iso(nextFireTimes(daily, Date.parse('2026-10-24T12:00:00Z'), 2))).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    // Intervals ignore time zones: multiples of everyMs since the epoch.
    const every = parseSchedule(
      { name: 'e', everyMs: 90_000, type: 'x' },
      '',
      (f, r) => new JobValidationError(f, r),
    );
    expect(nextFireTimes(every, 1_000, 3)).toEqual([90_000, 180_000, 270_000]);
  });
});
