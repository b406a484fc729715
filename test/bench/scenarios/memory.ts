/**
 * Scenario 7: resident memory of one worker process, idle and with many jobs
 * in flight (handlers that wait until released). RSS is read from /proc, as
 * the OS sees it.
 */
import { SYSTEMS } from '../systems/types.js';
import { withRun } from './scope.js';
import type { Scenario } from './types.js';

const MB = 1024 * 1024;

export function memoryScenario(inFlight: number): Scenario {
  return {
    id: 'memory',
    title: '7. Worker process memory (RSS)',
    systems: SYSTEMS,
    metrics: [
      { key: 'idle', label: 'idle', unit: 'MB', better: 'lower' },
      {
        key: 'loaded',
        label: `${inFlight.toLocaleString('en-US')} jobs in flight`,
        unit: 'MB',
        better: 'lower',
      },
    ],
    async run(system, ctx) {
      const s = ctx.sizes;
      return withRun(system, ctx, async (run) => {
        const worker = await run.worker({ concurrency: inFlight, handler: 'hold', record: 'none' });
        await new Promise((r) => setTimeout(r, s.memoryIdleSettleMs));
        const idle = worker.rss() / MB;
        const producer = await run.producer();
        await producer.task({ kind: 'bulk', n: inFlight, chunk: s.bulkChunk });
        await worker.waitFor(
          `${inFlight} jobs in flight`,
          (p) => p.inFlight >= inFlight,
          60_000 + inFlight * 5,
        );
        // Let the work that follows a start (timers, record writes) settle.
        await new Promise((r) => setTimeout(r, Math.max(500, s.memoryIdleSettleMs)));
        const loaded = worker.rss() / MB;
        return { idle, loaded };
      });
    },
  };
}
