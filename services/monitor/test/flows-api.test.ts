import { describe, expect, it } from 'vitest';
import { waitFor } from '@rfw/testkit';
import { NonRetryableError, defineWorker } from '@rfw/worker';
import { startAdminApi, type AdminApi } from '../src/index.js';
import { apiClient, useHarness, type RunningMonitor } from './helpers.js';

const TOKEN = 'flows-token-0123456789abcdef';

describe('integration: admin API: flows', () => {
  const h = useHarness();

  async function start(m: RunningMonitor): Promise<AdminApi> {
    const api = await startAdminApi({ monitor: m.monitor, port: 0, token: TOKEN });
    h.defer(() => api.close());
    return api;
  }
  const client = (api: AdminApi) => apiClient(api.url, TOKEN);

  it('enqueues a flow, runs it on a real worker, and pages its children', async () => {
    const m = await h.monitor();
    const call = client(await start(m));
    await h.manager([
      defineWorker('leaf', async (p: { n: number }) => {
        if (p.n < 0) throw new NonRetryableError(`bad n ${p.n}`);
        return { n: p.n };
      }),
      defineWorker('sum', async (_p: unknown, ctx) => {
        const c = await ctx.children();
        return { total: c.succeeded.reduce((s, e) => s + (e.result as { n: number }).n, 0) };
      }),
    ]);
    const children = [1, 2, -3, 4, -5].map((n) => ({
      type: 'leaf',
      payload: { n },
      onFailure: n < 0 ? 'continue' : 'fail',
      options: { maxRetries: 0, timeoutMs: 10_000 },
    }));
    const made = await call('/api/flows', {
      method: 'POST',
      body: { type: 'sum', payload: {}, options: { id: 'flow-api-1' }, children },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.headers.get('location')).toBe('/api/jobs/flow-api-1');
    expect(made.body).toEqual({
      id: 'flow-api-1',
      type: 'sum',
      children: 5,
      jobs: 6,
      duplicate: false,
    });

    const done = await waitFor('the parent succeeded', async () => {
      const r = await call('/api/jobs/flow-api-1');
      return r.body.state === 'succeeded' ? r.body : undefined;
    });
    expect(done).toMatchObject({
      result: { total: 7 },
      flow: { children: 5, succeeded: 3, dead: 2, cancelled: 0 },
    });
    expect((done.history as Array<{ state: string }>)[0]?.state).toBe('waiting');
    const child = await call('/api/jobs/flow-api-1-2');
    expect(child.body).toMatchObject({
      state: 'dead',
      parent: { id: 'flow-api-1', onFailure: 'continue', siblings: 5 },
    });

    const all = await call('/api/jobs/flow-api-1/children');
    expect(all.status).toBe(200);
    expect(all.body.flow).toEqual({ children: 5, succeeded: 3, dead: 2, cancelled: 0, pending: 0 });
    expect(all.body.total).toBe(5);
    expect((all.body.endings as unknown[]).length).toBe(5);
    expect(all.body.nextCursor).toBeUndefined();

    const failed = await call('/api/jobs/flow-api-1/children?state=failed');
    expect(
      (failed.body.endings as Array<{ id: string; error: string }>)
        .map((e) => [e.id, e.error])
        .sort(),
    ).toEqual([
      ['flow-api-1-2', 'bad n -3'],
      ['flow-api-1-4', 'bad n -5'],
    ]);
    const p1 = await call('/api/jobs/flow-api-1/children?state=succeeded&limit=2');
    expect((p1.body.endings as unknown[]).length).toBe(2);
    expect(p1.body).toMatchObject({ total: 3, nextCursor: '2' });
    const p2 = await call('/api/jobs/flow-api-1/children?state=succeeded&limit=2&cursor=2');
    expect((p2.body.endings as unknown[]).length).toBe(1);
    expect(p2.body.nextCursor).toBeUndefined();
    const ids = [
      ...(p1.body.endings as Array<{ id: string }>),
      ...(p2.body.endings as Array<{ id: string }>),
    ]
      .map((e) => e.id)
      .sort();
    expect(ids).toEqual(['flow-api-1-0', 'flow-api-1-1', 'flow-api-1-3']);

    // The same root id again enqueues nothing.
    const again = await call('/api/flows', {
      method: 'POST',
      body: { type: 'sum', options: { id: 'flow-api-1' }, children },
    });
    expect(again).toMatchObject({ status: 201, body: { id: 'flow-api-1', duplicate: true } });

    // 404 for an unknown job, 409 for a job that is not a flow's parent.
    expect(await call('/api/jobs/no-such-flow/children')).toMatchObject({
      status: 404,
      body: { error: 'not_found' },
    });
    expect(await call('/api/jobs/flow-api-1-0/children')).toMatchObject({
      status: 409,
      body: { error: 'invalid_state' },
    });
  });

  it('cancels a waiting flow with its children', async () => {
    const m = await h.monitor();
    const call = client(await start(m));
    const made = await call('/api/flows', {
      method: 'POST',
      body: {
        type: 'nobody-runs-this',
        children: [{ type: 'nobody-either', payload: { i: 0 } }, { type: 'nobody-either' }],
      },
    });
    expect(made.status).toBe(201);
    const id = made.body.id as string;
    expect((await call(`/api/jobs/${id}`)).body).toMatchObject({
      state: 'waiting',
      flow: { children: 2 },
    });
    const waiting = await call(`/api/jobs/${id}/children`);
    expect(waiting.body).toMatchObject({
      flow: { children: 2, succeeded: 0, dead: 0, cancelled: 0, pending: 2 },
      endings: [],
      total: 0,
    });
    expect((await call(`/api/jobs/${id}/cancel`, { method: 'POST' })).status).toBe(200);
    const page = await waitFor('both children cancelled', async () => {
      const r = await call(`/api/jobs/${id}/children?state=cancelled`);
      return r.body.total === 2 ? r.body : undefined;
    });
    expect(page.flow).toMatchObject({ cancelled: 2, pending: 0 });
    expect((await call(`/api/jobs/${id}`)).body.state).toBe('cancelled');
  });

  it('answers bad flows and queries with a 400 naming the field', async () => {
    const m = await h.monitor();
    const call = client(await start(m));
    const leaf = { type: 'leaf', payload: {} };
    const cases: Array<[unknown, string]> = [
      [{}, 'type'],
      [{ type: 'bad type!' }, 'type'],
      [{ type: 'p', children: 'x' }, 'children'],
      [{ type: 'p', children: [leaf, 5] }, 'children[1]'],
      [{ type: 'p', children: [leaf, { payload: {} }] }, 'children[1].type'],
      [
        { type: 'p', children: [leaf, { ...leaf, options: { priority: 'urgent' } }] },
        'children[1].options.priority',
      ],
      [
        { type: 'p', children: [{ ...leaf, options: { delayMs: -1 } }] },
        'children[0].options.delayMs',
      ],
      [
        { type: 'p', children: [{ ...leaf, options: { timeoutMs: 0 } }] },
        'children[0].options.timeoutMs',
      ],
      [
        { type: 'p', children: [{ ...leaf, options: { runAt: 'soon' } }] },
        'children[0].options.runAt',
      ],
      [
        { type: 'p', children: [{ ...leaf, options: { colour: 'red' } }] },
        'children[0].options.colour',
      ],
      [{ type: 'p', children: [{ ...leaf, options: { id: 'x' } }] }, 'children[0].options.id'],
      [{ type: 'p', children: [{ ...leaf, onFailure: 'explode' }] }, 'children[0].onFailure'],
      [{ type: 'p', children: [{ ...leaf, extra: 1 }] }, 'children[0].extra'],
      [{ type: 'p', onFailure: 'continue', children: [leaf] }, 'onFailure'],
      [{ type: 'p', options: { delayMs: 1000 }, children: [leaf] }, 'options.delayMs'],
      [{ type: 'p', options: 'fast', children: [leaf] }, 'options'],
      [
        {
          type: 'p',
          children: [{ ...leaf, children: [{ type: 'x', options: { maxRetries: -1 } }] }],
        },
        'children[0].children[0].options.maxRetries',
      ],
    ];
    for (const [body, field] of cases) {
      const r = await call('/api/flows', { method: 'POST', body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body, JSON.stringify(body)).toMatchObject({ error: 'bad_request', field });
      expect(typeof r.body.message).toBe('string');
    }
    expect((await call('/api/flows', { method: 'POST', raw: '{"type": ' })).status).toBe(400);
    expect((await call('/api/flows', { method: 'POST', raw: '[]' })).body).toMatchObject({
      error: 'bad_request',
    });
    const big = await call('/api/flows', {
      method: 'POST',
      raw: JSON.stringify({ type: 'p', payload: 'x'.repeat(17 * 1024 * 1024) }),
    });
    expect(big.status).toBe(413);
    for (const [q, field] of [
      ['state=running', 'state'],
      ['limit=0', 'limit'],
      ['cursor=abc', 'cursor'],
      ['colour=red', 'colour'],
    ] as const) {
      const r = await call(`/api/jobs/some-job/children?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body, q).toMatchObject({ error: 'bad_request', field });
    }
    // Nothing was enqueued by any of the bad requests.
    expect((await m.monitor.queue.statistics()).total.queueSize).toBe(0);

    const doc = await fetch(`${(await start(m)).url}/openapi.json`);
    const spec = (await doc.json()) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    expect(spec.paths['/api/flows']).toHaveProperty('post');
    expect(spec.paths['/api/jobs/{id}/children']).toHaveProperty('get');
    const job = spec.components.schemas.Job as { properties: Record<string, { enum?: string[] }> };
    expect(job.properties).toHaveProperty('flow');
    expect(job.properties).toHaveProperty('parent');
    expect(job.properties.state?.enum).toContain('waiting');
  });
});
