/**
 * Run workers as a service process: configuration from validated environment
 * variables, `/healthz` `/readyz` `/metrics`, and SIGTERM/SIGINT draining.
 */
import { z } from 'zod';
import {
  ConfigError,
  createLogger,
  startHttpEndpoints,
  type HttpEndpoints,
} from '@rfw/core/internal';
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

/**
 * Validate the environment against `schema`. @throws ConfigError naming the
 * first bad variable
 */
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

const START_ATTEMPTS = 12;

function isTransientStartError(err: unknown): boolean {
  const e = err as { name?: string; code?: number; status?: number; message?: string } | undefined;
  if (!e) return false;
  if (e.name === 'ConfigError' || e.name === 'ProvisioningDriftError') return false;
  return (
    e.name === 'TimeoutError' ||
    e.name === 'ConnectionLostError' ||
    e.name === 'NoRespondersError' ||
    e.name === 'RequestError' ||
    e.status === 503 ||
    /timeout|no responders|jetstream (not enabled|system temporarily unavailable)|connection/i.test(
      e.message ?? '',
    )
  );
}

/** Options of `runWorkerService()`. */
export interface WorkerServiceOptions {
  /** Service name for logs. */
  service: string;
  /**
   * The workers to register, or a function that builds them from the created
   * manager (called again on each start retry).
   */
  workers: Worker[] | ((manager: WorkerManager) => Promise<Worker[]> | Worker[]);
  /** Overrides on top of the environment. */
  manager?: Partial<WorkerManagerOptions>;
  /** The environment to read (see `WorkerEnv`). @default process.env */
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
  const options: WorkerManagerOptions = {
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
  };
  // A broker that is restarting or electing a JetStream leader answers starts
  // with timeouts: retry with backoff instead of exiting (bad config still fails at once).
  let manager: WorkerManager | undefined;
  let workers: Worker[] = [];
  for (let attempt = 1; ; attempt++) {
    const m = await WorkerManager.create(options).catch((err: unknown) => err as Error);
    try {
      if (m instanceof Error) throw m;
      workers = typeof o.workers === 'function' ? await o.workers(m) : o.workers;
      m.register(...workers);
      await m.start();
      manager = m;
      break;
    } catch (err) {
      if (!(m instanceof Error)) await m.shutdown().catch(() => undefined);
      if (!isTransientStartError(err) || attempt >= START_ATTEMPTS) throw err;
      const delay = Math.min(10_000, 250 * 2 ** attempt);
      log.warn(
        { err, attempt, retryInMs: delay },
        'start failed on a transient broker error; retrying',
      );
      await new Promise((r) => setTimeout(r, delay));
    }
  }
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
