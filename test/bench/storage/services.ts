/**
 * Runs one storage worker service as a real child process against a real
 * nats-server, schedules one job, waits for it to end, and reads the
 * process's peak RSS (`VmHWM` of /proc/<pid>/status) before stopping it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job, JobQueue } from '@rfw/core';
import { spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');

/** The worker services the bench runs. */
export const StorageService = {
  Healing: 'worker-healing',
  Replication: 'worker-replication',
  Indexing: 'worker-indexing',
  Cleanup: 'worker-cleanup',
} as const;
export type StorageService = (typeof StorageService)[keyof typeof StorageService];

/** Peak resident set of a live process, bytes (Linux `VmHWM`). */
export function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

/** A started service. */
export interface RunningService {
  proc: ServiceProcess;
  /** Peak RSS so far, bytes. */
  peakRss(): number;
  stop(): Promise<void>;
}

export async function startService(
  service: StorageService,
  env: Record<string, string>,
  cpuProfDir?: string,
): Promise<RunningService> {
  const entry = path.join(repoRoot, 'services', service, 'src', 'main.ts');
  const proc = spawnService(entry, {
    cwd: repoRoot,
    env: {
      LOG_LEVEL: 'info',
      HTTP_PORT: '0',
      WORKER_ID: `bench-${service}`,
      ...env,
      ...(cpuProfDir
        ? {
            NODE_OPTIONS: `--import ${path.join(here, 'cpu-profile.mjs')}`,
            RFW_CPU_PROFILE_DIR: cpuProfDir,
          }
        : { NODE_OPTIONS: '' }),
    },
  });
  await proc.waitForLine(/service ready/, 60_000);
  const pid = proc.proc.pid as number;
  return {
    proc,
    peakRss: () => peakRss(pid),
    stop: async () => {
      // SIGTERM drains, and lets the CPU profile be written.
      await proc.kill('SIGTERM');
    },
  };
}

/** Resolves with the job once it has ended (succeeded, dead or cancelled). */
export function jobEnded(queue: JobQueue, id: string, timeoutMs: number): Promise<Job> {
  return waitFor(
    `job ${id} to end`,
    async () => {
      const j = await queue.get(id);
      return j && ['succeeded', 'dead', 'cancelled'].includes(j.state) ? j : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}
