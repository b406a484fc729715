/**
 * WorkerManager options: what a user passes (the seed's WorkerConfig plus
 * connection and tuning knobs, all optional), and the compiled form with
 * defaults applied and every value checked.
 */
import {
  ConfigError,
  type ConnectOptions,
  type Logger,
  type Priority,
  type ProvisionOptions,
} from '@rfw/core/internal';
import type { NatsConnection } from '@nats-io/nats-core';
import { hostname } from 'node:os';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';

/** Options of `WorkerManager.create()`; every field is optional. */
export interface WorkerManagerOptions extends ConnectOptions {
  /** Unique id of this instance. @default `<hostname>-<pid>` */
  workerId?: string;
  /** Jobs running at once in this instance, over all types. @default 10 */
  maxConcurrentJobs?: number;
  /** Default per-attempt timeout, ms. @default 300000 */
  jobTimeout?: number;
  /** Default retries after the first attempt. @default 3 */
  retryLimit?: number;
  /** Housekeeping period (idle breakers, stale buffers), ms. @default 60000 */
  cleanupInterval?: number;
  /** Use this connection; `shutdown()` then leaves it open. */
  connection?: NatsConnection;
  /** Names prefix of the installation. @default 'rfw' */
  prefix?: string;
  /** Stream and bucket settings, applied idempotently by `create()`; `replicas` also sets the nodes bucket's. */
  provision?: ProvisionOptions;
  /**
   * Broker redelivery deadline for an unacknowledged job, ms. Running jobs send
   * in-progress acks at a third of it, so it can stay short. @default 30000
   */
  ackWaitMs?: number;
  /** Messages buffered per priority per type beyond the running ones. @default min(maxConcurrentJobs, 32) */
  prefetch?: number;
  /**
   * Anti-starvation weights. Unset: strict priority (critical > high > normal >
   * low). Set (e.g. `{ critical: 8, high: 4, normal: 2, low: 1 }`): smooth
   * weighted round robin among the priorities that have jobs waiting.
   */
  priorityWeights?: Partial<Record<Priority, number>>;
  /** Default retry backoff. */
  backoff?: Partial<BackoffOptions>;
  /** After a timeout fires, how long a handler that ignores its signal keeps its slot, ms. @default 1000 */
  timeoutGraceMs?: number;
  /** On shutdown, how long running jobs may finish before being aborted and handed back, ms. @default 10000 */
  shutdownGraceMs?: number;
  /** Period of `healthCheck()` polls, ms. @default 5000 */
  healthCheckIntervalMs?: number;
  /** Period of this instance's heartbeat in the nodes bucket, ms. @default 5000 */
  heartbeatIntervalMs?: number;
  /** A job still running after this long gets a `running` record (shorter jobs skip that write), ms. @default 200 */
  runningRecordDelayMs?: number;
  /** Breaker tuning (opossum). */
  breaker?: Partial<BreakerOptions>;
  /** Logger the manager's log is a child of. @default a new `worker` logger */
  logger?: Logger;
}

/** Settings of the circuit breakers behind `ctx.guard()`. */
export interface BreakerOptions {
  /** Error percentage within the rolling window that opens the breaker. @default 50 */
  errorThresholdPercentage: number;
  /** Failures needed in the window before it can open. @default 5 */
  volumeThreshold: number;
  /** How long it stays open before a half-open probe, ms. @default 10000 */
  resetTimeoutMs: number;
  /** Rolling window, ms. @default 10000 */
  rollingCountTimeoutMs: number;
}

export interface CompiledWorkerOptions {
  workerId: string;
  maxConcurrentJobs: number;
  jobTimeoutMs: number;
  retryLimit: number;
  cleanupIntervalMs: number;
  ackWaitMs: number;
  prefetch: number;
  priorityWeights?: Partial<Record<Priority, number>>;
  backoff: BackoffOptions;
  timeoutGraceMs: number;
  shutdownGraceMs: number;
  healthCheckIntervalMs: number;
  heartbeatIntervalMs: number;
  runningRecordDelayMs: number;
  breaker: BreakerOptions;
}

function posInt(field: string, v: number | undefined, def: number, min = 1): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < min)
    throw new ConfigError(field, `${String(v)} must be an integer >= ${min}`);
  return v;
}

export function compileWorkerOptions(o: WorkerManagerOptions): CompiledWorkerOptions {
  const workerId = o.workerId ?? `${hostname()}-${process.pid}`;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(workerId)) {
    throw new ConfigError(
      'workerId',
      `${JSON.stringify(workerId)} must match [A-Za-z0-9_-]{1,128}`,
    );
  }
  const maxConcurrentJobs = posInt('maxConcurrentJobs', o.maxConcurrentJobs, 10);
  const backoff = { ...DEFAULT_BACKOFF, ...o.backoff };
  if (!(backoff.baseMs > 0 && backoff.factor >= 1 && backoff.capMs >= backoff.baseMs)) {
    throw new ConfigError('backoff', 'needs baseMs > 0, factor >= 1, capMs >= baseMs');
  }
  for (const [p, w] of Object.entries(o.priorityWeights ?? {})) {
    if (!(typeof w === 'number' && w > 0))
      throw new ConfigError(`priorityWeights.${p}`, 'must be a number > 0');
  }
  return {
    workerId,
    maxConcurrentJobs,
    jobTimeoutMs: posInt('jobTimeout', o.jobTimeout, 300_000),
    retryLimit: posInt('retryLimit', o.retryLimit, 3, 0),
    cleanupIntervalMs: posInt('cleanupInterval', o.cleanupInterval, 60_000),
    ackWaitMs: posInt('ackWaitMs', o.ackWaitMs, 30_000, 1000),
    prefetch: posInt('prefetch', o.prefetch, Math.min(maxConcurrentJobs, 32)),
    priorityWeights: o.priorityWeights,
    backoff,
    timeoutGraceMs: posInt('timeoutGraceMs', o.timeoutGraceMs, 1000, 0),
    shutdownGraceMs: posInt('shutdownGraceMs', o.shutdownGraceMs, 10_000, 0),
    healthCheckIntervalMs: posInt('healthCheckIntervalMs', o.healthCheckIntervalMs, 5000),
    heartbeatIntervalMs: posInt('heartbeatIntervalMs', o.heartbeatIntervalMs, 5000),
    runningRecordDelayMs: posInt('runningRecordDelayMs', o.runningRecordDelayMs, 200, 0),
    breaker: {
      errorThresholdPercentage: 50,
      volumeThreshold: 5,
      resetTimeoutMs: 10_000,
      rollingCountTimeoutMs: 10_000,
      ...o.breaker,
    },
  };
}
