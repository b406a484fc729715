/** Scenarios 1 and 2: enqueue throughput, and end-to-end no-op jobs per second. */
import { SYSTEMS } from '../systems/types.js';
import { withRun } from './scope.js';
import type { Scenario } from './types.js';

const rate = (n: number, ms: number): number => (n * 1000) / ms;

export const enqueueScenario: Scenario = {
  id: 'enqueue',
  title: '1. Enqueue throughput',
  systems: SYSTEMS,
  metrics: [
    { key: 'single', label: 'single calls, bounded concurrency', unit: 'jobs/s', better: 'higher' },
    { key: 'bulk', label: 'bulk (scheduleMany / addBulk)', unit: 'jobs/s', better: 'higher' },
  ],
  async run(system, ctx) {
    const s = ctx.sizes;
    return withRun(system, ctx, async (run) => {
      const producer = await run.producer();
      const single = await producer.task({
        kind: 'single',
        n: s.enqueueSingle,
        concurrency: s.enqueueSingleConcurrency,
      });
      const bulk = await producer.task({ kind: 'bulk', n: s.enqueueBulk, chunk: s.bulkChunk });
      return {
        single: rate(s.enqueueSingle, (single.endedAt ?? 0) - (single.startedAt ?? 0)),
        bulk: rate(s.enqueueBulk, (bulk.endedAt ?? 0) - (bulk.startedAt ?? 0)),
      };
    });
  },
};

export const e2eScenario: Scenario = {
  id: 'e2e',
  title: '2. End-to-end no-op jobs (producer and worker processes together, job tracking on)',
  systems: SYSTEMS,
  metrics: [
    { key: 'rate', label: 'first enqueue to last job done', unit: 'jobs/s', better: 'higher' },
  ],
  async run(system, ctx) {
    const n = ctx.sizes.e2eJobs;
    return withRun(system, ctx, async (run) => {
      const worker = await run.worker({
        concurrency: ctx.sizes.workerConcurrency,
        handler: 'noop',
        record: 'none',
      });
      const producer = await run.producer();
      const [fed] = await Promise.all([
        producer.task({ kind: 'bulk', n, chunk: ctx.sizes.bulkChunk }),
        worker.waitFor(`${n} jobs done`, (p) => p.done >= n, 60_000 + n * 5),
      ]);
      return { rate: rate(n, worker.progress.lastDoneAt - (fed.startedAt ?? 0)) };
    });
  },
};
