/**
 * Scenario 5: lateness of delayed jobs while many are pending. The producer
 * enqueues `delayedJobs` jobs due over `delayedSpreadMs`, starting
 * `delayedLeadMs` from now; the worker records, for each, its start minus its
 * due time (wall clock). rustfs-workers needs its scheduler service to release
 * due jobs; raw JetStream 2.9 has no delayed delivery.
 *
 * Scenario 5b (`delayed-scale`, rfw only): the same probes while `farPending`
 * far-future delayed jobs wait (due in a day), with the scheduler's resident
 * memory once they are all loaded and after the probes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JobQueue } from '@rfw/core';
import { spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
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

/** Resident and peak resident memory of a process, MB, from /proc. */
function residentMb(pid: number | undefined): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The scheduler's `rfw_scheduler_delayed_pending` gauge, from its metrics endpoint. */
async function delayedPending(http: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  return Number(/^rfw_scheduler_delayed_pending(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
}

const LATENESS = [
  { key: 'p50', label: 'lateness p50', unit: 'ms', better: 'lower' },
  { key: 'p99', label: 'lateness p99', unit: 'ms', better: 'lower' },
  { key: 'max', label: 'lateness max', unit: 'ms', better: 'lower' },
] as const;

export const delayedScenario: Scenario = delayedWith(
  'delayed',
  '5. Delayed jobs: lateness with many pending',
  0,
);

export function delayedScaleScenario(farPending: number): Scenario {
  return delayedWith(
    'delayed-scale',
    `5b. Delayed jobs: lateness and scheduler memory with ${farPending.toLocaleString('en-US')} pending`,
    farPending,
  );
}

function delayedWith(id: string, title: string, farPending: number): Scenario {
  return {
    id,
    title,
    systems: farPending > 0 ? ['rfw'] : ['rfw', 'bullmq'],
    metrics:
      farPending > 0
        ? [
            ...LATENESS,
            {
              key: 'loadS',
              label: 'enqueue and load of the pending jobs',
              unit: 's',
              better: 'lower',
            },
            { key: 'rssLoaded', label: 'scheduler RSS, all loaded', unit: 'MB', better: 'lower' },
            { key: 'rssPeak', label: 'scheduler peak RSS', unit: 'MB', better: 'lower' },
          ]
        : LATENESS,
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
        const extra: Record<string, number> = {};
        try {
          if (system === 'rfw') {
            // The bundled service, run with plain node like the workers (no TypeScript loader).
            scheduler = spawnService(ctx.schedulerBundle, {
              execArgv: ctx.childExecArgv,
              cwd: ctx.root,
              env: {
                NATS_URL: run.backend.natsUrl,
                RFW_PREFIX: run.backend.prefix,
                // The ready line is logged at info.
                LOG_LEVEL: 'info',
                HTTP_PORT: '0',
              },
            });
            const ready = await scheduler.waitForLine(/service ready/, 60_000);
            if (farPending > 0) {
              const http = (JSON.parse(ready) as { http: string }).http;
              const t0 = Date.now();
              const far = await run.producer();
              await far.task({
                kind: 'delayed',
                n: farPending,
                chunk: s.bulkChunk,
                leadMs: 86_400_000,
                spreadMs: 3_600_000,
              });
              await waitFor(
                `the scheduler to hold ${farPending} delayed jobs`,
                async () => (await delayedPending(http)) >= farPending,
                { timeoutMs: 600_000, intervalMs: 250 },
              );
              extra.loadS = (Date.now() - t0) / 1000;
              extra.rssLoaded = residentMb(scheduler.proc.pid).rss;
            }
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
          if (farPending > 0) extra.rssPeak = residentMb(scheduler?.proc.pid).peak;
          return { p50: l.p50, p99: l.p99, max: l.max, ...extra };
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
}
