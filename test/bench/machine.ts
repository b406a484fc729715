/** What the bench ran on, recorded with every result. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, freemem, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { REDIS_URL } from './harness.js';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalGiB: number;
  memFreeGiB: number;
  loadAverage: string;
  node: string;
  natsServer: string;
  redis: string;
  bullmq: string;
  natsClient: string;
}

const GiB = 1024 ** 3;

export async function machineInfo(): Promise<MachineInfo> {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  const nats = spawnSync(process.env.NATS_SERVER_BIN ?? 'nats-server', ['--version'], {
    encoding: 'utf8',
  });
  let redis = '?';
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await r.connect();
    redis = /redis_version:(\S+)/.exec(await r.info('server'))?.[1] ?? '?';
  } catch {
    redis = 'unreachable';
  } finally {
    r.disconnect();
  }
  const require = createRequire(import.meta.url);
  const version = (pkg: string): string => {
    try {
      return (require(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  return {
    nproc: availableParallelism(),
    cpuModel: cpu.trim(),
    memTotalGiB: Number((totalmem() / GiB).toFixed(1)),
    memFreeGiB: Number((freemem() / GiB).toFixed(1)),
    loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    node: process.version,
    natsServer: (nats.stdout || nats.stderr || '?').trim(),
    redis,
    bullmq: version('bullmq'),
    natsClient: version('@nats-io/jetstream'),
  };
}
