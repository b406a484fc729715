/**
 * Scenario 3: enqueue-to-start latency at a paced rate, in steady state. The
 * producer stamps each job with its enqueue time on the monotonic clock that
 * every process shares; the worker takes the difference when the handler
 * starts. The producer runs open loop: a job's stamp is the time it was due
 * to be sent, so a producer that falls behind counts against the system
 * (no coordinated omission); at most 500 calls are in flight, so an
 * overloaded system makes the producer lag rather than time out. Jobs due
 * in the first `latencyWarmupMs` of a run are dropped, by the same rule for
 * every system.
 */
import { SYSTEMS } from '../systems/types.js';
import { latencySummary, pairValues } from '../stats.js';
import { withRun } from './scope.js';
import type { MetricDef, Scenario } from './types.js';

function metricsFor(rates: readonly number[]): MetricDef[] {
  return rates.flatMap((r) =>
    (['p50', 'p99', 'max'] as const).map((q) => ({
      key: `${q}_${r}`,
      label: `${q} at ${r.toLocaleString('en-US')} jobs/s`,
      unit: 'ms',
      better: 'lower' as const,
    })),
  );
}

export function latencyScenario(rates: readonly number[]): Scenario {
  return {
    id: 'latency',
    title: '3. Enqueue-to-start latency, paced, steady state (first second excluded)',
    systems: SYSTEMS,
    metrics: metricsFor(rates),
    async run(system, ctx) {
      const s = ctx.sizes;
      const out: Record<string, number> = {};
      for (const r of rates) {
        await withRun(system, ctx, async (run) => {
          const worker = await run.worker({
            concurrency: s.workerConcurrency,
            handler: 'noop',
            record: 'start',
          });
          const producer = await run.producer();
          const fed = await producer.task({
            kind: 'paced',
            rate: r,
            durationMs: s.latencyDurationMs,
            inFlightCap: 500,
          });
          const sent = fed.sent ?? 0;
          await worker.waitFor(`${sent} jobs done`, (p) => p.done >= sent, 60_000);
          const { samples } = await worker.report();
          const from = (fed.startedAt ?? 0) + s.latencyWarmupMs;
          const l = latencySummary(pairValues(samples, (t) => t >= from));
          out[`p50_${r}`] = l.p50;
          out[`p99_${r}`] = l.p99;
          out[`max_${r}`] = l.max;
          // Not a table metric: ticks on which the producer's in-flight window was full.
          out[`lagged_${r}`] = fed.lagged ?? 0;
        });
      }
      return out;
    },
  };
}
