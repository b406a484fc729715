import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsServer, resolveNatsServer, type ResolvedServer } from '@rfw/testkit';
import { JobQueue, MIN_SERVER_VERSION, UnsupportedServerError } from '@rfw/core';
import { connectNats } from '@rfw/core/internal';

describe('connect: nats-server versions', () => {
  let old: ResolvedServer;
  let server: NatsServer;

  beforeAll(async () => {
    // Debian bookworm's build (2.9.x), fetched into the cache like the supported ones.
    old = resolveNatsServer({
      ...process.env,
      NATS_SERVER_BIN: '',
      NATS_SERVER_VERSION: 'bookworm',
    });
    server = await NatsServer.start({ bin: old.bin });
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a server older than 2.10 with a typed error naming its version', async () => {
    expect(old.version.startsWith('2.9.')).toBe(true);
    const err = await connectNats({ servers: server.url }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedServerError);
    const e = err as UnsupportedServerError;
    expect(e.version).toBe(old.version);
    expect(e.minimum).toBe(MIN_SERVER_VERSION);
    expect(e.message).toContain(`nats-server ${old.version}`);
    await expect(JobQueue.connect({ servers: server.url })).rejects.toBeInstanceOf(
      UnsupportedServerError,
    );
  });

  it('accepts the supported server the suite runs', async () => {
    const current = await NatsServer.start();
    try {
      const nc = await connectNats({ servers: current.url });
      expect(Number(nc.info?.version.split('.')[1])).toBeGreaterThanOrEqual(10);
      await nc.close();
    } finally {
      await current.stop();
    }
  });
});
