import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsCluster, waitFor } from '@rfw/testkit';
import { JobQueue } from '@rfw/core/internal';

describe('distributed: provisioning while a cluster has no JetStream leader', () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;

  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
  });
  afterAll(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  it(
    'waits for the cluster to recover instead of failing on a timeout',
    { timeout: 150_000 },
    async () => {
      const [live, ...down] = cluster.servers as [
        (typeof cluster.servers)[0],
        ...typeof cluster.servers,
      ];
      await Promise.all(down.map((s) => s.kill()));
      nc = await connect({ servers: live.url });
      const jsm = await jetstreamManager(nc, { checkAPI: false });
      // Once JetStream cannot answer (no quorum for a meta leader), what a bare
      // request gets is what provisioning's first try gets: a transient failure.
      const unavailable = async (): Promise<string | undefined> =>
        jsm.streams.info('nothing-here').then(
          () => undefined,
          (err: Error) => (/not found/i.test(err.message) ? undefined : err.message),
        );
      await waitFor('JetStream to be unavailable', unavailable, { timeoutMs: 60_000 });

      const connecting = JobQueue.connect({ servers: live.url, prefix: 'pr1' });
      const settled = connecting.then(
        () => 'connected',
        (err: Error) => `failed: ${err.message}`,
      );
      // Still unavailable after provisioning started: its first try failed too.
      expect(await unavailable()).toBeDefined();
      await Promise.all(down.map((s) => s.restart()));

      expect(await settled).toBe('connected');
      const queue = await connecting;
      const id = await queue.schedule('after-recovery', { ok: true });
      expect((await queue.get(id))?.state).toBe('pending');
      await queue.close();
    },
  );
});
