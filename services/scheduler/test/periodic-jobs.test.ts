import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { NatsServer, waitFor } from '@rfw/testkit';
import { decodeJson } from '@rfw/core/internal';
import type { CronState } from '@rfw/service-scheduler';
import {
  LEASE_MS,
  PROCESS_TEST_MS,
  healthInfo,
  startScheduler,
  waitForLeader,
  type SchedulerProcess,
} from './helpers.js';

describe('distributed: periodic jobs with three schedulers', () => {
  let server: NatsServer;

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it(
    'fires exactly one job per fire time across a crash, a paused leader and a clean handover',
    { timeout: PROCESS_TEST_MS },
    async () => {
      const prefix = 'cron1';
      const nc = await connect({ servers: server.url });
      const jsm = await jetstreamManager(nc);
      const schedules = JSON.stringify([
        { name: 'tick', cron: '* * * * * *', type: 'tick', payload: { from: 'cron' } },
        { name: 'beat', everyMs: 1000, type: 'beat', priority: 'high' },
      ]);
      const procs = await Promise.all(
        ['s1', 's2', 's3'].map((id) =>
          startScheduler(server.url, prefix, id, { SCHEDULES: schedules }),
        ),
      );
      /** Job ids in the jobs stream, in order, with how often each appears. */
      const published = async (): Promise<string[]> => {
        const info = await jsm.streams.info(`${prefix}_jobs`);
        const ids: string[] = [];
        for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
          const m = await jsm.streams.getMessage(`${prefix}_jobs`, { seq }).catch(() => null);
          const id = m?.header?.get('Rfw-Job-Id');
          if (id) ids.push(id);
        }
        return ids;
      };
      const countOf = async (name: string): Promise<number> =>
        (await published()).filter((id) => id.startsWith(`${name}-`)).length;
      try {
        const first = await waitForLeader(procs);
        await waitFor('4 ticks by the first leader', async () => (await countOf('tick')) >= 4, {
          timeoutMs: 20_000,
          intervalMs: 250,
        });
        const metrics = await (await fetch(`${first.http}/metrics`)).text();
        expect(metrics).toMatch(/rfw_scheduler_cron_fires_total\{[^}]*schedule="tick"[^}]*\} \d+/);

        // Crash: the lease expires and another instance takes over.
        await first.kill('SIGKILL');
        const rest = procs.filter((p) => p !== first);
        const second = await waitForLeader(rest, 20_000);
        const before = await countOf('tick');
        await waitFor(
          '3 ticks by the second leader',
          async () => (await countOf('tick')) >= before + 3,
          {
            timeoutMs: 20_000,
            intervalMs: 250,
          },
        );

        // Pause the leader (SIGSTOP) past its lease: the third takes over; resumed, the
        // old leader must step down without firing anything.
        second.proc.kill('SIGSTOP');
        const third = await waitForLeader(
          rest.filter((p) => p !== second),
          20_000,
        );
        const before3 = await countOf('tick');
        await waitFor(
          '2 ticks by the third leader',
          async () => (await countOf('tick')) >= before3 + 2,
          {
            timeoutMs: 20_000,
            intervalMs: 250,
          },
        );
        second.proc.kill('SIGCONT');
        await waitFor('the resumed leader to step down', async () => {
          const info = await healthInfo(second).catch(() => undefined);
          return info && !info.isLeader && info.leader === third.nodeId;
        });
        const before4 = await countOf('tick');
        await waitFor(
          '2 more ticks by the third leader',
          async () => (await countOf('tick')) >= before4 + 2,
          {
            timeoutMs: 20_000,
            intervalMs: 250,
          },
        );

        // Clean stop: the leader resigns, so the resumed one takes over well within a lease.
        const stoppedAt = Date.now();
        await third.kill('SIGTERM');
        const last = await waitForLeader([second], 20_000);
        expect(Date.now() - stoppedAt).toBeLessThan(LEASE_MS + 1500);
        const before5 = await countOf('tick');
        await waitFor(
          '2 ticks by the last leader',
          async () => (await countOf('tick')) >= before5 + 2,
          {
            timeoutMs: 20_000,
            intervalMs: 250,
          },
        );
        await last.kill('SIGTERM');

        const ids = await published();
        // Exactly once per fire time: no id twice in the stream.
        expect(ids.length).toBe(new Set(ids).size);
        for (const name of ['tick', 'beat']) {
          const times = ids
            .filter((id) => id.startsWith(`${name}-`))
            .map((id) => Number(id.slice(name.length + 1)))
            .sort((a, b) => a - b);
          expect(times.length).toBeGreaterThanOrEqual(name === 'tick' ? 13 : 8);
          for (const t of times) expect(t % 1000).toBe(0);
          const kv = await new Kvm(nc).open(`${prefix}_control`);
          const e = await kv.get(`cron.${name}`);
          const state = decodeJson<CronState>(e!.value);
          expect(state.lastFireAt).toBe(times.at(-1));
          expect(state.pending).toBeUndefined();
          expect(state.by).toBe(last.nodeId);
        }
      } finally {
        for (const p of procs) p.proc.kill('SIGCONT');
        await Promise.all(procs.map((p: SchedulerProcess) => p.kill('SIGKILL')));
        await nc.close();
      }
    },
  );
});
