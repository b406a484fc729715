/**
 * deploy/nats loaded by a real nats-server: the accounts file matches its
 * generator, the cluster config forms a 3-server JetStream cluster, and the
 * per-service permissions are enforced (a worker runs its own jobs and is
 * refused another type's subjects).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { JobQueue, Names } from '@rfw/core';
import { WorkerManager, defineWorker } from '@rfw/worker';
import { freePorts, waitFor } from '@rfw/testkit';
import { renderAccountsConf, ROLES, permissionsFor } from '@rfw/supervisor';
import { DEPLOY, passwordOf, startNatsFromDeploy, type RunningNats } from './helpers.js';

/** A plain NATS connection as `user` (the raw client ignores credentials in URLs). */
const as = (port: number, user: string): Promise<NatsConnection> =>
  connect({ servers: `127.0.0.1:${port}`, user, pass: passwordOf(user), maxReconnectAttempts: 0 });

/** The URL form the services take in NATS_URL (@rfw/core reads the credentials from it). */
const url = (port: number, user: string): string =>
  `nats://${encodeURIComponent(user)}:${encodeURIComponent(passwordOf(user))}@127.0.0.1:${port}`;

describe('integration: deploy/nats', () => {
  it('accounts.conf is exactly what the generator writes (run node scripts/gen-nats-accounts.mjs)', () => {
    const committed = readFileSync(join(DEPLOY, 'nats', 'accounts.conf'), 'utf8');
    expect(committed).toBe(renderAccountsConf('rfw'));
  });

  it('every worker role pins each of its consumers to its own filter subject', () => {
    const names = new Names('rfw');
    for (const role of ROLES.filter((r) => r.consumes.length)) {
      const perm = permissionsFor(role);
      for (const type of role.consumes) {
        expect(perm.publish).toContain(
          `$JS.API.CONSUMER.CREATE.rfw_jobs.${names.consumerName(type, 'high')}.${names.jobFilter(type, 'high')}`,
        );
      }
      // Never a wildcard over other types' consumers or the whole API.
      expect(
        perm.publish.filter((s) => s.startsWith('$JS.API.CONSUMER.MSG.NEXT.rfw_jobs.*')),
      ).toEqual([]);
      expect(perm.publish).not.toContain('$JS.API.>');
      expect(perm.publish).not.toContain('>');
    }
  });

  it('cluster.conf forms a 3-server JetStream cluster that keeps an R3 stream', async () => {
    const ports = await freePorts(9);
    const routes = Object.fromEntries(
      [0, 1, 2].map((i) => [
        `NATS_ROUTE_${i + 1}`,
        `nats-route://route:route-secret@127.0.0.1:${ports[3 + i]}`,
      ]),
    );
    const servers: RunningNats[] = [];
    try {
      const started = await Promise.all(
        [0, 1, 2].map((i) =>
          startNatsFromDeploy('cluster.conf', {
            NATS_SERVER_NAME: `n${i + 1}`,
            NATS_LISTEN: `127.0.0.1:${ports[i]}`,
            NATS_CLUSTER_LISTEN: `127.0.0.1:${ports[3 + i]}`,
            NATS_HTTP: `127.0.0.1:${ports[6 + i]}`,
            NATS_STORE_DIR: '', // replaced below
            NATS_ROUTE_PASSWORD: 'route-secret',
            ...routes,
          }),
        ),
      );
      servers.push(...started);
      const nc = await as(ports[0]!, 'admin');
      try {
        // The meta leader is elected once the routes are up.
        const jsm = await jetstreamManager(nc, { checkAPI: false });
        const info = await waitFor(
          'an R3 stream to be created',
          async () =>
            jsm.streams.add({ name: 'deploy_check', subjects: ['deploy.check'], num_replicas: 3 }),
          { timeoutMs: 40_000, intervalMs: 250 },
        );
        expect(info.config.num_replicas).toBe(3);
        const si = await waitFor(
          'both replicas to be current',
          async () => {
            const s = await jsm.streams.info('deploy_check');
            return (s.cluster?.replicas ?? []).filter((r) => r.current).length === 2
              ? s
              : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 200 },
        );
        expect(si.cluster?.name).toBe('rfw');
        await jetstream(nc).publish('deploy.check', 'x');
        expect((await jsm.streams.info('deploy_check')).state.messages).toBe(1);
      } finally {
        await nc.close();
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });

  describe('permissions on standalone.conf', () => {
    let nats: RunningNats;
    let port = 0;
    const open: NatsConnection[] = [];
    beforeAll(async () => {
      const [p, http] = await freePorts(2);
      port = p!;
      nats = await startNatsFromDeploy('standalone.conf', {
        NATS_SERVER_NAME: 'perm',
        NATS_LISTEN: `127.0.0.1:${port}`,
        NATS_HTTP: `127.0.0.1:${http}`,
        NATS_STORE_DIR: '',
      });
      // Streams and buckets, provisioned the way every component does on connect.
      await (await JobQueue.connect({ servers: url(port, 'client') })).close();
    });
    afterAll(async () => {
      await Promise.all(open.map((c) => c.close()));
      await nats?.stop();
    });

    it('a wrong password is refused', async () => {
      await expect(
        connect({
          servers: `127.0.0.1:${port}`,
          user: 'worker-healing',
          pass: passwordOf('worker-replication'),
          maxReconnectAttempts: 0,
        }),
      ).rejects.toThrow(/Authorization/i);
    });

    it('the client schedules, the replication worker runs it, and a healing job stays untouched', async () => {
      const queue = await JobQueue.connect({ servers: url(port, 'client') });
      const manager = await WorkerManager.create({
        servers: url(port, 'worker-replication'),
        workerId: 'perm-replication',
        heartbeatIntervalMs: 500,
      });
      try {
        manager.register(
          defineWorker('replication', async (p: { n: number }) => ({ doubled: p.n * 2 })),
        );
        await manager.start();
        const id = await queue.schedule('replication', { n: 21 });
        const done = await waitFor('the replication job to succeed', async () => {
          const j = await queue.get(id);
          return j?.state === 'succeeded' ? j : undefined;
        });
        expect(done.attempts).toBeGreaterThanOrEqual(1);
        expect(nats.log()).not.toMatch(/Permissions Violation/);
      } finally {
        await manager.shutdown();
        await queue.close();
      }
    });

    it("a worker user is refused on another type's subjects and allowed on its own", async () => {
      const nc = await as(port, 'worker-replication');
      open.push(nc);
      const js = jetstream(nc);
      // Its own dead-letter subject: stored.
      const ack = await js.publish('rfw.dlq.replication', 'x');
      expect(ack.stream).toBe('rfw_dlq');
      // Another type's: refused by the server.
      await expect(js.publish('rfw.dlq.healing', 'x', { timeout: 5000 })).rejects.toThrow(
        /Permissions Violation|permission/i,
      );
      await expect(js.publish('rfw.jobs.cleanup.high', 'x', { timeout: 5000 })).rejects.toThrow(
        /Permissions Violation|permission/i,
      );
      // Pulling from the healing consumer is refused; from its own it is allowed.
      const healing = await jetstreamManager(nc)
        .then((jsm) => jsm.consumers.info('rfw_jobs', 'rfw_healing_high'))
        .catch((err: Error) => err);
      expect(String(healing)).toMatch(/Permissions Violation|permission|timeout/i);
      const own = await jetstreamManager(nc).then((jsm) =>
        jsm.consumers.info('rfw_jobs', 'rfw_replication_high'),
      );
      expect(own.name).toBe('rfw_replication_high');
      await waitFor('the violations to be logged by the server', () =>
        /Publish Violation.*rfw\.dlq\.healing/.test(nats.log()),
      );
    });
  });
});
