/**
 * The services `npm start` runs, in start order, and the environment each
 * one gets. A service whose `services/<name>/src/main.ts` does not exist yet
 * is skipped with a reason, so the command works while services land.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@rfw/core';

export interface ServiceDef {
  /** Folder under `services/`, also the log tag. */
  name: string;
  /** Reads `TOPOLOGY_FILE` (the storage nodes it works on). */
  storage: boolean;
  /** Serves the dashboard on the monitor port. */
  monitor?: boolean;
  /** Receives the demo `SCHEDULES`. */
  scheduler?: boolean;
  /** Files it keeps, placed under the data directory (variable -> path relative to it). */
  dataFiles?: Record<string, string>;
}

/** Every service of the system, in the order they are started. */
export const SERVICES: readonly ServiceDef[] = [
  { name: 'scheduler', storage: false, scheduler: true },
  { name: 'worker-replication', storage: true },
  { name: 'worker-healing', storage: true },
  { name: 'worker-cleanup', storage: true },
  {
    name: 'worker-indexing',
    storage: true,
    dataFiles: { INDEX_SQLITE_PATH: 'index/rfw-index.sqlite' },
  },
  { name: 'worker-metrics', storage: true },
  { name: 'monitor', storage: true, monitor: true },
];

export function serviceEntry(root: string, name: string): string {
  return join(root, 'services', name, 'src', 'main.ts');
}

export interface ServicePlan {
  run: ServiceDef[];
  /** name -> why it is not started. */
  skipped: Record<string, string>;
}

/** Which services to run: those that exist, limited to `only` when given. Throws `ConfigError` on an unknown name in `only`. */
export function planServices(root: string, only?: readonly string[]): ServicePlan {
  if (only) {
    const known = new Set(SERVICES.map((s) => s.name));
    const bad = only.find((n) => !known.has(n));
    if (bad !== undefined) {
      throw new ConfigError(
        'RFW_SERVICES',
        `unknown service ${bad}; known: ${[...known].join(', ')}`,
      );
    }
  }
  const run: ServiceDef[] = [];
  const skipped: Record<string, string> = {};
  for (const s of SERVICES) {
    if (only && !only.includes(s.name)) skipped[s.name] = 'not in RFW_SERVICES';
    else if (!existsSync(serviceEntry(root, s.name)))
      skipped[s.name] = `services/${s.name}/src/main.ts does not exist yet`;
    else run.push(s);
  }
  return { run, skipped };
}

/** Preloaded into each service: it stops (as on SIGTERM) when the supervisor dies. */
export const PARENT_WATCH = fileURLToPath(new URL('./parent-watch.mjs', import.meta.url));

/** Variables that belong to the supervisor, not to the children. */
const NOT_INHERITED = [
  'MONITOR_PORT',
  'HTTP_PORT',
  'VITEST',
  'VITEST_POOL_ID',
  'VITEST_WORKER_ID',
  'NODE_OPTIONS',
];

export interface ServiceEnvInput {
  /** Absolute data directory (for `dataFiles`). */
  dataDir?: string;
  natsUrl: string;
  prefix: string;
  httpHost: string;
  monitorPort: number;
  topologyFile?: string;
  schedules?: string;
}

/** The environment of one service. */
export function serviceEnv(
  def: ServiceDef,
  input: ServiceEnvInput,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of NOT_INHERITED) delete env[k];
  env.NATS_URL = input.natsUrl;
  env.RFW_PREFIX = input.prefix;
  env.HTTP_HOST = input.httpHost;
  env.HTTP_PORT = def.monitor ? String(input.monitorPort) : '0';
  env.RFW_SUPERVISED = '1';
  if (def.storage && input.topologyFile && !base.TOPOLOGY_FILE)
    env.TOPOLOGY_FILE = input.topologyFile;
  if (def.scheduler && input.schedules && !base.SCHEDULES) env.SCHEDULES = input.schedules;
  for (const [name, rel] of Object.entries(def.dataFiles ?? {})) {
    if (input.dataDir && !base[name]) env[name] = join(input.dataDir, rel);
  }
  return env;
}

/** The command line of a service: its TypeScript entry through tsx, no build needed. */
export function serviceCommand(root: string, name: string): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [
      '--conditions=source',
      '--import',
      'tsx',
      '--import',
      PARENT_WATCH,
      serviceEntry(root, name),
    ],
  };
}
