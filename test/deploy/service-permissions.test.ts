/**
 * Every service that exists, run as its own NATS user of deploy/nats against
 * a real nats-server loaded with deploy/nats/standalone.conf, does its work
 * without a single permission violation: the worker services run their demo
 * jobs to success, the scheduler fires a periodic job and releases a delayed
 * one, the monitor becomes ready. The server's log is the witness.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '@rfw/core';
import { freePorts, spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
import { makeFaultyStore } from '@rfw/storage/testing';
import { DEMO_BUCKETS, demoJobs, planServices, serviceEntry } from '@rfw/supervisor';
import { ROOT, passwordOf, startNatsFromDeploy, type RunningNats } from './helpers.js';

const url = (port: number, user: string): string =>
  `nats://${user}:${passwordOf(user)}@127.0.0.1:${port}`;

describe('integration: each service under its own NATS user', () => {
  let nats: RunningNats;
  let port = 0;
  let dir = '';
  const procs: ServiceProcess[] = [];
  const running = planServices(ROOT).run.map((s) => s.name);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rfw-service-perms-'));
    const [p, http] = await freePorts(2);
    port = p!;
    nats = await startNatsFromDeploy('standalone.conf', {
      NATS_SERVER_NAME: 'svc-perms',
      NATS_LISTEN: `127.0.0.1:${port}`,
      NATS_HTTP: `127.0.0.1:${http}`,
      NATS_STORE_DIR: '',
    });
    await makeFaultyStore({
      dir: join(dir, 'store'),
      nodes: 3,
      objects: 12,
      largeObjects: 0,
      buckets: DEMO_BUCKETS,
    });
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every existing service with no permission violation', async () => {
    for (const name of running) {
      procs.push(
        spawnService(serviceEntry(ROOT, name), {
          cwd: ROOT,
          env: {
            NATS_URL: url(port, name),
            RFW_PREFIX: 'rfw',
            HTTP_PORT: '0',
            HTTP_HOST: '127.0.0.1',
            LOG_LEVEL: 'info',
            TOPOLOGY_FILE: join(dir, 'store', 'topology.json'),
            INDEX_SQLITE_PATH: join(dir, 'index', 'rfw-index.sqlite'),
            SCHEDULES: JSON.stringify([
              { name: 'perm-check', everyMs: 1000, type: 'perm-check', payload: {} },
            ]),
          },
        }),
      );
    }
    await Promise.all(
      procs.map((p, i) =>
        p
          .waitForLine((l) => l.includes('"msg":"service ready"'), 90_000)
          .catch((err: Error) => {
            throw new Error(`${running[i]}: ${err.message}`);
          }),
      ),
    );

    const queue = await JobQueue.connect({ servers: url(port, 'client') });
    try {
      const jobs = demoJobs().filter((j) => running.includes(j.service));
      const ids = await Promise.all(
        jobs.map((j) => queue.schedule(j.type, j.payload, { ...j.options, id: `perm-${j.type}` })),
      );
      for (const [i, id] of ids.entries()) {
        const done = await waitFor(
          `${jobs[i]!.type} to finish`,
          async () => {
            const r = await queue.get(id);
            return r && ['succeeded', 'dead', 'cancelled'].includes(r.state) ? r : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 100 },
        );
        expect(done.state, JSON.stringify(done)).toBe('succeeded');
      }
      if (running.includes('scheduler')) {
        // The leader releases a delayed job and fires the periodic one.
        const delayed = await queue.schedule('perm-delayed', {}, { delay: 300 });
        await waitFor(
          'the delayed job to be released',
          async () => (await queue.get(delayed))?.state === 'pending',
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        await waitFor(
          'the periodic job to fire',
          async () => (await queue.list({ type: 'perm-check', limit: 5 })).jobs.length > 0,
          { timeoutMs: 30_000, intervalMs: 200 },
        );
      }
      const monitor = running.indexOf('monitor');
      if (monitor >= 0) {
        const line = await procs[monitor]!.waitForLine((l) => l.includes('"msg":"service ready"'));
        const http = (JSON.parse(line) as { http: string }).http;
        await waitFor(
          'the monitor to be ready',
          async () => (await fetch(`${http}/readyz`)).status === 200,
          {
            timeoutMs: 30_000,
            intervalMs: 200,
          },
        );
      }
    } finally {
      await queue.close();
    }
    const violations = nats
      .log()
      .split('\n')
      .filter((l) => /Violation/.test(l));
    expect(violations, violations.join('\n')).toEqual([]);
  }, 240_000);
});
