/**
 * Scenario 4: a high-priority job published behind a backlog of low-priority
 * jobs. The backlog is enqueued first, then the worker starts and works it;
 * once it is busy, probe jobs at the highest priority are published one by
 * one and the worker records how long each took to start. (BullMQ runs
 * unprioritised jobs before prioritised ones, so its backlog has priority 10
 * and the probes priority 1.) Raw JetStream has no priorities.
 */
import type { Child } from '../harness.js';
import { latencySummary, pairValues } from '../stats.js';
import { withRun } from './scope.js';
import type { Scenario } from './types.js';

export const priorityScenario: Scenario = {
  id: 'priority',
  title: '4. High-priority job behind a low-priority backlog',
  systems: ['rfw', 'bullmq'],
  metrics: [
    { key: 'p50', label: 'start latency p50', unit: 'ms', better: 'lower' },
    { key: 'p99', label: 'start latency p99', unit: 'ms', better: 'lower' },
    { key: 'max', label: 'start latency max', unit: 'ms', better: 'lower' },
    { key: 'backlogLeft', label: 'backlog left after the probes', unit: 'jobs', better: 'higher' },
  ],
  async run(system, ctx) {
    const s = ctx.sizes;
    return withRun(system, ctx, async (run) => {
      const producer = await run.producer();
      await producer.task({
        kind: 'bulk',
        n: s.priorityBacklog,
        chunk: s.bulkChunk,
        priority: 'low',
      });
      const worker = await run.worker({
        concurrency: s.priorityWorkerConcurrency,
        handler: 'noop',
        record: 'probe',
      });
      const busyAt = Math.min(1000, Math.floor(s.priorityBacklog / 10));
      await worker.waitFor('the worker busy with the backlog', (p) => p.done >= busyAt, 60_000);
      await producer.task({
        kind: 'probes',
        count: s.priorityProbes,
        intervalMs: s.priorityProbeIntervalMs,
        priority: 'high',
      });
      const { samples, data } = await waitForProbes(worker, s.priorityProbes);
      const l = latencySummary(pairValues(samples, () => true));
      return {
        p50: l.p50,
        p99: l.p99,
        max: l.max,
        backlogLeft: s.priorityBacklog + s.priorityProbes - (data.started ?? 0),
      };
    });
  },
};

/** Poll the worker's samples until every probe has started. */
async function waitForProbes(
  worker: Child,
  count: number,
): Promise<{ samples: number[]; data: Record<string, number> }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await worker.report();
    if (r.samples.length / 2 >= count) return r;
    if (Date.now() > deadline) {
      throw new Error(`only ${r.samples.length / 2} of ${count} probe jobs started within 60 s`);
    }
    await new Promise((res) => setTimeout(res, 50));
  }
}
