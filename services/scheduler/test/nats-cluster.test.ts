import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsCluster, waitFor } from '@rfw/testkit';
import { JobQueue, connectNats } from '@rfw/core/internal';
import {
  PROCESS_TEST_MS,
  healthInfo,
  startScheduler,
  waitForLeader,
  type SchedulerProcess,
} from './helpers.js';

describe('distributed: scheduler on a 3-node NATS cluster', () => {
  let cluster: NatsCluster;

  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it(
    'killing the NATS node the leader uses still elects a leader and loses no delayed job',
    { timeout: PROCESS_TEST_MS },
    async () => {
      const prefix = 'nc1';
      const nc = await connectNats({ servers: cluster.urls, nats: { reconnectTimeWait: 100 } });
      // A fresh cluster elects its JetStream meta leader first: retry until provisioning works.
      const q = await waitFor(
        'JetStream cluster ready',
        () => JobQueue.connect({ connection: nc, prefix, provision: { replicas: 3 } }),
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      const procs: SchedulerProcess[] = [];
      try {
        procs.push(
          ...(await Promise.all(
            ['s1', 's2'].map((id) =>
              startScheduler(cluster.urls, prefix, id, { RFW_REPLICAS: '3' }),
            ),
          )),
        );
        const leader = await waitForLeader(procs);
        const start = Date.now();
        const ids: string[] = [];
        // A publish can time out while a loaded 2-core machine moves a stream
        // leader; an explicit id makes the retry idempotent, as it is for users.
        for (let i = 0; i < 40; i++) {
          const opts = { id: `${prefix}-${i}`, runAt: start + 2500 + i * 100 };
          ids.push(
            await waitFor(`job ${i} scheduled`, () => q.schedule('replicate', { i }, opts), {
              timeoutMs: 30_000,
              intervalMs: 200,
            }),
          );
        }

        // Kill the node the leader is connected to, before the jobs are due.
        const { natsServer } = await healthInfo(leader);
        const victim = cluster.servers.find((s) => natsServer.endsWith(`:${s.port}`));
        expect(victim, natsServer).toBeDefined();
        await victim!.kill();

        await waitFor(
          'every delayed job released',
          async () => {
            const jobs = await Promise.all(ids.map((id) => q.get(id).catch(() => undefined)));
            return jobs.every((j) => j?.state === 'pending');
          },
          { timeoutMs: 45_000, intervalMs: 250 },
        );
        const now = await waitForLeader(procs, 20_000);
        expect((await healthInfo(now)).natsServer.endsWith(`:${victim!.port}`)).toBe(false);
        const jsm = await jetstreamManager(nc);
        const count = async (stream: string): Promise<number | undefined> =>
          (await jsm.streams.info(stream).catch(() => undefined))?.state.messages;
        // Each job is in the jobs stream exactly once, and no delayed message is left.
        await waitFor(
          'the delayed stream to empty',
          async () => (await count(`${prefix}_delayed`)) === 0,
        );
        expect(await waitFor('jobs stream info', () => count(`${prefix}_jobs`))).toBe(ids.length);
      } finally {
        await Promise.all(procs.map((p) => p.kill('SIGKILL')));
        await nc.close();
      }
    },
  );
});
