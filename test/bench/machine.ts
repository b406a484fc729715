/** What the bench ran on, recorded with every result. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  // Some packages do not export their package.json: walk up from their entry point.
  const version = (pkg: string): string => {
    try {
      let dir = dirname(require.resolve(pkg));
      while (dir !== dirname(dir)) {
        const file = join(dir, 'package.json');
        if (existsSync(file)) {
          const meta = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
          if (meta.name === pkg) return meta.version;
        }
        dir = dirname(dir);
      }
    } catch {
      // not installed
    }
    return '?';
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
