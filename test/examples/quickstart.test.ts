import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { NatsServer, spawnService } from '@rfw/testkit';

describe('job_processing: the README quick-start example', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs a job to success and exits cleanly', async () => {
    const p = spawnService(fileURLToPath(new URL('./quickstart.ts', import.meta.url)), {
      env: { NATS_URL: server.url, LOG_LEVEL: 'warn' },
    });
    const line = await p.waitForLine(/"state":/);
    expect(JSON.parse(line)).toMatchObject({
      state: 'succeeded',
      result: { thumbnail: 'cat.jpg@256' },
    });
    expect((await p.exited).code).toBe(0);
  });
});
