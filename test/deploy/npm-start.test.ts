/**
 * `npm start` as a user runs it: `node scripts/start.mjs` (what the root
 * `start` script runs) on a temp data dir and a free monitor port. It comes
 * up, writes runtime.json, runs a demo job to success through JobQueue on the
 * NATS URL it published, refuses a second copy on the same data, stops
 * cleanly on SIGINT with exit code 0, and keeps its data for the next run.
 * Works whichever services exist yet: with no worker service, the job is run
 * by a worker in the test against the system's broker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { JobQueue } from '@rfw/core';
import { WorkerManager, defineWorker } from '@rfw/worker';
import { freePorts, waitFor } from '@rfw/testkit';
import { demoJobs, type RuntimeInfo } from '@rfw/supervisor';
import { ROOT } from './helpers.js';

interface Run {
  proc: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

const runs: Run[] = [];

function startSystem(env: Record<string, string>): Run {
  const proc = spawn(process.execPath, [join(ROOT, 'scripts', 'start.mjs')], {
    cwd: ROOT,
    env: { ...process.env, VITEST: undefined, NO_COLOR: '1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => lines.push(l));
  createInterface({ input: proc.stderr! }).on('line', (l) => lines.push(l));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const run = { proc, lines, exited };
  runs.push(run);
  return run;
}

function readRuntimeFile(dataDir: string): RuntimeInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8')) as RuntimeInfo;
  } catch {
    return undefined;
  }
}

const tail = (r: Run): string => r.lines.slice(-40).join('\n');

/** Stop what a failed test left running: SIGTERM (the supervisor stops its children), then SIGKILL. */
async function stopAll(): Promise<void> {
  await Promise.all(
    runs.map(async (r) => {
      if (r.proc.exitCode !== null || r.proc.signalCode !== null) return;
      r.proc.kill('SIGTERM');
      const timer = setTimeout(() => r.proc.kill('SIGKILL'), 30_000);
      await r.exited;
      clearTimeout(timer);
    }),
  );
}

/** The demo job the test runs: the quickest one whose service is up. */
const PREFERRED = [
  'worker-metrics',
  'worker-indexing',
  'worker-cleanup',
  'worker-healing',
  'worker-replication',
];

describe('integration: npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rfw-npm-start-'));
  afterAll(async () => {
    await stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts, runs a demo job, refuses a second copy, stops on SIGINT, and keeps its data', async () => {
    const [monitorPort] = await freePorts(1);
    const env = { RFW_DATA_DIR: dataDir, MONITOR_PORT: String(monitorPort), NATS_URL: '' };
    const run = startSystem(env);

    // Healthy: every service that exists said "service ready".
    const rt = await waitFor(
      'runtime.json with ready: true',
      () => {
        if (run.proc.exitCode !== null) throw new Error(`npm start exited:\n${tail(run)}`);
        const r = readRuntimeFile(dataDir);
        return r?.ready ? r : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 200 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${tail(run)}`);
    });
    expect(rt.natsUrl).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(rt.natsUrl).not.toBe('nats://127.0.0.1:4222');
    expect(rt.monitorUrl).toBe(`http://127.0.0.1:${monitorPort}`);
    expect(rt.prefix).toBe('rfw');
    expect(rt.pid).toBe(run.proc.pid);
    expect(existsSync(join(dataDir, 'store', 'node-1'))).toBe(true);
    expect(existsSync(join(dataDir, 'topology.json'))).toBe(true);
    if (rt.services.monitor) {
      const res = await fetch(`${rt.monitorUrl}/healthz`);
      expect(res.status).toBe(200);
    }

    // A demo job, through JobQueue on the URL runtime.json gave.
    const queue = await JobQueue.connect({ servers: rt.natsUrl, prefix: rt.prefix });
    let inTestWorker: WorkerManager | undefined;
    let id: string;
    try {
      const job = PREFERRED.map((svc) => demoJobs().find((j) => j.service === svc)).find(
        (j) => j && rt.services[j.service]?.state === 'ready',
      );
      if (job) {
        id = await queue.schedule(job.type, job.payload, {
          ...job.options,
          id: `test-${Date.now()}`,
        });
      } else {
        // No worker service exists yet: the system's broker still runs jobs.
        inTestWorker = await WorkerManager.create({
          servers: rt.natsUrl,
          workerId: 'npm-start-test',
        });
        inTestWorker.register(
          defineWorker('demo-echo', async (p: { say: string }) => ({ said: p.say })),
        );
        await inTestWorker.start();
        id = await queue.schedule('demo-echo', { say: 'hello' });
      }
      const done = await waitFor(
        'the demo job to finish',
        async () => {
          const j = await queue.get(id);
          return j && ['succeeded', 'dead', 'cancelled'].includes(j.state) ? j : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      expect(done.state, JSON.stringify(done)).toBe('succeeded');
    } finally {
      await inTestWorker?.shutdown();
      await queue.close();
    }

    // A second copy on the same data refuses to start.
    const second = startSystem(env);
    expect(await second.exited).toBe(1);
    expect(second.lines.join('\n')).toMatch(/already running/);

    // Ctrl-C: everything stops, exit code 0, runtime.json removed, no process left.
    run.proc.kill('SIGINT');
    expect(await run.exited, tail(run)).toBe(0);
    expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false);
    for (const [name, s] of Object.entries(rt.services)) {
      if (!s.pid) continue;
      let alive = true;
      try {
        process.kill(s.pid, 0);
      } catch {
        alive = false;
      }
      expect(alive, `${name} (pid ${s.pid}) still running`).toBe(false);
    }
    expect(run.lines.join('\n')).toMatch(/nats-server stopped/);

    // The next run keeps the data: same broker port, the job's record is still there.
    const again = startSystem({ ...env, RFW_SERVICES: 'none' });
    const rt2 = await waitFor(
      'the second run to be ready',
      () => {
        if (again.proc.exitCode !== null) throw new Error(`second run exited:\n${tail(again)}`);
        const r = readRuntimeFile(dataDir);
        return r?.ready ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(rt2.natsUrl).toBe(rt.natsUrl);
    const q2 = await JobQueue.connect({ servers: rt2.natsUrl });
    try {
      expect((await q2.get(id))?.state).toBe('succeeded');
    } finally {
      await q2.close();
    }
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 300_000);

  it('without nats-server, says how to install it and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rfw-npm-start-nonats-'));
    try {
      const run = startSystem({
        RFW_DATA_DIR: dir,
        NATS_SERVER_BIN: join(dir, 'no-such-nats-server'),
        NATS_URL: '',
      });
      expect(await run.exited).toBe(1);
      const out = run.lines.join('\n');
      expect(out).toMatch(/nats-server was not found/);
      expect(out).toMatch(/apt-get install -y nats-server/);
      expect(out).toMatch(/brew install nats-server/);
      expect(out).toMatch(/docker run/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
