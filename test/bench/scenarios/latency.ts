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
import type { SystemName } from '../systems/types.js';
import type { MetricDef, RunContext, Scenario } from './types.js';

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

/** One paced run at `rate` jobs/s: enqueue-to-start p50/p99/max after the warm-up, and the producer's lag. */
async function measurePaced(
  system: SystemName,
  ctx: RunContext,
  rate: number,
): Promise<{ p50: number; p99: number; max: number; lagged: number }> {
  const s = ctx.sizes;
  return withRun(system, ctx, async (run) => {
    const worker = await run.worker({
      concurrency: s.workerConcurrency,
      handler: 'noop',
      record: 'start',
    });
    const producer = await run.producer();
    const fed = await producer.task({
      kind: 'paced',
      rate,
      durationMs: s.latencyDurationMs,
      inFlightCap: 500,
    });
    const sent = fed.sent ?? 0;
    await worker.waitFor(`${sent} jobs done`, (p) => p.done >= sent, 60_000);
    const { samples } = await worker.report();
    const from = (fed.startedAt ?? 0) + s.latencyWarmupMs;
    const l = latencySummary(pairValues(samples, (t) => t >= from));
    // `lagged`: ticks on which the producer's in-flight window was full.
    return { p50: l.p50, p99: l.p99, max: l.max, lagged: fed.lagged ?? 0 };
  });
}

export function latencyScenario(rates: readonly number[]): Scenario {
  return {
    id: 'latency',
    title: '3. Enqueue-to-start latency, paced, steady state (first second excluded)',
    systems: SYSTEMS,
    metrics: metricsFor(rates),
    async run(system, ctx) {
      const out: Record<string, number> = {};
      for (const r of rates) {
        const l = await measurePaced(system, ctx, r);
        out[`p50_${r}`] = l.p50;
        out[`p99_${r}`] = l.p99;
        out[`max_${r}`] = l.max;
        // Not a table metric.
        out[`lagged_${r}`] = l.lagged;
      }
      return out;
    },
  };
}

/**
 * Scenario 3b: the highest of `rates` (ascending) each system sustains with
 * an enqueue-to-start p99 under `boundMs`, measured as scenario 3 measures
 * one rate; the steps stop at the first rate that misses. 0 when even the
 * first one does.
 */
export function maxRateScenario(rates: readonly number[], boundMs = 10): Scenario {
  return {
    id: 'max-rate',
    title: `3b. Highest paced rate with enqueue-to-start p99 under ${boundMs} ms`,
    systems: SYSTEMS,
    metrics: [
      {
        key: 'rate',
        label: `highest rate with p99 < ${boundMs} ms`,
        unit: 'jobs/s',
        better: 'higher',
      },
      {
        key: 'p99',
        label: 'p99 at that rate (at the lowest, when none passed)',
        unit: 'ms',
        better: 'lower',
      },
    ],
    async run(system, ctx) {
      let rate = 0;
      let p99 = Number.NaN;
      for (const r of [...rates].sort((a, b) => a - b)) {
        const l = await measurePaced(system, ctx, r);
        ctx.log(`  ${system} at ${r} jobs/s: p99 ${l.p99.toFixed(2)} ms`);
        if (Number.isNaN(p99)) p99 = l.p99; // the first rate's, should none pass
        if (!(l.p99 < boundMs)) break;
        rate = r;
        p99 = l.p99;
      }
      return { rate, p99 };
    },
  };
}
