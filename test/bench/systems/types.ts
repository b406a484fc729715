/**
 * What the bench needs from a job system, on each side: a producer that
 * enqueues one job or many, and a worker that runs a handler with bounded
 * concurrency. One adapter per system keeps the scenarios system-agnostic.
 */

export const SYSTEMS = ['rfw', 'bullmq', 'jetstream'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export const SYSTEM_LABEL: Record<SystemName, string> = {
  rfw: 'rustfs-workers',
  bullmq: 'BullMQ',
  jetstream: 'raw JetStream',
};

/** Where one scenario run's data lives: a fresh nats-server, or a unique Redis key prefix. */
export interface Backend {
  natsUrl?: string;
  redisUrl?: string;
  /** rfw names prefix, BullMQ key prefix, or raw JetStream stream name. */
  prefix: string;
}

/** The payload every bench job carries. */
export interface BenchPayload {
  /** Enqueue time on the monotonic clock shared by every process (`monoNow()`), ms. */
  t: number;
  /** Set on the jobs whose start the worker must record (probes). */
  p?: 1;
  /** Wall-clock time the job is due (delayed jobs), ms since the epoch. */
  r?: number;
  /** A flow's parent: how many children it must read. */
  n?: number;
}

export type BenchPriority = 'high' | 'normal' | 'low';

export interface JobSpec {
  payload: BenchPayload;
  priority?: BenchPriority;
  /** Wall-clock time the job is due, ms since the epoch. */
  runAt?: number;
}

export interface Producer {
  add(job: JobSpec): Promise<void>;
  /** The system's bulk path (one call for many jobs). */
  addBulk(jobs: JobSpec[]): Promise<void>;
  /**
   * Enqueue one parent with `n` children (`JOB_TYPE`, no-op) and wait until
   * the parent completed; its handler checks that it read `n` children
   * results. Monotonic times of the start and end of the enqueue and of the
   * parent's completion. Absent where the system has no flows.
   */
  flow?(n: number, timeoutMs: number): Promise<FlowTimes>;
  close(): Promise<void>;
}

export interface FlowTimes {
  startedAt: number;
  enqueuedAt: number;
  endedAt: number;
}

export type Handler = (payload: BenchPayload) => Promise<void> | void;

export interface WorkerHandle {
  close(): Promise<void>;
}

export interface WorkerSettings {
  concurrency: number;
  /** Also run flow parents (`FLOW_TYPE`); children then return a small value. */
  flows?: boolean;
}

/** The job type (rfw), queue name (BullMQ) or subject token (raw JetStream) of the bench. */
export const JOB_TYPE = 'bench';

/** The job type (rfw) or job name (BullMQ, in the `JOB_TYPE` queue) of a flow's parent. */
export const FLOW_TYPE = 'bench-flow';

/** What a flow's child returns. */
export const CHILD_RESULT = { v: 1 } as const;

/** A flow parent's check of its children's results: throws unless all `n` are there. */
export function checkChildren(results: unknown[], n: number | undefined): { children: number } {
  const ok = results.filter((r) => (r as { v?: unknown } | null)?.v === CHILD_RESULT.v).length;
  if (ok !== n || results.length !== n)
    throw new Error(`flow parent read ${ok} of ${results.length} children results, expected ${n}`);
  return { children: ok };
}

/** Milliseconds on CLOCK_MONOTONIC: comparable between processes on one machine. */
export function monoNow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
