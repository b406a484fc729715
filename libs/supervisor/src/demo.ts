/**
 * The demo that `npm start` sets up so a first run has something to look at:
 * a 3-node local store (`<data>/store/node-1..3`) with sample objects and a
 * few injected faults (bitrot, missing and stale replicas, leftover temp
 * files), a topology file for the storage services, demo jobs scheduled once
 * the workers are up, and periodic sweeps for the scheduler. The store is
 * made once and kept across runs.
 */
import { existsSync, renameSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JobQueue, type ScheduleOptions } from '@rfw/core';
import {
  CleanupPayload,
  HealingPayload,
  IndexingPayload,
  MetricsPayload,
  ReplicationResyncPayload,
  StorageJobType,
} from '@rfw/storage-jobs';
import type { TagLogger } from './log-sink.js';

export interface DemoStore {
  dir: string;
  topologyFile: string;
  buckets: string[];
  nodes: string[];
  /** Faults injected on the first run (kinds and counts), from the manifest. */
  faults: Record<string, number>;
}

/** Buckets of the demo store. */
export const DEMO_BUCKETS = ['photos', 'logs'];
const NODES = 3;

function topologyOf(nodes: string[], buckets: string[]): unknown {
  return {
    // Relative roots are resolved against this file's directory, so the data dir can move.
    nodes: nodes.map((id) => ({ id, driver: 'file', options: { root: `store/${id}` } })),
    buckets: buckets.map((name) => ({ name, nodes })),
    defaultReplicationFactor: 2,
  };
}

function countFaults(manifestFile: string): Record<string, number> {
  try {
    const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
      faults?: Array<{ kind: string }>;
    };
    const out: Record<string, number> = {};
    for (const f of m.faults ?? []) out[f.kind] = (out[f.kind] ?? 0) + 1;
    return out;
  } catch {
    return {};
  }
}

/**
 * Create the demo store on the first run (into a temporary directory renamed
 * into place, so an interrupted run leaves nothing half made), and (re)write
 * its topology file.
 */
export async function prepareDemoStore(dataDir: string, log: TagLogger): Promise<DemoStore> {
  const dir = join(dataDir, 'store');
  const nodes = Array.from({ length: NODES }, (_, i) => `node-${i + 1}`);
  const topologyFile = join(dataDir, 'topology.json');
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(dir)) {
    const tmp = join(dataDir, `store.tmp-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    const { makeFaultyStore } = await import('@rfw/storage/testing');
    const started = Date.now();
    const manifest = await makeFaultyStore({
      dir: tmp,
      nodes: NODES,
      objects: 60,
      largeObjects: 1,
      buckets: DEMO_BUCKETS,
      seed: 7,
      faults: {
        bitrot: 2,
        'missing-replica': 2,
        'stale-version': 1,
        truncated: 1,
        'temp-file': 2,
        'partial-upload': 1,
      },
    });
    renameSync(tmp, dir);
    log.info('demo store created', {
      dir,
      objects: manifest.objects.length,
      faults: manifest.faults.length,
      ms: Date.now() - started,
    });
  }
  writeFileSync(topologyFile, `${JSON.stringify(topologyOf(nodes, DEMO_BUCKETS), null, 2)}\n`);
  return { dir, topologyFile, buckets: DEMO_BUCKETS, nodes, faults: countFaults(manifestFile) };
}

/** One demo job: scheduled when the service that runs `type` is running. */
export interface DemoJob {
  service: string;
  type: string;
  payload: unknown;
  options?: ScheduleOptions;
}

/**
 * The demo jobs: one per built-in worker type, each doing real work on the
 * demo store. Payloads go through the workers' own schemas (@rfw/storage-jobs),
 * so a change of contract fails here, not in a worker's DLQ.
 */
export function demoJobs(): DemoJob[] {
  return [
    {
      service: 'worker-healing',
      type: StorageJobType.Healing,
      // Deep: re-hash data, so the injected bitrot and truncation are found too.
      payload: HealingPayload.parse({ scope: 'bucket', bucket: 'photos', deep: true }),
      options: { priority: 'high', id: 'demo-heal-photos' },
    },
    {
      service: 'worker-replication',
      type: StorageJobType.ReplicationResync,
      payload: ReplicationResyncPayload.parse({ bucket: 'logs' }),
      options: { id: 'demo-resync-logs' },
    },
    {
      service: 'worker-indexing',
      type: StorageJobType.Indexing,
      payload: IndexingPayload.parse({ kind: 'scan', bucket: 'photos' }),
      options: { priority: 'low', id: 'demo-index-photos' },
    },
    {
      service: 'worker-cleanup',
      type: StorageJobType.Cleanup,
      // Only the leftover temp files and abandoned uploads the demo injected.
      payload: CleanupPayload.parse({ kind: 'temp-files' }),
      options: { priority: 'low', id: 'demo-cleanup-temp-files' },
    },
    {
      service: 'worker-metrics',
      type: StorageJobType.Metrics,
      payload: MetricsPayload.parse({}),
      options: { priority: 'low', id: 'demo-metrics' },
    },
  ];
}

/**
 * The periodic sweeps of the demo, as the scheduler's `SCHEDULES` (JSON):
 * storage metrics every minute, a healing sweep of each bucket every 10
 * minutes, an index rescan every 15, temp-file cleanup hourly.
 */
export function demoSchedules(demo: DemoStore | undefined): string | undefined {
  if (!demo) return undefined;
  const low = { priority: 'low' };
  const schedules = [
    {
      name: 'demo-metrics',
      everyMs: 60_000,
      type: StorageJobType.Metrics,
      payload: MetricsPayload.parse({}),
      ...low,
    },
    ...demo.buckets.map((bucket) => ({
      name: `demo-heal-${bucket}`,
      everyMs: 600_000,
      type: StorageJobType.Healing,
      payload: HealingPayload.parse({ scope: 'bucket', bucket }),
      ...low,
    })),
    ...demo.buckets.map((bucket) => ({
      name: `demo-index-${bucket}`,
      everyMs: 900_000,
      type: StorageJobType.Indexing,
      payload: IndexingPayload.parse({ kind: 'scan', bucket }),
      ...low,
    })),
    {
      name: 'demo-cleanup-temp',
      cron: '0 * * * *',
      type: StorageJobType.Cleanup,
      payload: CleanupPayload.parse({ kind: 'temp-files' }),
      ...low,
    },
  ];
  return JSON.stringify(schedules);
}

export interface ScheduleDemoInput {
  natsUrl: string;
  prefix: string;
  demo?: DemoStore;
  /** Services that run; jobs of the others are not scheduled. */
  running: string[];
  log: TagLogger;
}

/** Schedule the demo jobs whose worker runs. A job that is refused is logged, never fatal. */
export async function scheduleDemoJobs(input: ScheduleDemoInput): Promise<string[]> {
  const jobs = demoJobs().filter((j) => input.running.includes(j.service));
  if (jobs.length === 0) return [];
  const queue = await JobQueue.connect({
    servers: input.natsUrl,
    prefix: input.prefix,
    name: 'rfw-supervisor',
  });
  const ids: string[] = [];
  try {
    for (const j of jobs) {
      try {
        const id = await queue.schedule(j.type, j.payload, j.options);
        ids.push(id);
        input.log.info('demo job scheduled', { type: j.type, jobId: id });
      } catch (err) {
        input.log.warn('demo job refused', {
          type: j.type,
          err: { message: (err as Error).message },
        });
      }
    }
  } finally {
    await queue.close();
  }
  return ids;
}
