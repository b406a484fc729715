import { describe, expect, it } from 'vitest';
import { waitFor } from '@rfw/testkit';
import { NonRetryableError, defineWorker } from '@rfw/worker';
import { useHarness } from './helpers.js';

/** Parse Prometheus text into `name{labels} -> value`, labels sorted and `monitor` dropped. */
function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = (m[2] ?? '')
      .split(/,(?=[a-z_]+=")/)
      .filter((l) => l && !l.startsWith('monitor='))
      .sort()
      .join(',');
    out.set(`${m[1]}{${labels}}`, Number(m[3]));
  }
  return out;
}

describe('integration: monitor metrics', () => {
  const h = useHarness();

  it('agree with what was scheduled and run, and with JobQueue.statistics()', async () => {
    // A wide rate window keeps the rates exact on a slow machine.
    const m = await h.monitor({ rateWindowMs: 60_000 });
    await h.manager([
      defineWorker('ok', async (_p, ctx) => {
        // A storage sweep's report carries bytes beside done/total (SweepProgress).
        const sweep = { done: 1, total: 1, bytesDone: 4096, bytesPerSec: 2048 };
        ctx.progress(sweep);
        return 'done';
      }),
      defineWorker('bad', async () => {
        throw new NonRetryableError('always fails');
      }),
    ]);
    const q = await h.queue();
    for (let i = 0; i < 5; i++)
      await q.schedule('ok', { i }, { priority: i < 2 ? 'high' : 'normal' });
    for (let i = 0; i < 3; i++) await q.schedule('bad', { i });
    for (let i = 0; i < 2; i++) await q.schedule('idle', { i }, { priority: 'low' });
    for (let i = 0; i < 2; i++) await q.schedule('idle', { i }, { delay: 3_600_000 });

    const metrics = await waitFor('every runnable job finished', async () => {
      const x = await m.monitor.getMetrics();
      return x.completedJobs === 5 && x.failedJobs === 3 ? x : undefined;
    });
    const stats = await q.statistics();
    expect(metrics).toMatchObject({
      activeJobs: stats.total.running,
      completedJobs: stats.total.succeeded,
      failedJobs: stats.total.dead,
      queueSize: stats.total.queueSize,
      pending: stats.total.pending,
      delayed: stats.total.delayed,
      dlq: stats.total.dlq,
    });
    expect(metrics).toMatchObject({
      activeJobs: 0,
      completedJobs: 5,
      failedJobs: 3,
      queueSize: 2,
      pending: 2,
      delayed: 2,
      dlq: 3,
      workerCount: 1,
    });
    expect(metrics.byType.ok).toMatchObject({ completedJobs: 5, failedJobs: 0, workerCount: 1 });
    expect(metrics.byType.bad).toMatchObject({
      completedJobs: 0,
      failedJobs: 3,
      dlq: 3,
      workerCount: 1,
    });
    expect(metrics.byType.idle).toMatchObject({
      queueSize: 2,
      pending: 2,
      delayed: 2,
      workerCount: 0,
    });

    // The live events reached the monitor too (history and live).
    await waitFor('all terminal events seen', () => {
      const c = m.monitor.tracker.counts;
      return c.count(['succeeded'], 60_000) === 5 && c.count(['dead'], 60_000) === 3;
    });
    await m.monitor.refresh();
    const prom = parseProm(await m.monitor.metrics.registry.metrics());
    const get = (k: string): number | undefined => prom.get(k);
    expect(get('rfw_cluster_queue_depth{priority="low",type="idle"}')).toBe(2);
    expect(get('rfw_cluster_jobs_delayed{priority="normal",type="idle"}')).toBe(2);
    expect(get('rfw_cluster_jobs_finished{priority="high",state="succeeded",type="ok"}')).toBe(2);
    expect(get('rfw_cluster_jobs_finished{priority="normal",state="succeeded",type="ok"}')).toBe(3);
    expect(get('rfw_cluster_jobs_finished{priority="normal",state="dead",type="bad"}')).toBe(3);
    expect(get('rfw_cluster_dlq_size{type="bad"}')).toBe(3);
    expect(get('rfw_cluster_workers{type="ok"}')).toBe(1);
    expect(get('rfw_cluster_nodes{status="up"}')).toBe(1);
    expect(get('rfw_cluster_job_events_total{priority="normal",state="succeeded",type="ok"}')).toBe(
      3,
    );
    expect(get('rfw_cluster_job_events_total{priority="normal",state="dead",type="bad"}')).toBe(3);
    expect(get('rfw_cluster_throughput_per_second{priority="normal",type="ok"}')).toBeCloseTo(
      3 / 60,
    );
    expect(get('rfw_cluster_failures_per_second{priority="normal",type="bad"}')).toBeCloseTo(
      3 / 60,
    );
    expect(get('rfw_monitor_is_leader{}')).toBe(1);
    expect(get('rfw_cluster_job_duration_seconds_count{outcome="succeeded",type="ok"}')).toBe(5);
    // Jobs that reported progress show as finished sweeps.
    const sweeps = m.monitor.tracker.sweeps();
    expect(sweeps.filter((s) => s.type === 'ok')).toHaveLength(5);
    expect(sweeps.every((s) => s.state === 'succeeded' && s.done === 1)).toBe(true);
    expect(sweeps.every((s) => s.bytesDone === 4096 && s.bytesPerSec === 2048)).toBe(true);
  });

  it('counts history read at start the same as live events', async () => {
    await h.manager([defineWorker('ok', async () => 'done')]);
    const q = await h.queue();
    for (let i = 0; i < 4; i++) await q.schedule('ok', { i });
    await waitFor('jobs done', async () => (await q.statistics()).total.succeeded === 4);
    // A monitor started after the fact reads them from the events stream.
    const late = await h.monitor();
    await late.monitor.tracker.caughtUp;
    expect(late.monitor.tracker.counts.count(['succeeded'], 60_000)).toBe(4);
    expect((await late.monitor.getMetrics()).completedJobs).toBe(4);
  });
});
