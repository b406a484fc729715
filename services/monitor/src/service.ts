/**
 * The monitor as a service process: environment variables (validated with
 * zod) wired to a `JobMonitor`, a `LeaderElection` for the `monitor` role and
 * the admin API; SIGTERM/SIGINT stop it cleanly.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { LeaderElection } from '@rfw/cluster';
import { ConfigError, connectNats, createLogger, type Logger } from '@rfw/core/internal';
import { startAdminApi, type AdminApi } from './admin-api.js';
import { checkExposure } from './auth.js';
import { JobMonitor } from './job-monitor.js';
import { compileAlertOptions } from './monitor-options.js';

const num = z.coerce.number().int();
/** An optional number where an empty string means unset. */
const optNum = (min: number) =>
  z.preprocess((v) => (v === '' ? undefined : v), num.min(min).optional());
const optStr = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

/** Environment variables of the monitor service. */
export const MonitorEnv = z.object({
  NATS_URL: optStr,
  RFW_PREFIX: z.string().default('rfw'),
  RFW_REPLICAS: num.min(1).max(5).default(1),
  NODE_ID: optStr,
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_PORT: num.min(0).max(65535).default(8080),
  ADMIN_TOKEN: optStr,
  ALERT_WEBHOOK_URL: optStr,
  /** Sent as `Authorization: Bearer <token>` with each notification. */
  ALERT_WEBHOOK_TOKEN: optStr,
  ALERT_WEBHOOK_TIMEOUT_MS: num.min(1).default(5000),
  ALERT_FAILED_JOB_THRESHOLD: optNum(0),
  ALERT_FAILED_JOB_WINDOW_MS: num.min(1000).default(300_000),
  /** `0` turns the rule off. */
  ALERT_WORKER_DOWN_THRESHOLD_MS: num.min(0).default(60_000),
  ALERT_QUEUE_SIZE_THRESHOLD: optNum(0),
  /** ms the oldest waiting job of a queue may wait before `queue_latency` fires; unset: off. */
  ALERT_QUEUE_LATENCY_MS: optNum(1),
  ALERT_EVALUATION_INTERVAL_MS: num.min(50).default(5000),
  MONITOR_REFRESH_INTERVAL_MS: num.min(50).default(2000),
  RATE_WINDOW_MS: num.min(1000).default(60_000),
  /** Events read back at start; unset: max(rate window, failed-jobs window, 10 minutes). */
  MONITOR_HISTORY_MS: optNum(0),
  LEADER_ELECTION_TIMEOUT_MS: num.min(200).default(10_000),
});
export type MonitorEnv = z.infer<typeof MonitorEnv>;

export function parseMonitorEnv(env: NodeJS.ProcessEnv = process.env): MonitorEnv {
  const r = MonitorEnv.safeParse(env);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ConfigError(String(issue?.path.join('.') || 'env'), issue?.message ?? 'invalid');
  }
  return r.data;
}

export interface MonitorService {
  monitor: JobMonitor;
  election: LeaderElection;
  api: AdminApi;
  stop(): Promise<void>;
}

/**
 * Start the monitor service and resolve once it serves HTTP. With
 * `handleSignals` (the default) SIGTERM and SIGINT stop it and exit.
 */
export async function runMonitorService(
  opts: { env?: NodeJS.ProcessEnv; log?: Logger; handleSignals?: boolean } = {},
): Promise<MonitorService> {
  const env = parseMonitorEnv(opts.env);
  // Fail before connecting anywhere when the API would be exposed unsafely.
  checkExposure(env.HTTP_HOST, env.ADMIN_TOKEN);
  compileAlertOptions({
    failedJobThreshold: env.ALERT_FAILED_JOB_THRESHOLD,
    queueLatencyThresholdMs: env.ALERT_QUEUE_LATENCY_MS,
    notificationEndpoint: env.ALERT_WEBHOOK_URL,
  });
  const log = opts.log ?? createLogger('monitor');
  const nodeId =
    env.NODE_ID ?? `monitor-${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '_');
  const nc = await connectNats({
    servers: env.NATS_URL?.split(','),
    name: `rfw-monitor-${nodeId}`,
  });
  let monitor: JobMonitor | undefined;
  let election: LeaderElection | undefined;
  let api: AdminApi | undefined;
  const cleanup = async (): Promise<void> => {
    const steps: Array<() => Promise<unknown> | undefined> = [
      () => api?.close(),
      () => monitor?.stop(),
      () => election?.stop(),
      () => (nc.isClosed() ? undefined : nc.drain()),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        log.warn({ err }, 'shutdown step failed');
      }
    }
  };
  try {
    election = await LeaderElection.create({
      connection: nc,
      prefix: env.RFW_PREFIX,
      role: 'monitor',
      nodeId,
      leaseMs: env.LEADER_ELECTION_TIMEOUT_MS,
      replicas: env.RFW_REPLICAS,
      logger: log,
    });
    monitor = await JobMonitor.create({
      connection: nc,
      prefix: env.RFW_PREFIX,
      provision: { replicas: env.RFW_REPLICAS },
      nodeId,
      logger: log,
      elector: election,
      refreshIntervalMs: env.MONITOR_REFRESH_INTERVAL_MS,
      evaluationIntervalMs: env.ALERT_EVALUATION_INTERVAL_MS,
      rateWindowMs: env.RATE_WINDOW_MS,
      historyMs: env.MONITOR_HISTORY_MS,
      delivery: {
        timeoutMs: env.ALERT_WEBHOOK_TIMEOUT_MS,
        headers: env.ALERT_WEBHOOK_TOKEN
          ? { authorization: `Bearer ${env.ALERT_WEBHOOK_TOKEN}` }
          : undefined,
      },
      alerts: {
        failedJobThreshold: env.ALERT_FAILED_JOB_THRESHOLD,
        failedJobWindowMs: env.ALERT_FAILED_JOB_WINDOW_MS,
        workerDownThreshold: env.ALERT_WORKER_DOWN_THRESHOLD_MS || undefined,
        queueSizeThreshold: env.ALERT_QUEUE_SIZE_THRESHOLD,
        queueLatencyThresholdMs: env.ALERT_QUEUE_LATENCY_MS,
        notificationEndpoint: env.ALERT_WEBHOOK_URL,
      },
    });
    const m = monitor;
    election.onChange((e) =>
      log.info({ leader: e.leader, isLeader: e.isLeader, token: e.token }, 'monitor leadership'),
    );
    await m.startMonitoring();
    api = await startAdminApi({
      monitor: m,
      host: env.HTTP_HOST,
      port: env.HTTP_PORT,
      token: env.ADMIN_TOKEN,
      log,
    });
    // Last, so start-up work never stalls the first lease renewals.
    await election.start();
  } catch (err) {
    await cleanup();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      log.info('shutting down');
      await cleanup();
      log.info('stopped');
    })());
  if (opts.handleSignals !== false) {
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'signal received');
      void stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  log.info(
    {
      http: api.url,
      nodeId,
      prefix: env.RFW_PREFIX,
      auth: env.ADMIN_TOKEN ? 'bearer' : 'none (loopback only)',
      alerts: monitor.alerts.config.notificationEndpoint ? 'webhook' : 'no webhook',
    },
    'service ready',
  );
  return { monitor, election, api, stop };
}
