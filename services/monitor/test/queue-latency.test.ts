import { describe, expect, it } from 'vitest';
import { ConfigError } from '@rfw/core';
import { waitFor } from '@rfw/testkit';
import { defineWorker } from '@rfw/worker';
import { buildOverview, parseMonitorEnv } from '../src/index.js';
import type { JobMonitor } from '../src/index.js';
import { useHarness, WebhookReceiver } from './helpers.js';

/** The oldest-waiting gauge of one queue, seconds, as `/metrics` serves it. */
async function gauge(monitor: JobMonitor, type: string, priority: string): Promise<number> {
  const text = await monitor.metrics.registry.metrics();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('rfw_cluster_queue_oldest_waiting_seconds{') &&
        l.includes(`type="${type}"`) &&
        l.includes(`priority="${priority}"`),
    );
  return line === undefined ? Number.NaN : Number(line.split(' ').pop());
}

function latencyOf(monitor: JobMonitor, type: string, priority: string) {
  return monitor.snapshot()?.latency.find((l) => l.type === type && l.priority === priority);
}

describe('integration: queue latency (monitor)', () => {
  const h = useHarness();

  it('reads the age of the oldest waiting job, with and without a consumer, and 0 once it ran', async () => {
    const m = await h.monitor();
    const q = await h.queue();
    // `held` has a consumer (its worker is paused); `fresh` has none yet (no worker ever ran it).
    await h.manager([defineWorker('held', async () => 'ok')]);
    await q.pause('held');
    await waitFor('the pause seen', () => m.monitor.snapshot()?.paused.includes('held'));
    const before = Date.now();
    const held = await q.schedule('held', {}, { priority: 'high' });
    await q.schedule('fresh', {}, { priority: 'low' });
    await q.schedule('fresh', {}, { priority: 'low' });
    const after = Date.now();

    for (const [type, priority, waiting] of [
      ['held', 'high', 1],
      ['fresh', 'low', 2],
    ] as const) {
      const l = await waitFor(`${type} seen waiting`, () => {
        const x = latencyOf(m.monitor, type, priority);
        return x?.oldestAt !== undefined ? x : undefined;
      });
      expect(l.waiting).toBe(waiting);
      // The store time of the first job scheduled (server clock, same machine).
      expect(l.oldestAt).toBeGreaterThanOrEqual(before - 50);
      expect(l.oldestAt).toBeLessThanOrEqual(after + 50);
      // The gauge is the age now, so it grows while the job waits.
      const first = await gauge(m.monitor, type, priority);
      expect(first).toBeGreaterThan(0);
      await waitFor(
        `${type} gauge grows`,
        async () => (await gauge(m.monitor, type, priority)) > first,
      );
      const row = buildOverview(m.monitor).queues.find(
        (r) => r.type === type && r.priority === priority,
      );
      expect(row?.oldestWaitingMs).toBeGreaterThan(0);
    }
    // Other queues of a consumer with nothing waiting read 0.
    expect(await gauge(m.monitor, 'held', 'normal')).toBe(0);

    await q.resume('held');
    await h.manager([
      defineWorker('fresh', async () => {
        await new Promise((r) => setTimeout(r, 30));
      }),
    ]);
    await waitFor('both queues drained', async () => {
      await m.monitor.refresh();
      return (
        (await gauge(m.monitor, 'held', 'high')) === 0 &&
        (await gauge(m.monitor, 'fresh', 'low')) === 0
      );
    });
    expect((await q.get(held))?.state).toBe('succeeded');
    // The run times of the attempts, from their events, per type and priority.
    const row = await waitFor('run times in the overview', () => {
      const r = buildOverview(m.monitor).queues.find(
        (x) => x.type === 'fresh' && x.priority === 'low',
      );
      return r && r.runTime.count === 2 ? r : undefined;
    });
    expect(row.oldestWaitingMs).toBe(0);
    expect(row.runTime.p50).toBeGreaterThanOrEqual(25);
    expect(row.runTime.p99).toBeGreaterThanOrEqual(row.runTime.p50);
  });

  it('fires queue_latency when a job waits past the threshold and resolves once it runs', async () => {
    const receiver = await WebhookReceiver.start();
    h.defer(() => receiver.close());
    const m = await h.monitor({
      alerts: { queueLatencyThresholdMs: 700, notificationEndpoint: receiver.url },
    });
    const q = await h.queue();
    const key = 'queue_latency.slow.critical';
    await q.schedule('slow', {}, { priority: 'critical' });
    const fired = await waitFor('the alert fired', () => receiver.of(key, 'firing')[0], {
      timeoutMs: 30_000,
    });
    expect(fired).toMatchObject({
      kind: 'queue_latency',
      severity: 'warning',
      labels: { type: 'slow', priority: 'critical' },
      threshold: 700,
      episode: 1,
      id: `${h.prefix}.${key}.1.firing`,
    });
    expect(fired.value).toBeGreaterThan(700);
    expect(fired.summary).toMatch(/oldest critical slow job has waited/);
    expect(
      (await m.monitor.metrics.registry.metrics())
        .split('\n')
        .find((l) => l.startsWith('rfw_alerts_firing{') && l.includes('kind="queue_latency"')),
    ).toMatch(/ 1$/);

    await h.manager([defineWorker('slow', async () => 'done')]);
    const resolved = await waitFor('the alert resolved', () => receiver.of(key, 'resolved')[0], {
      timeoutMs: 30_000,
    });
    expect(resolved.summary).toMatch(/no critical slow job is waiting/);
    await waitFor('delivered', async () =>
      (await m.monitor.listAlerts()).every((a) => a.outbox.length === 0),
    );
    expect(receiver.of(key, 'firing')).toHaveLength(1);
    expect(receiver.of(key, 'resolved')).toHaveLength(1);
  });

  it('rejects a bad queue latency threshold with the field named', async () => {
    const m = await h.monitor();
    expect(() => m.monitor.configureAlerts({ queueLatencyThresholdMs: 0 })).toThrowError(
      expect.objectContaining({ field: 'queueLatencyThresholdMs' }),
    );
    expect(() => m.monitor.configureAlerts({ queueLatencyThresholdMs: 2.5 })).toThrow(ConfigError);
    expect(() => parseMonitorEnv({ ALERT_QUEUE_LATENCY_MS: 'soon' })).toThrowError(
      expect.objectContaining({ field: 'ALERT_QUEUE_LATENCY_MS' }),
    );
    expect(parseMonitorEnv({ ALERT_QUEUE_LATENCY_MS: '30000' }).ALERT_QUEUE_LATENCY_MS).toBe(
      30_000,
    );
    expect(parseMonitorEnv({ ALERT_QUEUE_LATENCY_MS: '' }).ALERT_QUEUE_LATENCY_MS).toBeUndefined();
  });
});
