import { describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { findNatsServer, INSTALL_HINT, NatsCluster, NatsServer, waitFor } from '@rfw/testkit';

describe('distributed: testkit starts real nats-server processes', () => {
  it('says how to install nats-server when the binary is missing', () => {
    const saved = process.env.NATS_SERVER_BIN;
    process.env.NATS_SERVER_BIN = '/nonexistent/nats-server';
    try {
      expect(() => findNatsServer()).toThrow(INSTALL_HINT);
      expect(INSTALL_HINT).toContain('apt-get install -y nats-server');
    } finally {
      if (saved === undefined) delete process.env.NATS_SERVER_BIN;
      else process.env.NATS_SERVER_BIN = saved;
    }
  });

  it('restarts a SIGKILLed server on the same port and store', async () => {
    const s = await NatsServer.start();
    try {
      let nc = await connect({ servers: s.url });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'keep', subjects: ['keep.>'] });
      await jetstream(nc).publish('keep.a', 'x');
      await nc.close();
      await s.kill();
      expect(s.running).toBe(false);
      await s.restart();
      nc = await connect({ servers: s.url });
      const info = await (await jetstreamManager(nc)).streams.info('keep');
      expect(info.state.messages).toBe(1);
      await nc.close();
    } finally {
      await s.stop();
    }
  });

  // A cluster test waits for leader elections twice (the stream's creation,
  // then its new leader after the kill); on a loaded 2-core machine each can
  // take tens of seconds on 2.15, so the test gets room for both waits.
  it(
    'forms a 3-node JetStream cluster that keeps an R3 stream through a node loss',
    { timeout: 150_000 },
    async () => {
      const cluster = await NatsCluster.start(3);
      try {
        const nc = await connect({ servers: cluster.urls, reconnectTimeWait: 100 });
        const jsm = await jetstreamManager(nc);
        await waitFor(
          'the R3 stream to be created',
          () => jsm.streams.add({ name: 'r3', subjects: ['r3.>'], num_replicas: 3 }),
          { timeoutMs: 40_000, intervalMs: 200 },
        );
        const js = jetstream(nc);
        await js.publish('r3.a', '1');
        await cluster.servers[2]!.kill();
        await waitFor(
          'a publish to the R3 stream after a node loss',
          () => js.publish('r3.b', '2', { timeout: 2000 }),
          { timeoutMs: 60_000, intervalMs: 200 },
        );
        expect((await jsm.streams.info('r3')).state.messages).toBe(2);
        await nc.close();
      } finally {
        await cluster.stop();
      }
    },
  );
});
