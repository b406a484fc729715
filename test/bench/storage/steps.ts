/**
 * One measured step of the storage bench: start the worker service, schedule
 * the job, time it from scheduling to its end, read the service's peak RSS,
 * stop the service. The service's start-up is not in the time.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { JobEvent, JobQueue } from '@rfw/core';
import { decodeJson } from '@rfw/core/internal';
import type { FaultManifest } from '@rfw/storage/testing';
import { waitFor } from '@rfw/testkit';
import { jobEnded, startService, StorageService } from './services.js';

/** What every step needs. */
export interface StepContext {
  queue: JobQueue;
  /** Environment common to the services (NATS_URL, RFW_PREFIX, TOPOLOGY_FILE). */
  env: Record<string, string>;
  work: string;
  manifest: FaultManifest;
  cpuProfDir?: string;
  pgUrl?: string;
}

/** The steps of the bench. */
export type StepName =
  'heal-deep' | 'heal-shallow' | 'resync' | 'index-sqlite' | 'index-postgres' | 'cleanup';

/** A measured step. */
export interface StepRun {
  step: StepName;
  service: StorageService;
  ms: number;
  objects: number;
  peakRssBytes: number;
  result: Record<string, number>;
}

interface StepPlan {
  service: StorageService;
  env?: Record<string, string>;
  type: string;
  payload: unknown;
  /** Runs before the service starts. */
  prepare?: () => Promise<void>;
  /** Runs after the job ended, before the service stops: waits for work it fanned out. */
  settle?: (result: Record<string, number>) => Promise<void>;
  cleanup?: () => Promise<void>;
}

function plan(ctx: StepContext, step: StepName): StepPlan {
  const pgSchema = `rfw_sbench_${process.pid}`;
  switch (step) {
    case 'heal-deep':
    case 'heal-shallow':
      return {
        service: StorageService.Healing,
        type: 'healing',
        payload: { scope: 'bucket', bucket: 'data', deep: step === 'heal-deep' },
      };
    case 'index-sqlite':
      return {
        service: StorageService.Indexing,
        env: { INDEX_STORE: 'sqlite', INDEX_SQLITE_PATH: path.join(ctx.work, 'index.sqlite') },
        type: 'indexing',
        payload: { kind: 'scan', bucket: 'data' },
      };
    case 'index-postgres':
      return {
        service: StorageService.Indexing,
        env: { INDEX_STORE: 'postgres', DATABASE_URL: ctx.pgUrl ?? '', INDEX_PG_SCHEMA: pgSchema },
        type: 'indexing',
        payload: { kind: 'scan', bucket: 'data' },
        cleanup: async () => {
          spawnSync('psql', [ctx.pgUrl ?? '', '-qc', `drop schema if exists ${pgSchema} cascade`]);
        },
      };
    case 'cleanup':
      return {
        service: StorageService.Cleanup,
        type: 'cleanup',
        payload: { kind: 'temp-files' },
      };
    case 'resync': {
      const empty = ctx.manifest.nodes[ctx.manifest.nodes.length - 1]?.root as string;
      let ended: EndCounter | undefined;
      return {
        service: StorageService.Replication,
        type: 'replication-resync',
        payload: { bucket: 'data' },
        prepare: async () => {
          await fs.rm(path.join(empty, 'data'), { recursive: true, force: true });
          ended = countEnded(ctx.queue, 'replication');
        },
        settle: async (result) => {
          await waitFor(
            'replication jobs to end',
            () => (ended?.count ?? 0) >= (result.scheduled ?? 0),
            { timeoutMs: 3_600_000, intervalMs: 50 },
          );
        },
        cleanup: async () => ended?.stop(),
      };
    }
  }
}

interface EndCounter {
  readonly count: number;
  stop(): void;
}

/** Counts the jobs of `type` that end (succeeded, dead or cancelled) from now on. */
function countEnded(queue: JobQueue, type: string): EndCounter {
  let count = 0;
  const sub = queue.ctx.nc.subscribe(queue.ctx.names.eventSubject(type, '*', '*'), {
    callback: (_err, msg) => {
      const e = decodeJson<JobEvent>(msg.data);
      if (e.state === 'succeeded' || e.state === 'dead' || e.state === 'cancelled') count++;
    },
  });
  return {
    get count() {
      return count;
    },
    stop: () => sub.unsubscribe(),
  };
}

/** Runs one step; throws when its job does not succeed. */
export async function runStep(ctx: StepContext, step: StepName): Promise<StepRun> {
  const p = plan(ctx, step);
  await p.prepare?.();
  const svc = await startService(p.service, { ...ctx.env, ...p.env }, ctx.cpuProfDir);
  try {
    const t0 = performance.now();
    const id = await ctx.queue.schedule(p.type, p.payload, {
      id: `${step}-${Date.now()}`,
      priority: 'high',
      timeout: 3_600_000,
    });
    const job = await jobEnded(ctx.queue, id, 3_600_000);
    if (job.state !== 'succeeded')
      throw new Error(`${step}: ${JSON.stringify(job).slice(0, 2000)}`);
    const result = job.result as Record<string, number>;
    await p.settle?.(result);
    const ms = performance.now() - t0;
    const objects = result.scanned ?? result.indexed ?? ctx.manifest.objects.length;
    console.error(`${step}: ${(ms / 1000).toFixed(2)} s ${JSON.stringify(result).slice(0, 300)}`);
    return { step, service: p.service, ms, objects, peakRssBytes: svc.peakRss(), result };
  } finally {
    await svc.stop();
    await p.cleanup?.();
  }
}
