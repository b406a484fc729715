/**
 * Scenario 9: a flow, one parent waiting for N no-op children (fan-out,
 * fan-in). rfw: `JobQueue.flow()`, the parent reads `ctx.children()`;
 * BullMQ: `FlowProducer.add()`, the parent reads `job.getChildrenValues()`.
 * Both parents check that they read N children results. Raw JetStream has
 * no flows.
 */
import { SYSTEMS } from '../systems/types.js';
import { withRun } from './scope.js';
import type { Scenario } from './types.js';

export const flowScenario: Scenario = {
  id: 'flow',
  title: '9. Flow: one parent waiting for N no-op children (fan-out/fan-in)',
  systems: SYSTEMS,
  metrics: [
    { key: 'enqueue', label: 'enqueue the flow', unit: 'ms', better: 'lower' },
    { key: 'total', label: 'start of enqueue to parent completed', unit: 'ms', better: 'lower' },
    { key: 'rate', label: 'children end to end', unit: 'children/s', better: 'higher' },
  ],
  unavailable: (system) => (system === 'jetstream' ? 'n/a: raw JetStream has no flows' : undefined),
  async run(system, ctx) {
    const n = ctx.sizes.flowChildren;
    return withRun(system, ctx, async (run) => {
      const worker = await run.worker({
        concurrency: ctx.sizes.workerConcurrency,
        handler: 'noop',
        record: 'none',
        flows: true,
      });
      const producer = await run.producer();
      const t = await producer.task({ kind: 'flow', n, timeoutMs: 60_000 + n * 20 });
      const { data } = await worker.report();
      if ((data.done ?? 0) < n) throw new Error(`worker ran ${data.done} children, expected ${n}`);
      const startedAt = t.startedAt ?? 0;
      const endedAt = t.endedAt ?? 0;
      return {
        enqueue: (t.enqueuedAt ?? 0) - startedAt,
        total: endedAt - startedAt,
        rate: (n * 1000) / (endedAt - startedAt),
      };
    });
  },
};
