import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connect, headers } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { NatsServer, waitFor } from '@rfw/testkit';
import { JobQueue, decodeJson, type JobEvent } from '@rfw/core';
import { startScheduler, waitForLeader, type SchedulerProcess } from './helpers.js';

describe('worker_coordination: delayed jobs', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  const procs: SchedulerProcess[] = [];
  let n = 0;

  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  });
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.kill('SIGKILL')));
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  /** Pending events by job id, with when they were stamped. */
  function collectPending(prefix: string): Map<string, JobEvent> {
    const seen = new Map<string, JobEvent>();
    nc.subscribe(`${prefix}.events.*.*.pending`, {
      callback: (_e, m) => {
        const ev = decodeJson<JobEvent>(m.data);
        seen.set(ev.id, ev);
      },
    });
    return seen;
  }

  it('releases delayed jobs on time, never a cancelled one, and dead-letters an unreleasable message', async () => {
    const prefix = `dr${++n}`;
    const q = await JobQueue.connect({ connection: nc, prefix });
    const pending = collectPending(prefix);
    await nc.flush();
    const sched = await startScheduler(server.url, prefix, 's1');
    procs.push(sched);
    await waitForLeader([sched]);

    const start = Date.now();
    const runAts = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const runAt = start + 1500 + i * 75;
      const id = await q.schedule('report', { i }, { runAt, priority: i % 2 ? 'high' : 'low' });
      runAts.set(id, runAt);
    }
    const cancelled = await q.schedule('report', { i: -1 }, { delay: 1500 });
    await q.cancel(cancelled);
    // A bare client's delayed message whose subject no worker can consume.
    const h = headers();
    h.set('Rfw-Run-At', String(start + 1500));
    await jetstream(nc).publish(`${prefix}.delayed.Not_A_Type.normal`, '{}', { headers: h });

    await waitFor('all released', () => [...runAts.keys()].every((id) => pending.has(id)), {
      timeoutMs: 20_000,
    });
    for (const [id, runAt] of runAts) {
      const job = await q.get(id);
      expect(job?.state).toBe('pending');
      expect(job?.location?.stream).toBe(`${prefix}_jobs`);
      expect(job?.history.map((t) => t.state)).toEqual(['delayed', 'pending']);
      const releasedAt = pending.get(id)?.at as number;
      expect(releasedAt).toBeGreaterThanOrEqual(runAt);
      expect(releasedAt - runAt).toBeLessThan(1000);
    }
    expect((await q.get(cancelled))?.state).toBe('cancelled');
    expect(pending.has(cancelled)).toBe(false);
    const jsm = await jetstreamManager(nc);
    await waitFor('the delayed stream to empty', async () => {
      return (await jsm.streams.info(`${prefix}_delayed`)).state.messages === 0;
    });
    expect((await jsm.streams.info(`${prefix}_jobs`)).state.messages).toBe(20);
    const dead = await q.listDeadLetters();
    expect(dead.deadLetters).toHaveLength(1);
    expect(dead.deadLetters[0]?.reason).toContain('invalid delayed message');

    const metrics = await (await fetch(`${sched.http}/metrics`)).text();
    expect(metrics).toMatch(/rfw_scheduler_is_leader\{[^}]*\} 1/);
    expect(metrics).toMatch(/rfw_scheduler_delayed_released_total\{[^}]*type="report"[^}]*\} 20/);
    expect(metrics).toContain('rfw_scheduler_release_lateness_seconds_bucket');
    expect((await fetch(`${sched.http}/readyz`)).status).toBe(200);
  });

  it('keeps delayed jobs across a scheduler crash and a NATS restart', async () => {
    const prefix = `dr${++n}`;
    const q = await JobQueue.connect({ connection: nc, prefix });
    const first = await startScheduler(server.url, prefix, 's1');
    procs.push(first);
    await waitForLeader([first]);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++)
      ids.push(await q.schedule('later', { i }, { delay: 1000 + i * 100 }));
    await first.kill('SIGKILL');
    await server.restart();
    await waitFor('client reconnected', async () => {
      await nc.flush();
      return !nc.isClosed();
    });
    // Scheduled while no scheduler runs: also kept.
    for (let i = 0; i < 5; i++) ids.push(await q.schedule('later', { i: 100 + i }, { delay: 200 }));
    const second = await startScheduler(server.url, prefix, 's2');
    procs.push(second);
    await waitFor(
      'every delayed job released once',
      async () => {
        const jobs = await Promise.all(ids.map((id) => q.get(id)));
        return jobs.every((j) => j?.state === 'pending');
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(`${prefix}_jobs`)).state.messages).toBe(ids.length);
  });

  it('p99 lateness stays under 100 ms with 10,000 delayed jobs pending', async () => {
    const prefix = `dr${++n}`;
    const q = await JobQueue.connect({ connection: nc, prefix });
    const sched = await startScheduler(server.url, prefix, 's1');
    procs.push(sched);
    await waitForLeader([sched]);
    // 10,000 far-future delayed jobs, published as a bare client would (wire format only).
    const js = jetstream(nc);
    const far = Date.now() + 3600_000;
    for (let i = 0; i < 10_000; i += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, j) => {
          const h = headers();
          h.set('Rfw-Job-Id', `far-${i + j}`);
          h.set('Rfw-Run-At', String(far + i + j));
          return js.publish(`${prefix}.delayed.far.low`, '{}', { headers: h });
        }),
      );
    }
    const pending = collectPending(prefix);
    await nc.flush();
    // 200 probes due over 4 s, starting well after they are all scheduled.
    const t0 = Date.now() + 2000;
    const probes = await q.scheduleMany(
      Array.from({ length: 200 }, (_, i) => ({
        type: 'probe',
        payload: { i },
        options: { runAt: t0 + i * 20 },
      })),
    );
    const runAt = new Map<string, number>();
    probes.forEach((r, i) => r.ok && runAt.set(r.id, t0 + i * 20));
    expect(runAt.size).toBe(200);
    // How punctual this machine itself is during the window: an idle process's
    // event-loop delay shows the CPU starvation every process here suffers.
    const machine = monitorEventLoopDelay({ resolution: 10 });
    machine.enable();
    await waitFor('all probes released', () => [...runAt.keys()].every((id) => pending.has(id)), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    machine.disable();
    const lateness = [...runAt]
      .map(([id, due]) => (pending.get(id)?.at as number) - due)
      .sort((a, b) => a - b);
    const p99 = lateness[Math.floor(lateness.length * 0.99)] as number;
    const stallMs = machine.max / 1e6 - 10;
    expect(lateness[0]).toBeGreaterThanOrEqual(0);
    // 100 ms on a machine that gives the scheduler the CPU when its timer is
    // due; on an overloaded one, no more than the stalls it suffered on top.
    expect(
      p99,
      `lateness ${JSON.stringify({ p50: lateness[100], p99, stallMs })}`,
    ).toBeLessThanOrEqual(100 + Math.max(0, stallMs));
    const info = await (await fetch(`${sched.http}/healthz`)).json();
    expect((info as { info: { delayedPending: number } }).info.delayedPending).toBe(10_000);
  });
});
