import { describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { ConfigError } from '@rfw/core';
import { waitFor } from '@rfw/testkit';
import { NonRetryableError, defineWorker } from '@rfw/worker';
import { useHarness, WebhookReceiver, type RunningMonitor } from './helpers.js';

const KEYS = ['queue_size.bulk', 'failed_jobs.fragile', 'worker_down.crashy'] as const;

describe('integration: alerts', () => {
  const h = useHarness();

  function alertRules(url: string) {
    return {
      failedJobThreshold: 1,
      failedJobWindowMs: 4000,
      workerDownThreshold: 2000,
      queueSizeThreshold: 3,
      notificationEndpoint: url,
    };
  }

  /**
   * A worker node that can crash: its NATS connection is cut without the
   * manager's shutdown, so its heartbeat stays in the bucket and goes stale,
   * exactly what a killed process leaves behind.
   */
  async function crashableNode(nodeId: string) {
    const nc = await connect({ servers: h.server.url, name: nodeId });
    const m = await h.manager([defineWorker('noop', async () => 'ok')], {
      workerId: nodeId,
      connection: nc,
    });
    return { manager: m, crash: () => nc.close() };
  }

  /** Wait until every alert record is resolved and its notifications are delivered. */
  async function settled(m: RunningMonitor): Promise<void> {
    await waitFor('every alert resolved and delivered', async () => {
      const all = await m.monitor.listAlerts();
      return (
        KEYS.every((k) => all.some((a) => a.key === k)) &&
        all.every((a) => a.status === 'resolved' && a.outbox.length === 0)
      );
    });
  }

  /**
   * Make all three alerts fire (a queue over its size, jobs dying, a worker
   * killed), then clear each cause, and wait for the receiver to hear both.
   */
  async function fireAndResolveAll(receiver: WebhookReceiver, leader: () => RunningMonitor) {
    const q = await h.queue();
    const crashy = await crashableNode('crashy');
    await waitFor('the worker heartbeat seen', () =>
      leader()
        .monitor.snapshot()
        ?.nodes.some((n) => n.nodeId === 'crashy' && n.status === 'up'),
    );
    await h.manager([
      defineWorker('fragile', async () => {
        throw new NonRetryableError('broken on purpose');
      }),
    ]);
    for (let i = 0; i < 4; i++) await q.schedule('bulk', { i });
    for (let i = 0; i < 2; i++) await q.schedule('fragile', { i });
    await crashy.crash();

    await waitFor(
      'all three alerts fired',
      () => KEYS.every((k) => receiver.of(k, 'firing').length > 0),
      { timeoutMs: 30_000 },
    );

    // Clear the causes: drain the queue, bring the node back; the failures age out.
    await h.manager([defineWorker('bulk', async () => 'done')]);
    await h.manager([defineWorker('noop', async () => 'ok')], { workerId: 'crashy' });
    await waitFor(
      'all three alerts resolved',
      () => KEYS.every((k) => receiver.of(k, 'resolved').length > 0),
      { timeoutMs: 30_000 },
    );
    await settled(leader());
    for (const k of KEYS) {
      expect(receiver.of(k, 'firing'), `${k} firing`).toHaveLength(1);
      expect(receiver.of(k, 'resolved'), `${k} resolved`).toHaveLength(1);
    }
    const fired = Object.fromEntries(KEYS.map((k) => [k, receiver.of(k, 'firing')[0]]));
    expect(fired['queue_size.bulk']).toMatchObject({
      version: 1,
      kind: 'queue_size',
      severity: 'warning',
      labels: { type: 'bulk' },
      value: 4,
      threshold: 3,
      episode: 1,
      installation: h.prefix,
      id: `${h.prefix}.queue_size.bulk.1.firing`,
    });
    expect(fired['failed_jobs.fragile']).toMatchObject({ value: 2, threshold: 1 });
    expect(fired['worker_down.crashy']).toMatchObject({
      severity: 'critical',
      labels: { node: 'crashy' },
    });
    expect(receiver.of('worker_down.crashy', 'resolved')[0]?.summary).toMatch(/heartbeats again/);
    for (const a of receiver.attempts) expect(a.headers['idempotency-key']).toBe(a.payload.id);
  }

  it('fires each alert once and resolves it once (one monitor)', async () => {
    const receiver = await WebhookReceiver.start();
    h.defer(() => receiver.close());
    const m = await h.monitor({ alerts: alertRules(receiver.url) });
    await fireAndResolveAll(receiver, () => m);
    expect(receiver.attempts).toHaveLength(6);
    expect(new Set(receiver.accepted.map((p) => p.monitor))).toEqual(new Set([m.monitor.nodeId]));
  });

  it('sends from the leader only with two monitors, and retries while the receiver fails', async () => {
    const receiver = await WebhookReceiver.start({ failFirst: 3 });
    h.defer(() => receiver.close());
    const a = await h.monitor({ elect: true, alerts: alertRules(receiver.url) });
    const b = await h.monitor({ elect: true, alerts: alertRules(receiver.url) });
    const leader = await waitFor('a monitor leader', () =>
      a.monitor.isLeader ? a : b.monitor.isLeader ? b : undefined,
    );
    const follower = leader === a ? b : a;
    await fireAndResolveAll(receiver, () => leader);
    expect(leader.monitor.isLeader).toBe(true);
    expect(new Set(receiver.attempts.map((x) => x.payload.monitor))).toEqual(
      new Set([leader.monitor.nodeId]),
    );
    // The three refused requests were retried with the same idempotency keys.
    const refused = receiver.attempts.filter((x) => x.status !== 200);
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(receiver.accepted.map((p) => p.id)).toContain(r.payload.id);
    expect(receiver.attempts).toHaveLength(9);
    // The follower sees the same alert state, read from the control bucket.
    const seen = await follower.monitor.listAlerts();
    expect(seen.map((x) => x.key).sort()).toEqual([...KEYS].sort());
  });

  it('a new leader does not resend a firing alert, and resolves it', async () => {
    const receiver = await WebhookReceiver.start();
    h.defer(() => receiver.close());
    const rules = { queueSizeThreshold: 2, notificationEndpoint: receiver.url };
    const first = await h.monitor({ elect: true, alerts: rules });
    await waitFor('the first monitor leads', () => first.monitor.isLeader);
    const second = await h.monitor({ elect: true, alerts: rules });
    const q = await h.queue();
    for (let i = 0; i < 3; i++) await q.schedule('bulk', { i });
    await waitFor('the alert fired', () => receiver.of('queue_size.bulk', 'firing').length === 1);
    await waitFor('the firing is recorded as delivered', async () =>
      (await first.monitor.listAlerts()).every((a) => a.outbox.length === 0),
    );
    await first.stop();
    await waitFor('the second monitor leads', () => second.monitor.isLeader);
    await h.manager([defineWorker('bulk', async () => 'done')]);
    await waitFor(
      'the alert resolved',
      () => receiver.of('queue_size.bulk', 'resolved').length === 1,
    );
    await waitFor('the resolution is recorded as delivered', async () =>
      (await second.monitor.listAlerts()).every((a) => a.outbox.length === 0),
    );
    expect(receiver.of('queue_size.bulk', 'firing')).toHaveLength(1);
    expect(receiver.of('queue_size.bulk', 'firing')[0]?.monitor).toBe(first.monitor.nodeId);
    expect(receiver.of('queue_size.bulk', 'resolved')[0]?.monitor).toBe(second.monitor.nodeId);
    expect(receiver.attempts).toHaveLength(2);
  });

  it('rejects bad alert settings with the field named', async () => {
    const m = await h.monitor();
    expect(() => m.monitor.configureAlerts({ notificationEndpoint: 'ftp://x' })).toThrow(
      ConfigError,
    );
    expect(() => m.monitor.configureAlerts({ queueSizeThreshold: -1 })).toThrowError(
      expect.objectContaining({ field: 'queueSizeThreshold' }),
    );
    expect(() => m.monitor.configureAlerts({ failedJobWindowMs: 1.5 })).toThrowError(
      expect.objectContaining({ field: 'failedJobWindowMs' }),
    );
  });
});
