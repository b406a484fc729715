/**
 * Scenario 5: lateness of delayed jobs while many are pending. The producer
 * enqueues `delayedJobs` jobs due over `delayedSpreadMs`, starting
 * `delayedLeadMs` from now; the worker records, for each, its start minus its
 * due time (wall clock). rustfs-workers needs its scheduler service to release
 * due jobs; raw JetStream 2.9 has no delayed delivery.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { JobQueue } from '@rfw/core';
import { spawnService, type ServiceProcess } from '@rfw/testkit';
import { processCpuMs } from '../harness.js';
import { latencySummary, pairValues } from '../stats.js';
import { withRun } from './scope.js';
import type { Backend } from '../systems/types.js';
import type { RunContext, Scenario } from './types.js';

const SCHEDULER_ENTRY = join('services', 'scheduler', 'src', 'main.ts');

const schedulerPath = (ctx: RunContext): string => join(ctx.root, SCHEDULER_ENTRY);

/** For a failed run: where the jobs that never ran are (rfw only). */
async function whereAreTheJobs(system: string, backend: Backend): Promise<string> {
  if (system !== 'rfw') return '';
  try {
    const q = await JobQueue.connect({ servers: backend.natsUrl, prefix: backend.prefix });
    try {
      const t = (await q.statistics()).total;
      return `rfw statistics: delayed ${t.delayed}, pending ${t.pending}, running ${t.running}, succeeded ${t.succeeded}, dead ${t.dead}`;
    } finally {
      await q.close();
    }
  } catch (err) {
    return `statistics failed: ${(err as Error).message}`;
  }
}

export const delayedScenario: Scenario = {
  id: 'delayed',
  title: '5. Delayed jobs: lateness with many pending',
  systems: ['rfw', 'bullmq'],
  metrics: [
    { key: 'p50', label: 'lateness p50', unit: 'ms', better: 'lower' },
    { key: 'p99', label: 'lateness p99', unit: 'ms', better: 'lower' },
    { key: 'max', label: 'lateness max', unit: 'ms', better: 'lower' },
  ],
  unavailable(system, ctx) {
    if (system === 'rfw' && !existsSync(schedulerPath(ctx))) {
      return `the scheduler service (${SCHEDULER_ENTRY}) does not exist yet`;
    }
    return undefined;
  },
  async run(system, ctx) {
    const s = ctx.sizes;
    return withRun(system, ctx, async (run) => {
      let scheduler: ServiceProcess | undefined;
      try {
        if (system === 'rfw') {
          scheduler = spawnService(schedulerPath(ctx), {
            cwd: ctx.root,
            env: {
              NATS_URL: run.backend.natsUrl,
              RFW_PREFIX: run.backend.prefix,
              // The ready line is logged at info.
              LOG_LEVEL: 'info',
              HTTP_PORT: '0',
            },
          });
          await scheduler.waitForLine(/service ready/, 60_000);
        }
        const worker = await run.worker({
          concurrency: s.workerConcurrency,
          handler: 'noop',
          record: 'late',
        });
        const producer = await run.producer();
        await producer.task({
          kind: 'delayed',
          n: s.delayedJobs,
          chunk: s.bulkChunk,
          leadMs: s.delayedLeadMs,
          spreadMs: s.delayedSpreadMs,
        });
        try {
          await worker.waitFor(
            `${s.delayedJobs} delayed jobs done`,
            (p) => p.done >= s.delayedJobs,
            s.delayedLeadMs + s.delayedSpreadMs + 60_000,
          );
        } catch (err) {
          const said = scheduler?.lines.filter((l) => /"level":(40|50|60)/.test(l)).slice(-5);
          const warnings = said?.length ? `; scheduler warnings:\n${said.join('\n')}` : '';
          throw new Error(
            `${(err as Error).message}; ${await whereAreTheJobs(system, run.backend)}${warnings}`,
          );
        }
        const { samples } = await worker.report();
        const l = latencySummary(pairValues(samples, () => true));
        return { p50: l.p50, p99: l.p99, max: l.max };
      } finally {
        if (scheduler) {
          const cpu = processCpuMs(scheduler.proc.pid);
          if (Number.isFinite(cpu)) ctx.cpu.scheduler = (ctx.cpu.scheduler ?? 0) + cpu;
        }
        await scheduler?.kill('SIGKILL');
      }
    });
  },
};
