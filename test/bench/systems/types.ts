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
  close(): Promise<void>;
}

export type Handler = (payload: BenchPayload) => Promise<void> | void;

export interface WorkerHandle {
  close(): Promise<void>;
}

export interface WorkerSettings {
  concurrency: number;
}

/** The job type (rfw), queue name (BullMQ) or subject token (raw JetStream) of the bench. */
export const JOB_TYPE = 'bench';

/** Milliseconds on CLOCK_MONOTONIC: comparable between processes on one machine. */
export function monoNow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
