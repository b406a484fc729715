/**
 * Run workers as a service process: configuration from validated environment
 * variables, `/healthz` `/readyz` `/metrics`, and SIGTERM/SIGINT draining.
 */
import { z } from 'zod';
import { ConfigError, createLogger, startHttpEndpoints, type HttpEndpoints } from '@rfw/core';
import type { Worker } from './worker.js';
import { WorkerManager } from './worker-manager.js';
import type { WorkerManagerOptions } from './worker-options.js';

const num = z.coerce.number().int();
/** Environment variables every worker service reads. */
export const WorkerEnv = z.object({
  NATS_URL: z.string().optional(),
  RFW_PREFIX: z.string().default('rfw'),
  RFW_REPLICAS: num.min(1).max(5).default(1),
  WORKER_ID: z.string().optional(),
  MAX_CONCURRENT_JOBS: num.min(1).optional(),
  JOB_TIMEOUT_MS: num.min(1).optional(),
  RETRY_LIMIT: num.min(0).optional(),
  CLEANUP_INTERVAL_MS: num.min(1).optional(),
  ACK_WAIT_MS: num.min(1000).optional(),
  SHUTDOWN_GRACE_MS: num.min(0).optional(),
  HTTP_PORT: num.min(0).max(65535).default(0),
  HTTP_HOST: z.string().default('127.0.0.1'),
});

export function parseEnv<T extends z.ZodType>(
  schema: T,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<T> {
  const r = schema.safeParse(env);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ConfigError(String(issue?.path.join('.') ?? 'env'), issue?.message ?? 'invalid');
  }
  return r.data;
}

export interface WorkerServiceOptions {
  /** Service name for logs. */
  service: string;
  workers: Worker[] | ((manager: WorkerManager) => Promise<Worker[]> | Worker[]);
  /** Overrides on top of the environment. */
  manager?: Partial<WorkerManagerOptions>;
  env?: NodeJS.ProcessEnv;
  /** Called after start, before the ready line; return a cleanup for shutdown. */
  onStarted?: (
    manager: WorkerManager,
  ) => Promise<(() => Promise<void>) | void> | (() => Promise<void>) | void;
}

/** Start a worker service and resolve once it is running; it stops on SIGTERM/SIGINT. */
export async function runWorkerService(
  o: WorkerServiceOptions,
): Promise<{ manager: WorkerManager; http: HttpEndpoints; stop: () => Promise<void> }> {
  const env = parseEnv(WorkerEnv, o.env);
  const log = createLogger(o.service);
  const manager = await WorkerManager.create({
    servers: env.NATS_URL?.split(','),
    prefix: env.RFW_PREFIX,
    provision: { replicas: env.RFW_REPLICAS },
    workerId: env.WORKER_ID,
    maxConcurrentJobs: env.MAX_CONCURRENT_JOBS,
    jobTimeout: env.JOB_TIMEOUT_MS,
    retryLimit: env.RETRY_LIMIT,
    cleanupInterval: env.CLEANUP_INTERVAL_MS,
    ackWaitMs: env.ACK_WAIT_MS,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    logger: log,
    ...o.manager,
  });
  const workers = typeof o.workers === 'function' ? await o.workers(manager) : o.workers;
  manager.register(...workers);
  await manager.start();
  const extraCleanup = await o.onStarted?.(manager);
  const http = await startHttpEndpoints({
    port: env.HTTP_PORT,
    host: env.HTTP_HOST,
    registry: manager.metrics.registry,
    ready: () => manager.ready(),
    info: () => manager.snapshot(),
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      log.info('shutting down');
      try {
        if (extraCleanup) await extraCleanup();
      } catch (err) {
        log.warn({ err }, 'service cleanup failed');
      }
      await manager.shutdown();
      await http.close();
      log.info('stopped');
    })());
  const onSignal = (sig: NodeJS.Signals): void => {
    log.info({ signal: sig }, 'signal received');
    void stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  log.info(
    { http: http.url, workerId: manager.workerId, types: workers.map((w) => w.workerType) },
    'service ready',
  );
  return { manager, http, stop };
}
