/**
 * The supervisor's configuration: environment variables, validated, with the
 * defaults that make `npm start` work on a fresh checkout.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, Names } from '@rfw/core';

const port = z.coerce.number().int().min(0).max(65535);
const ms = z.coerce.number().int().min(0);
const flag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

/** Environment variables read by `npm start`. */
export const SupervisorEnv = z.object({
  /** Where the embedded NATS store, the demo store and runtime.json live. */
  RFW_DATA_DIR: z.string().min(1).optional(),
  /** Use this NATS instead of starting an embedded nats-server. */
  NATS_URL: z.string().min(1).optional(),
  /** Port of the embedded nats-server; default: the port of the last run if free, else any free port. */
  NATS_PORT: port.optional(),
  /** The nats-server binary; default: a 2.10+ on PATH, else the cached or fetched one (@rfw/testkit). */
  NATS_SERVER_BIN: z.string().min(1).optional(),
  RFW_PREFIX: z.string().default('rfw'),
  /** Monitor (dashboard + admin API) port; `HTTP_PORT` is accepted as an alias. */
  MONITOR_PORT: port.optional(),
  HTTP_PORT: port.optional(),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** Create the demo store and schedule demo jobs and sweeps. */
  RFW_DEMO: flag.default(true),
  /** Only these services (comma-separated), e.g. `monitor,worker-healing`; `none` for the broker alone. */
  RFW_SERVICES: z.string().optional(),
  /** `pretty` (coloured, one line per record) or `json` (the children's JSON lines, as they are). */
  RFW_LOG_FORMAT: z.enum(['pretty', 'json']).default('pretty'),
  /** How long children get to stop after SIGTERM before SIGKILL, ms. */
  RFW_STOP_GRACE_MS: ms.default(15_000),
  /** First restart delay of a crashed child, ms; doubles per crash up to RFW_RESTART_MAX_MS. */
  RFW_RESTART_BASE_MS: ms.min(10).default(500),
  /** How long start-up waits for every service before printing the banner anyway, ms. */
  RFW_READY_TIMEOUT_MS: ms.min(1000).default(120_000),
  RFW_RESTART_MAX_MS: ms.min(10).default(30_000),
});

export interface SupervisorConfig {
  /** The repository root (where `services/` is). */
  root: string;
  dataDir: string;
  natsUrl?: string;
  natsPort?: number;
  natsServerBin?: string;
  prefix: string;
  monitorPort: number;
  httpHost: string;
  demo: boolean;
  only?: string[];
  logFormat: 'pretty' | 'json';
  stopGraceMs: number;
  restartBaseMs: number;
  restartMaxMs: number;
  readyTimeoutMs: number;
}

/** The repository root: the nearest parent of this file holding `services/` or `package.json` with workspaces. */
export function findRepoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'libs')) && existsSync(join(dir, 'package.json'))) {
      if (existsSync(join(dir, 'libs', 'supervisor'))) return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the repository root above ${from}`);
    dir = up;
  }
}

/** Parse and validate the environment; throws `ConfigError` naming the variable. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  root = findRepoRoot(),
): SupervisorConfig {
  // An empty variable means unset (`NATS_URL= npm start`).
  const r = SupervisorEnv.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')),
  );
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ConfigError(String(issue?.path.join('.') || 'env'), issue?.message ?? 'invalid');
  }
  const e = r.data;
  new Names(e.RFW_PREFIX); // throws ConfigError('prefix') when invalid
  if (e.RFW_RESTART_MAX_MS < e.RFW_RESTART_BASE_MS) {
    throw new ConfigError('RFW_RESTART_MAX_MS', 'must be at least RFW_RESTART_BASE_MS');
  }
  return {
    root,
    dataDir: resolve(root, e.RFW_DATA_DIR ?? '.data'),
    natsUrl: e.NATS_URL,
    natsPort: e.NATS_PORT,
    natsServerBin: e.NATS_SERVER_BIN,
    prefix: e.RFW_PREFIX,
    monitorPort: e.MONITOR_PORT ?? e.HTTP_PORT ?? 8080,
    httpHost: e.HTTP_HOST,
    demo: e.RFW_DEMO,
    only:
      e.RFW_SERVICES?.trim() === 'none'
        ? []
        : e.RFW_SERVICES?.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    logFormat: e.RFW_LOG_FORMAT,
    stopGraceMs: e.RFW_STOP_GRACE_MS,
    restartBaseMs: e.RFW_RESTART_BASE_MS,
    restartMaxMs: e.RFW_RESTART_MAX_MS,
    readyTimeoutMs: e.RFW_READY_TIMEOUT_MS,
  };
}
