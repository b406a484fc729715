/**
 * Schedules changed at run time (issue 17, item 4): added, updated, paused,
 * resumed and removed through `JobQueue.schedules` while schedulers run, with
 * no restart; a scheduler started later and a new leader pick them up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '@rfw/core';
import { decodeJson } from '@rfw/core/internal';
import { NatsServer, waitFor } from '@rfw/testkit';
import { Scheduler, parseSchedules } from '@rfw/service-scheduler';

interface Fire {
  id: string;
  name: string;
  at: number;
  payload: unknown;
  type: string;
}

describe('job_processing: schedules stored at run time', () => {
  let server: NatsServer;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await server?.stop();
  });

  async function setUp(prefix: string, configured: unknown[] = []) {
    const queue = await JobQueue.connect({ servers: server.url, prefix });
    closers.push(() => queue.close());
    const fires: Fire[] = [];
    // Every job publish, seen as it happens (a fire's id is `<name>-<fire time>`).
    queue.ctx.nc.subscribe(`${prefix}.jobs.>`, {
      callback: (_e, m) => {
        const id = m.headers?.get('Rfw-Job-Id') ?? '';
        const cut = id.lastIndexOf('-');
        fires.push({
          id,
          name: id.slice(0, cut),
          at: Number(id.slice(cut + 1)),
          payload: decodeJson(m.data),
          type: m.subject.split('.')[2] ?? '',
        });
      },
    });
    await queue.ctx.nc.flush();
    const start = async (nodeId: string): Promise<Scheduler> => {
      const s = await Scheduler.create({
        servers: server.url,
        prefix,
        nodeId,
        leaderElectionTimeoutMs: 1000,
        heartbeatIntervalMs: 200,
        schedules: parseSchedules(configured, 'SCHEDULES'),
      });
      closers.push(() => s.stop());
      await s.start();
      return s;
    };
    const of = (name: string): Fire[] => fires.filter((f) => f.name === name);
    const fired = (what: string, name: string, n: number, after = 0): Promise<Fire[]> =>
      waitFor(
        what,
        () => {
          const got = of(name).filter((f) => f.at > after);
          return got.length >= n ? got : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 50 },
      );
    return { queue, start, of, fired };
  }

  it('adds, updates, pauses, resumes and removes schedules while a scheduler runs', async () => {
    const { queue, start, of, fired } = await setUp('sched1');
    const scheduler = await start('s1');
    await waitFor('a leader', () => scheduler.isLeader || undefined, { timeoutMs: 20_000 });

    const added = await queue.schedules.add({
      name: 'beat',
      everyMs: 300,
      type: 'beat',
      payload: { v: 1 },
    });
    expect(added).toMatchObject({ paused: false, schedule: { name: 'beat', misfire: 'latest' } });
    const first = await fired('3 beats', 'beat', 3);
    for (const f of first) {
      expect(f.at % 300).toBe(0);
      // Only times after it was added.
      expect(f.at).toBeGreaterThan(added.createdAt);
      expect(f).toMatchObject({ type: 'beat', payload: { v: 1 } });
    }

    // Update: the next fires follow the new interval and payload.
    const updated = await queue.schedules.update('beat', { everyMs: 500, payload: { v: 2 } });
    const second = await fired('2 beats after the update', 'beat', 2, updated.updatedAt);
    for (const f of second) {
      expect(f.at % 500).toBe(0);
      expect(f.payload).toEqual({ v: 2 });
    }

    // Pause: nothing fires. A probe added after the pause fires twice, so the
    // leader has applied the pause by then (changes apply in order).
    const paused = await queue.schedules.pause('beat');
    expect(paused.paused).toBe(true);
    expect(await queue.schedules.nextFireTimes('beat')).toEqual([]);
    const probe = await queue.schedules.add({ name: 'probe', everyMs: 200, type: 'probe' });
    await fired('2 probes', 'probe', 2, probe.createdAt);
    // About 2 s paused: four or more beat times pass unfired.
    await fired('10 probes', 'probe', 10, probe.createdAt);
    // A pause applies within moments (300 ms of margin for a busy machine).
    const quiet = (f: Fire): boolean => f.at > paused.updatedAt + 300;
    expect(of('beat').filter(quiet)).toEqual([]);

    // Resume: fires again, none of the times it missed.
    const resumed = await queue.schedules.resume('beat');
    const third = await fired('2 beats after resume', 'beat', 2, resumed.updatedAt);
    // None of the times that passed while it was paused.
    expect(of('beat').filter((f) => quiet(f) && f.at <= resumed.updatedAt)).toEqual([]);
    expect(third.every((f) => f.at % 500 === 0)).toBe(true);

    // Remove: stops; the jobs it fired are kept.
    await queue.schedules.remove('beat');
    const removedAt = Date.now();
    const marker = await queue.schedules.add({ name: 'marker', everyMs: 200, type: 'probe' });
    await fired('2 markers', 'marker', 2, marker.createdAt);
    expect(of('beat').filter((f) => f.at > removedAt + 500)).toEqual([]);
    expect(await queue.schedules.get('beat')).toBeUndefined();
    expect((await queue.schedules.list()).map((s) => s.schedule.name)).toEqual(['marker', 'probe']);
    expect(await queue.get(first[0]!.id)).toMatchObject({ type: 'beat' });

    // Exactly one job per fire time.
    const ids = [...of('beat'), ...of('probe'), ...of('marker')].map((f) => f.id);
    expect(ids.length).toBe(new Set(ids).size);
    expect(
      scheduler
        .status()
        .schedules.map((s) => `${s.name}:${s.source}`)
        .sort(),
    ).toEqual(['marker:stored', 'probe:stored']);
  });

  it('a scheduler started later, and a new leader, run the stored schedules; a configured name wins', async () => {
    const { queue, start, of, fired } = await setUp('sched2', [
      { name: 'cfg', everyMs: 300, type: 'from-config' },
    ]);
    const a = await start('a');
    await waitFor('a leader', () => a.isLeader || undefined, { timeoutMs: 20_000 });
    await queue.schedules.add({ name: 'cfg', everyMs: 300, type: 'from-store' });
    const s = await queue.schedules.add({ name: 'kept', everyMs: 300, type: 'kept' });
    await fired('2 kept fires by a', 'kept', 2, s.createdAt);
    const b = await start('b');
    await a.stop();
    await waitFor('b to lead', () => b.isLeader || undefined, { timeoutMs: 20_000 });
    const handover = Date.now();
    await fired('2 kept fires by b', 'kept', 2, handover);
    await fired('2 cfg fires', 'cfg', 2, handover);
    expect(new Set(of('cfg').map((f) => f.type))).toEqual(new Set(['from-config']));
    const ids = of('kept').map((f) => f.id);
    expect(ids.length).toBe(new Set(ids).size);
  });
});
