import { describe, expect, it } from 'vitest';
import type { Registry } from 'prom-client';
import { waitFor } from '@rfw/testkit';
import { DeferError, defineWorker } from '@rfw/worker';
import { useHarness, waitForState } from './helpers.js';

/** The value of one series of a metric in `registry` (0 when absent). */
async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
  suffix = '',
): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  let sum = 0;
  for (const v of values) {
    // Histogram series carry their own name (`_bucket`, `_sum`, `_count`).
    const series = (v as { metricName?: string }).metricName ?? name;
    if (suffix && series !== `${name}${suffix}`) continue;
    if (Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x)) sum += v.value;
  }
  return sum;
}

describe('integration: queue latency metrics of a worker', () => {
  const h = useHarness();

  it('observes time in queue and run time per type and priority', async () => {
    const q = await h.queue();
    const scheduledAt = Date.now();
    const ids = [
      await q.schedule('lat', { ms: 60 }, { priority: 'high' }),
      await q.schedule('lat', { ms: 60 }, { priority: 'high' }),
      await q.schedule('lat', { ms: 60 }, { priority: 'low' }),
    ];
    // The jobs wait (no worker yet): that wait is what is measured.
    await new Promise((r) => setTimeout(r, 400));
    const startedAt = Date.now();
    const m = await h.manager([
      defineWorker('lat', async (p: { ms: number }) => {
        await new Promise((r) => setTimeout(r, p.ms));
      }),
    ]);
    for (const id of ids) await waitForState(q, id, ['succeeded']);
    const reg = m.metrics.registry;
    const qt = 'rfw_job_queue_time_seconds';
    const rt = 'rfw_job_run_time_seconds';
    const high = { type: 'lat', priority: 'high' };
    const low = { type: 'lat', priority: 'low' };
    await waitFor(
      'both run times observed',
      async () => (await value(reg, rt, high, '_count')) === 2,
    );
    expect(await value(reg, qt, high, '_count')).toBe(2);
    expect(await value(reg, qt, low, '_count')).toBe(1);
    expect(await value(reg, rt, low, '_count')).toBe(1);
    // Each waited from its store time until this instance took it: at least the 400 ms above.
    const highWait = await value(reg, qt, high, '_sum');
    expect(highWait).toBeGreaterThanOrEqual(2 * 0.39);
    expect(highWait).toBeLessThanOrEqual((2 * (Date.now() - scheduledAt)) / 1000);
    expect(await value(reg, qt, { ...low, le: '0.25' }, '_bucket')).toBe(0);
    // Run time covers the handler's 60 ms, and not the wait.
    const highRun = await value(reg, rt, high, '_sum');
    expect(highRun).toBeGreaterThanOrEqual(2 * 0.055);
    expect(highRun).toBeLessThan((2 * (Date.now() - startedAt)) / 1000);
  });

  it('counts one rate-limit deferral per job held back', async () => {
    const q = await h.queue();
    const N = 12;
    const RATE = 5;
    await q.scheduleMany(
      Array.from({ length: N }, (_, i) => ({ type: 'limited', payload: { i } })),
    );
    let ran = 0;
    const m = await h.manager(
      [defineWorker('limited', async () => void ran++, { rateLimitPerSecond: RATE })],
      { maxConcurrentJobs: 50 },
    );
    await waitFor('all ran', () => ran === N, { timeoutMs: 30_000 });
    // A burst of RATE starts at once; each of the others waited for a token, once.
    expect(
      await value(m.metrics.registry, 'rfw_jobs_deferred_total', {
        type: 'limited',
        reason: 'rate-limit',
      }),
    ).toBe(N - RATE);
  });

  it('counts one deferral per buffered job a pause hands back', async () => {
    const q = await h.queue();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const m = await h.manager(
      [
        defineWorker('held', async () => {
          await gate;
        }),
      ],
      { maxConcurrentJobs: 1, prefetch: 3 },
    );
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await q.schedule('held', { i }));
    // One runs, three wait in the instance's buffer: all four delivered.
    await waitFor('four delivered', async () => {
      const ci = await q.ctx.jsm.consumers.info(
        q.ctx.names.jobsStream,
        q.ctx.names.consumerName('held', 'normal'),
      );
      return ci.num_ack_pending === 4 && ci.num_pending === 0;
    });
    await q.pause('held');
    const reg = m.metrics.registry;
    await waitFor(
      'three handed back',
      async () => (await value(reg, 'rfw_jobs_deferred_total', { reason: 'paused' })) === 3,
    );
    release();
    await q.resume('held');
    for (const id of ids) await waitForState(q, id, ['succeeded']);
    expect(await value(reg, 'rfw_jobs_deferred_total', { type: 'held', reason: 'paused' })).toBe(3);
  });

  it('counts one deferral for a handler DeferError', async () => {
    const q = await h.queue();
    let calls = 0;
    const m = await h.manager([
      defineWorker('later', async () => {
        if (++calls === 1) throw new DeferError(50, 'not yet');
        return 'done';
      }),
    ]);
    const id = await q.schedule('later', {});
    await waitForState(q, id, ['succeeded']);
    // Summed over reasons: the handler's deferral is counted once (its reason label is the runner's).
    expect(await value(m.metrics.registry, 'rfw_jobs_deferred_total', { type: 'later' })).toBe(1);
    // The first delivery's time in queue is observed once; the redelivery after the deferral is not.
    expect(
      await value(
        m.metrics.registry,
        'rfw_job_queue_time_seconds',
        { type: 'later', priority: 'normal' },
        '_count',
      ),
    ).toBe(1);
  });
});
