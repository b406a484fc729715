import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/nats-core';
import { Kvm } from '@nats-io/kv';
import { spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
import { parseLease } from '@rfw/cluster/internal';

export const schedulerMain = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export const LEASE_MS = 2000;
/** Starting a TypeScript process takes seconds, and much longer on a busy machine. */
export const STARTUP_MS = 120_000;
/** Timeout of tests that start several processes. */
export const PROCESS_TEST_MS = 240_000;

export interface SchedulerProcess extends ServiceProcess {
  nodeId: string;
  /** Base URL of its HTTP endpoints, once ready. */
  http: string;
}

/** Start a scheduler service process and wait for its ready line. */
export async function startScheduler(
  servers: string | string[],
  prefix: string,
  nodeId: string,
  env: Record<string, string> = {},
): Promise<SchedulerProcess> {
  const p = spawnService(schedulerMain, {
    env: {
      NATS_URL: Array.isArray(servers) ? servers.join(',') : servers,
      RFW_PREFIX: prefix,
      NODE_ID: nodeId,
      LEADER_ELECTION_TIMEOUT_MS: String(LEASE_MS),
      HEARTBEAT_INTERVAL_MS: '300',
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  const line = await p.waitForLine(/service ready/, STARTUP_MS);
  const http = (JSON.parse(line) as { http: string }).http;
  return Object.assign(p, { nodeId, http });
}

/** The nodeId holding the scheduler lease now, from the leader bucket. */
export async function currentLeader(
  nc: NatsConnection,
  prefix: string,
): Promise<string | undefined> {
  const kv = await new Kvm(nc).open(`${prefix}_leader`);
  const e = await kv.get('scheduler');
  if (!e || e.operation !== 'PUT') return undefined;
  return parseLease(e.value)?.holder;
}

/** Wait until one of `procs` says, on its /healthz, that it leads. */
export async function waitForLeader(
  procs: SchedulerProcess[],
  timeoutMs = 20_000,
): Promise<SchedulerProcess> {
  return waitFor(
    'a scheduler leader',
    async () => {
      for (const p of procs) {
        if (p.proc.exitCode !== null || p.proc.signalCode !== null) continue;
        const info = await healthInfo(p).catch(() => undefined);
        if (info?.isLeader) return p;
      }
      return undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

export async function healthInfo(
  p: SchedulerProcess,
): Promise<{ isLeader: boolean; leader?: string; natsServer: string; delayedPending: number }> {
  const res = await fetch(`${p.http}/healthz`, { signal: AbortSignal.timeout(3000) });
  const body = (await res.json()) as {
    info: { isLeader: boolean; leader?: string; natsServer: string; delayedPending: number };
  };
  return body.info;
}
