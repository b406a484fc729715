import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { NatsServer } from '@rfw/testkit';
import { JobQueue, decodeJson, encodeJson } from '@rfw/core/internal';
import { Scheduler, type SubmitReply } from '@rfw/service-scheduler';

describe('integration: job submission API over NATS request/reply', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  const schedulers: Scheduler[] = [];
  const prefix = 'api1';

  beforeAll(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    for (const nodeId of ['a', 'b']) {
      const s = await Scheduler.create({
        servers: server.url,
        prefix,
        nodeId,
        leaderElectionTimeoutMs: 2000,
      });
      await s.start();
      schedulers.push(s);
    }
  });
  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.stop()));
    await nc?.close();
    await server?.stop();
  });

  const submit = async (body: unknown): Promise<SubmitReply> => {
    const data = typeof body === 'string' ? new TextEncoder().encode(body) : encodeJson(body);
    const msg = await nc.request(`${prefix}.api.submit`, data, { timeout: 10_000 });
    return decodeJson<SubmitReply>(msg.data);
  };

  it('accepts valid jobs and answers from every instance of the queue group', async () => {
    const q = await JobQueue.connect({ connection: nc, prefix });
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        submit({ type: 'email', payload: { i }, options: { priority: 'high' } }),
      ),
    );
    for (const r of replies) expect(r.ok).toBe(true);
    const first = replies[0] as { ok: true; id: string };
    expect(await q.get(first.id)).toMatchObject({
      type: 'email',
      priority: 'high',
      state: 'pending',
      payload: { i: 0 },
    });
    const delayed = await submit({
      type: 'email',
      payload: {},
      options: { delay: 60_000, id: 'welcome-42' },
    });
    expect(delayed).toEqual({ ok: true, id: 'welcome-42', duplicate: false });
    expect((await q.get('welcome-42'))?.state).toBe('delayed');
    // Again: the existing job, said to be a duplicate.
    expect(
      await submit({ type: 'email', payload: {}, options: { delay: 60_000, id: 'welcome-42' } }),
    ).toEqual({ ok: true, id: 'welcome-42', duplicate: true });
    // Unique by payload fields, from any language.
    const u = {
      type: 'email',
      payload: { to: 'a@b.c', n: 1 },
      options: { unique: { fields: ['to'] } },
    };
    const u1 = (await submit(u)) as { ok: true; id: string; duplicate: boolean };
    expect(u1).toMatchObject({ ok: true, duplicate: false });
    expect(await submit({ ...u, payload: { to: 'a@b.c', n: 2 } })).toEqual({
      ok: true,
      id: u1.id,
      duplicate: true,
    });
    // Both instances served requests (a queue group of two, 30 requests).
    const served = await Promise.all(
      schedulers.map(async (s) =>
        (await s.metrics.submits.get()).values.reduce((n, v) => n + v.value, 0),
      ),
    );
    expect(served.every((n) => n > 0)).toBe(true);
    expect(schedulers.filter((s) => s.isLeader)).toHaveLength(1);
  });

  it('rejects bad submissions with a typed error naming the field, and enqueues nothing', async () => {
    const q = await JobQueue.connect({ connection: nc, prefix });
    const before = (await q.statistics()).total;
    const cases: Array<[unknown, string, string]> = [
      ['{not json', 'JobValidationError', 'body'],
      [[1, 2], 'JobValidationError', 'body'],
      [{ type: 'Bad Type', payload: {} }, 'JobValidationError', 'type'],
      [
        { type: 'email', payload: {}, options: { priority: 'urgent' } },
        'JobValidationError',
        'priority',
      ],
      [{ type: 'email', payload: {}, options: { delay: -5 } }, 'JobValidationError', 'delay'],
      [
        { type: 'email', payload: {}, options: { maxRetries: 1.5 } },
        'JobValidationError',
        'maxRetries',
      ],
      [{ type: 'email', payload: {}, options: { id: 'no spaces' } }, 'JobValidationError', 'id'],
      [
        { type: 'email', payload: {}, options: { colour: 'red' } },
        'JobValidationError',
        'options.colour',
      ],
      [{ type: 'email' }, 'JobValidationError', 'payload'],
      [
        { type: 'email', payload: 'x'.repeat(1024 * 1024 - 100) },
        'PayloadTooLargeError',
        'payload',
      ],
    ];
    for (const [body, name, field] of cases) {
      const r = await submit(body);
      expect(r, JSON.stringify(body).slice(0, 80)).toMatchObject({
        ok: false,
        error: { name, field },
      });
      if (!r.ok) expect(r.error.message.length).toBeGreaterThan(0);
    }
    expect((await q.statistics()).total).toEqual(before);
  });
});
