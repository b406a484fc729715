import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { NatsServer, spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
import { Heartbeat, Membership, WorkerCluster, type ClusterEvent } from '@rfw/cluster/internal';
import { defineWorker } from '@rfw/worker';

const node = fileURLToPath(new URL('./fixtures/cluster-node.ts', import.meta.url));
const HB_MS = 300;

describe('worker_coordination: membership', () => {
  let server: NatsServer;
  const conns: NatsConnection[] = [];
  let n = 0;

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await server?.stop();
  });

  it(
    'reports joins, clean leaves and crashes (SIGKILL) of other processes, and leadership',
    { timeout: 240_000 },
    async () => {
      const prefix = `mb${++n}`;
      const observer = await WorkerCluster.create({
        nodeId: 'observer',
        servers: server.url,
        prefix,
        heartbeatInterval: HB_MS,
        leaderElectionTimeout: 2000,
        roles: ['scheduler'],
      });
      const events: Array<ClusterEvent & { seenAt: number }> = [];
      const stream = observer.events();
      void (async () => {
        for await (const e of stream) events.push({ ...e, seenAt: Date.now() });
      })();
      await observer.join();
      const find = (type: ClusterEvent['type'], id: string) =>
        events.find(
          (e) =>
            e.type === type &&
            (e.type === 'leadership-changed' ? e.leader === id : e.node.nodeId === id),
        );
      await waitFor('observer sees itself', () => find('node-joined', 'observer'));
      await waitFor('observer leads', () => find('leadership-changed', 'observer'));
      expect(observer.leaders()).toEqual({ scheduler: 'observer' });
      expect(observer.isLeader('scheduler')).toBe(true);

      const spawn = (id: string): ServiceProcess =>
        spawnService(node, {
          env: {
            NATS_URL: server.url,
            RFW_PREFIX: prefix,
            NODE_ID: id,
            TYPES: 'alpha',
            ROLES: 'scheduler',
            HEARTBEAT_INTERVAL_MS: String(HB_MS),
            LOG_LEVEL: 'warn',
          },
        });
      const gentle = spawn('gentle');
      const crashy = spawn('crashy');
      try {
        await Promise.all([gentle, crashy].map((p) => p.waitForLine(/service ready/, 120_000)));
        const joined = await waitFor('gentle joined', () => find('node-joined', 'gentle'));
        await waitFor('crashy joined', () => find('node-joined', 'crashy'));
        expect(joined.type === 'node-joined' && joined.node.types).toEqual(['alpha']);
        expect(joined.type === 'node-joined' && joined.node.roles).toEqual(['scheduler']);
        expect(observer.nodes().map((h) => h.nodeId)).toEqual(['crashy', 'gentle', 'observer']);
        // Only one leader however many candidates.
        expect(observer.leaders()).toEqual({ scheduler: 'observer' });

        // Clean leave: the heartbeat is deleted, so it is reported at once.
        const stoppedAt = Date.now();
        await gentle.kill('SIGTERM');
        const left = await waitFor('gentle left', () => find('node-left', 'gentle'));
        expect(left.type === 'node-left' && left.reason).toBe('shutdown');
        expect(left.seenAt - stoppedAt).toBeLessThan(3 * HB_MS + 2000);

        // Crash: no delete, the heartbeat goes stale after 3 intervals.
        const killedAt = Date.now();
        await crashy.kill('SIGKILL');
        const crashed = await waitFor('crashy left', () => find('node-left', 'crashy'), {
          timeoutMs: 10_000,
        });
        expect(crashed.type === 'node-left' && crashed.reason).toBe('timeout');
        const after = crashed.seenAt - killedAt;
        expect(after).toBeGreaterThanOrEqual(2 * HB_MS - 100);
        expect(after).toBeLessThan(3 * HB_MS + 4000);
        expect(observer.nodes().map((h) => h.nodeId)).toEqual(['observer']);
      } finally {
        await Promise.all([gentle, crashy].map((p) => p.kill('SIGKILL')));
        await observer.leave();
        await observer.leave(); // safe twice
      }
      // The event stream ends on leave().
      expect((await stream.next()).done).toBe(true);
    },
  );

  it('a node without workers heartbeats with the Heartbeat helper; Membership follows it', async () => {
    const prefix = `mb${++n}`;
    const c1 = await connect({ servers: server.url });
    const c2 = await connect({ servers: server.url });
    conns.push(c1, c2);
    const seen: string[] = [];
    const m = await Membership.start({ connection: c1, prefix, checkIntervalMs: 50 }, (e) =>
      seen.push(`${e.type}:${e.node.nodeId}${e.type === 'node-left' ? `:${e.reason}` : ''}`),
    );
    const hb = await Heartbeat.start({
      connection: c2,
      prefix,
      nodeId: 'sched-1',
      intervalMs: 200,
      roles: ['scheduler'],
    });
    await waitFor('joined', () => seen.includes('node-joined:sched-1'));
    const [only] = m.nodes();
    expect(only).toMatchObject({
      nodeId: 'sched-1',
      types: [],
      roles: ['scheduler'],
      heartbeatIntervalMs: 200,
    });
    await hb.stop();
    await waitFor('left', () => seen.includes('node-left:sched-1:shutdown'));
    expect(m.nodes()).toEqual([]);
    await m.stop();
    await expect(
      Heartbeat.start({ connection: c2, prefix, nodeId: 'bad id' }),
    ).rejects.toMatchObject({ name: 'ConfigError', field: 'nodeId' });
  });

  it('runs registered worker types and rejects a factory returning the wrong type', async () => {
    const prefix = `mb${++n}`;
    const ok = await WorkerCluster.create({
      nodeId: 'w1',
      servers: server.url,
      prefix,
      heartbeatInterval: HB_MS,
    });
    ok.registerWorkerType('echo', () => defineWorker('echo', async (p: unknown) => p));
    expect(() => ok.registerWorkerType('echo', () => defineWorker('echo', async () => 1))).toThrow(
      /registered twice/,
    );
    await ok.join();
    expect(ok.manager?.state).toBe('running');
    await waitFor('member', () =>
      ok.nodes().some((h) => h.nodeId === 'w1' && h.types.includes('echo')),
    );
    // By default a node competes for the seed's single cluster leadership.
    await waitFor('cluster leader', () => ok.leaders().cluster === 'w1');
    expect(ok.isLeader('cluster')).toBe(true);
    await ok.leave();
    expect(ok.manager?.state).toBe('stopped');

    const bad = await WorkerCluster.create({ nodeId: 'w2', servers: server.url, prefix });
    bad.registerWorkerType('one', () => defineWorker('two', async () => 1));
    await expect(bad.join()).rejects.toMatchObject({ name: 'ConfigError', field: 'workerType' });
    expect(bad.state).toBe('failed');
    await expect(WorkerCluster.create({ nodeId: '', servers: server.url })).rejects.toMatchObject({
      field: 'nodeId',
    });
  });
});
