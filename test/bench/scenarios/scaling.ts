/**
 * Scenario 6: scaling out on I/O-bound jobs. 1, 2 and 4 worker processes,
 * each with the same concurrency, run jobs that sleep 50 ms; the producer
 * enqueues the same number of jobs per process once every worker is ready.
 */
import { SYSTEMS } from '../systems/types.js';
import { waitForAll } from '../harness.js';
import { withRun } from './scope.js';
import type { MetricDef, Scenario } from './types.js';

export function scalingScenario(processes: readonly number[]): Scenario {
  const last = processes[processes.length - 1] ?? 1;
  const metrics: MetricDef[] = processes.map((p) => ({
    key: `rate_${p}`,
    label: `${p} worker process${p > 1 ? 'es' : ''}`,
    unit: 'jobs/s',
    better: 'higher',
  }));
  metrics.push({
    key: `speedup_${last}`,
    label: `speed-up, ${last} processes over 1`,
    unit: 'x',
    better: 'higher',
  });
  return {
    id: 'scaling',
    title: '6. Scaling on I/O-bound jobs (50 ms each)',
    systems: SYSTEMS,
    metrics,
    async run(system, ctx) {
      const s = ctx.sizes;
      const out: Record<string, number> = {};
      for (const p of processes) {
        const n = s.scalingJobsPerProcess * p;
        out[`rate_${p}`] = await withRun(system, ctx, async (run) => {
          const workers = await run.workers(p, {
            concurrency: s.scalingConcurrency,
            handler: 'sleep',
            sleepMs: s.scalingSleepMs,
            record: 'none',
          });
          const producer = await run.producer();
          const fed = await producer.task({ kind: 'bulk', n, chunk: s.bulkChunk });
          await waitForAll(
            workers,
            `${n} jobs done`,
            (all) => all.reduce((a, w) => a + w.done, 0) >= n,
            60_000 + n * 20,
          );
          const end = Math.max(...workers.map((w) => w.progress.lastDoneAt));
          return (n * 1000) / (end - (fed.startedAt ?? 0));
        });
      }
      out[`speedup_${last}`] = (out[`rate_${last}`] ?? 0) / (out.rate_1 ?? Number.NaN);
      return out;
    },
  };
}
