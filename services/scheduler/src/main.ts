/**
 * The scheduler service: releases delayed jobs, fires periodic jobs (one
 * leader among any number of instances) and serves the submission API.
 * Configuration comes from environment variables; see docs/scheduling.md.
 */
import { createLogger, startHttpEndpoints } from '@rfw/core/internal';
import { loadSchedules, parseSchedulerEnv } from './config.js';
import { Scheduler } from './scheduler.js';
import { startTracing } from '@rfw/telemetry';

const log = createLogger('scheduler');

async function main(): Promise<void> {
  await startTracing('scheduler');
  const env = parseSchedulerEnv();
  const schedules = loadSchedules(env);
  const scheduler = await Scheduler.create({
    servers: env.NATS_URL?.split(','),
    prefix: env.RFW_PREFIX,
    provision: { replicas: env.RFW_REPLICAS },
    nodeId: env.NODE_ID,
    leaderElectionTimeoutMs: env.LEADER_ELECTION_TIMEOUT_MS,
    heartbeatIntervalMs: env.HEARTBEAT_INTERVAL_MS,
    schedules,
    releaseConcurrency: env.RELEASE_CONCURRENCY,
    delayedMemoryBytes: env.DELAYED_MEMORY_MB * 1024 * 1024,
    logger: log,
  });
  await scheduler.start();
  const http = await startHttpEndpoints({
    port: env.HTTP_PORT,
    host: env.HTTP_HOST,
    registry: scheduler.metrics.registry,
    ready: () => scheduler.ready(),
    info: () => scheduler.status(),
  });
  let stopping: Promise<void> | undefined;
  const stop = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'signal received: resigning and stopping');
    stopping ??= (async () => {
      await scheduler.stop();
      await http.close();
      log.info('stopped');
    })();
    void stopping.then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  log.info(
    { http: http.url, nodeId: scheduler.nodeId, schedules: schedules.map((s) => s.name) },
    'service ready',
  );
}

main().catch((err: Error) => {
  log.fatal(
    { err: err.message, name: err.name, field: (err as { field?: string }).field },
    'scheduler failed to start',
  );
  process.exit(1);
});
