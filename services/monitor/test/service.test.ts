import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@rfw/core';
import { spawnService } from '@rfw/testkit';
import { runMonitorService } from '../src/index.js';
import { useHarness } from './helpers.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('integration: monitor service process', () => {
  const h = useHarness();

  it('logs one ready line with its URL, serves /healthz, and stops cleanly on SIGTERM', async () => {
    const svc = spawnService(MAIN, {
      env: {
        NATS_URL: h.server.url,
        RFW_PREFIX: h.prefix,
        HTTP_PORT: '0',
        NODE_ID: 'monitor-proc',
        ADMIN_TOKEN: 'process-token-0123456789',
        LOG_LEVEL: 'info',
      },
    });
    h.defer(() => svc.kill('SIGKILL'));
    const line = await svc.waitForLine(/"msg":"service ready"/, 60_000);
    const ready = JSON.parse(line) as { http: string; nodeId: string; auth: string };
    expect(ready).toMatchObject({ nodeId: 'monitor-proc', auth: 'bearer' });
    expect(ready.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${ready.http}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', nodeId: 'monitor-proc' });
    expect((await fetch(`${ready.http}/api/nodes`)).status).toBe(401);
    expect(svc.lines.filter((l) => l.includes('"msg":"service ready"'))).toHaveLength(1);
    expect(await svc.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(svc.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  });

  it('refuses unsafe or invalid configuration before connecting', async () => {
    const base = { NATS_URL: h.server.url, RFW_PREFIX: h.prefix };
    const fails = (env: Record<string, string>) =>
      runMonitorService({ env: { ...base, ...env }, handleSignals: false });
    await expect(fails({ HTTP_HOST: '0.0.0.0' })).rejects.toMatchObject({
      name: 'ConfigError',
      field: 'ADMIN_TOKEN',
    });
    await expect(fails({ HTTP_PORT: 'eighty' })).rejects.toMatchObject({ field: 'HTTP_PORT' });
    await expect(fails({ ALERT_WEBHOOK_URL: 'not a url' })).rejects.toMatchObject({
      field: 'notificationEndpoint',
    });
    await expect(fails({ ALERT_QUEUE_SIZE_THRESHOLD: '-3' })).rejects.toBeInstanceOf(ConfigError);
  });
});
