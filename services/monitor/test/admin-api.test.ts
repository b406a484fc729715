import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { ConfigError, encodeJson } from '@rfw/core/internal';
import { waitFor } from '@rfw/testkit';
import { NonRetryableError, defineWorker } from '@rfw/worker';
import { startAdminApi, type AdminApi } from '../src/index.js';
import { apiClient, useHarness, type RunningMonitor } from './helpers.js';

const TOKEN = 'test-token-0123456789abcdef';

describe('integration: admin API', () => {
  const h = useHarness();

  async function start(m: RunningMonitor, token: string | null = TOKEN): Promise<AdminApi> {
    const api = await startAdminApi({
      monitor: m.monitor,
      port: 0,
      token: token ?? undefined,
      searchTimeoutMs: 2000,
    });
    h.defer(() => api.close());
    return api;
  }

  const client = (api: AdminApi, token = TOKEN) => apiClient(api.url, token);

  it('requires the bearer token on /api, but not on health, metrics and the dashboard', async () => {
    const m = await h.monitor();
    const api = await start(m);
    const anon = client(api, '');
    const wrong = client(api, 'not-the-token-at-all');
    for (const path of ['/api/jobs', '/api/statistics', '/api/dlq', '/api/nodes', '/api/events']) {
      const r = await anon(path);
      expect(r.status, path).toBe(401);
      expect(r.body).toMatchObject({ error: 'unauthorized' });
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await wrong(path)).status, path).toBe(401);
    }
    expect((await anon('/api/jobs', { headers: { authorization: `Basic ${TOKEN}` } })).status).toBe(
      401,
    );
    expect((await anon('/healthz')).status).toBe(200);
    expect((await anon('/readyz')).status).toBe(200);
    const metrics = await fetch(`${api.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('rfw_monitor_is_leader');
    const page = await fetch(`${api.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>rustfs-workers monitor</title>');
    expect((await client(api)('/api/jobs')).status).toBe(200);
  });

  it('refuses to listen beyond loopback without a token, and rejects short tokens', async () => {
    const m = await h.monitor();
    await expect(startAdminApi({ monitor: m.monitor, host: '0.0.0.0', port: 0 })).rejects.toThrow(
      ConfigError,
    );
    await expect(
      startAdminApi({ monitor: m.monitor, host: '127.0.0.1', port: 0, token: 'short' }),
    ).rejects.toMatchObject({ field: 'ADMIN_TOKEN' });
    // Loopback without a token is allowed.
    const api = await start(m, null);
    expect((await client(api, '')('/api/nodes')).status).toBe(200);
  });

  it('answers a body over the limit with 413 and keeps reading it, so the client is not reset', async () => {
    const m = await h.monitor();
    const api = await start(m);
    const { hostname, port } = new URL(api.url);
    const size = 3 * 1024 * 1024;
    const sock = connect(Number(port), hostname);
    const errors: Error[] = [];
    sock.on('error', (e) => errors.push(e));
    let received = '';
    sock.on('data', (d: Buffer) => (received += d.toString('latin1')));
    await once(sock, 'connect');
    sock.write(
      'POST /api/queues/email/pause HTTP/1.1\r\nHost: test\r\n' +
        `Authorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${size}\r\n\r\n`,
    );
    sock.write(Buffer.alloc(64 * 1024, 0x20));
    // The answer comes while the client is still sending the rest of the body.
    await waitFor('the 413 answer', () => /"error"/.test(received), { timeoutMs: 10_000 });
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).not.toMatch(/^connection: close/im);
    for (let sent = 64 * 1024; sent < size; sent += 256 * 1024) {
      if (!sock.write(Buffer.alloc(Math.min(256 * 1024, size - sent), 0x20))) {
        await once(sock, 'drain');
      }
    }
    // The same connection still serves the next request.
    received = '';
    sock.write('GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n');
    await waitFor('the next answer on the same connection', () => /"status"/.test(received), {
      timeoutMs: 10_000,
    });
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    sock.end();
    expect(errors).toEqual([]);
  });

  it('answers bad input with 400 naming the field', async () => {
    const m = await h.monitor();
    const call = client(await start(m));
    const cases: Array<[string, { method?: string; body?: unknown }, string]> = [
      ['/api/jobs?limit=abc', {}, 'limit'],
      ['/api/jobs?limit=5000', {}, 'limit'],
      ['/api/jobs?status=exploded', {}, 'status'],
      ['/api/jobs?priority=urgent', {}, 'priority'],
      ['/api/jobs?type=Bad%20Type', {}, 'type'],
      ['/api/jobs?cursor=xyz', {}, 'cursor'],
      ['/api/jobs?sort=id', {}, 'sort'],
      ['/api/jobs/bad%20id', {}, 'id'],
      ['/api/jobs', { method: 'POST', body: { payload: {} } }, 'type'],
      ['/api/jobs', { method: 'POST', body: { type: 'echo', priority: 'urgent' } }, 'priority'],
      ['/api/jobs', { method: 'POST', body: { type: 'echo', maxRetries: '3' } }, 'maxRetries'],
      ['/api/jobs', { method: 'POST', body: { type: 'echo', delay_ms: 10 } }, 'delay_ms'],
      ['/api/jobs', { method: 'POST', body: { type: 'echo', runAt: 'tomorrow' } }, 'runAt'],
      ['/api/jobs', { method: 'POST', body: { type: 'echo', delayMs: 10, runAt: 5 } }, 'delayMs'],
      ['/api/dlq?limit=0', {}, 'limit'],
      ['/api/dlq/purge', { method: 'POST', body: {} }, 'type'],
      ['/api/dlq/retry', { method: 'POST', body: {} }, 'id'],
      ['/api/queues/Not_A_Type!/pause', { method: 'POST' }, 'type'],
    ];
    for (const [path, init, field] of cases) {
      const r = await call(path, init);
      expect(r.status, `${path} ${JSON.stringify(init.body)}`).toBe(400);
      expect(r.body, path).toMatchObject({ error: 'bad_request', field });
      expect(typeof r.body.message).toBe('string');
    }
    const bad = await fetch(`${(await start(m)).url}/api/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"type": ',
    });
    expect(bad.status).toBe(400);
    // Nothing was scheduled by any of the bad requests.
    expect((await m.monitor.queue.statistics()).total.queueSize).toBe(0);
  });

  it('schedules, reads, lists, cancels and retries jobs, with 404 and 409 where due', async () => {
    const m = await h.monitor();
    const call = client(await start(m));
    await h.manager([defineWorker('echo', async (p: { n: number }) => ({ doubled: p.n * 2 }))]);
    const created = await call('/api/jobs', {
      method: 'POST',
      body: { type: 'echo', payload: { n: 21 }, priority: 'high', id: 'api-job-1' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/jobs/api-job-1');
    expect(created.body).toMatchObject({
      id: 'api-job-1',
      job: { type: 'echo', priority: 'high' },
    });
    const done = await waitFor('the job succeeded', async () => {
      const r = await call('/api/jobs/api-job-1');
      return r.body.state === 'succeeded' ? r.body : undefined;
    });
    expect(done).toMatchObject({ result: { doubled: 42 }, attempts: 1 });
    expect((done.history as Array<{ state: string }>).map((t) => t.state)).toEqual([
      'pending',
      'succeeded',
    ]);

    const delayed = await call('/api/jobs', {
      method: 'POST',
      body: {
        type: 'echo',
        payload: { n: 1 },
        runAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    expect(delayed.body).toMatchObject({ job: { state: 'delayed' } });
    const list = await call('/api/jobs?status=delayed&type=echo&limit=10');
    expect(list.status).toBe(200);
    expect((list.body.jobs as Array<{ id: string }>).map((j) => j.id)).toEqual([delayed.body.id]);
    const page1 = await call('/api/jobs?type=echo&limit=1');
    expect((page1.body.jobs as unknown[]).length).toBe(1);
    expect(typeof page1.body.nextCursor).toBe('string');

    const cancelled = await call(`/api/jobs/${String(delayed.body.id)}/cancel`, { method: 'POST' });
    expect(cancelled).toMatchObject({ status: 200, body: { state: 'cancelled' } });
    expect((await call('/api/jobs/api-job-1/cancel', { method: 'POST' })).status).toBe(409);
    expect((await call('/api/jobs/api-job-1/retry', { method: 'POST' })).body).toMatchObject({
      error: 'invalid_state',
    });
    expect((await call('/api/jobs/no-such-job')).status).toBe(404);
    expect((await call('/api/jobs/no-such-job/retry', { method: 'POST' })).status).toBe(404);
    const retried = await call(`/api/jobs/${String(delayed.body.id)}/retry`, { method: 'POST' });
    expect(retried).toMatchObject({ status: 200, body: { state: 'pending' } });
  });

  it('manages the DLQ and pauses queues', async () => {
    const m = await h.monitor();
    const call = client(await start(m));
    let broken = true;
    await h.manager([
      defineWorker('fragile', async () => {
        if (broken) throw new NonRetryableError('broken on purpose');
        return 'fixed';
      }),
    ]);
    const q = await h.queue();
    const ids = [await q.schedule('fragile', { i: 1 }), await q.schedule('fragile', { i: 2 })];
    await waitFor('two dead letters', async () => {
      const r = await call('/api/dlq?type=fragile');
      return (r.body.deadLetters as unknown[]).length === 2;
    });
    const dlq = await call('/api/dlq');
    expect(dlq.body.deadLetters).toEqual(
      ids.map((id) =>
        expect.objectContaining({ id, type: 'fragile', lastError: 'broken on purpose' }),
      ),
    );
    broken = false;
    expect(await call('/api/dlq/retry', { method: 'POST', body: { id: ids[0] } })).toMatchObject({
      status: 200,
      body: { retried: [ids[0]] },
    });
    await waitFor(
      'the retried job succeeded',
      async () => (await q.get(ids[0] as string))?.state === 'succeeded',
    );
    expect(
      await call('/api/dlq/purge', { method: 'POST', body: { type: 'fragile' } }),
    ).toMatchObject({
      status: 200,
      body: { purged: 1 },
    });
    expect((await call('/api/dlq')).body.deadLetters).toEqual([]);

    expect(await call('/api/queues/fragile/pause', { method: 'POST' })).toMatchObject({
      status: 200,
      body: { type: 'fragile', paused: true },
    });
    const paused = await call('/api/queues');
    expect(paused.body.paused).toEqual(['fragile']);
    expect(await q.pausedTypes()).toEqual(['fragile']);
    await call('/api/queues/fragile/resume', { method: 'POST' });
    expect(await q.pausedTypes()).toEqual([]);
  });

  it('forwards search to the indexing worker (503 when none), and reads storage metrics', async () => {
    const m = await h.monitor();
    const call = client(await start(m));
    const noIndexer = await call('/api/search?q=photos');
    expect(noIndexer).toMatchObject({ status: 503, body: { error: 'search_unavailable' } });

    const sub = m.nc.subscribe(`${h.prefix}.api.search`, {
      callback: (_err, msg) => {
        const query = msg.json<Record<string, unknown>>();
        msg.respond(encodeJson({ hits: [{ bucket: 'b', key: 'photos/1.jpg' }], query }));
      },
    });
    h.defer(async () => sub.unsubscribe());
    const found = await call('/api/search?q=photos&bucket=b&limit=5');
    expect(found).toMatchObject({
      status: 200,
      body: { hits: [{ key: 'photos/1.jpg' }], query: { q: 'photos', bucket: 'b', limit: 5 } },
    });
    const posted = await call('/api/search', {
      method: 'POST',
      body: { q: 'x', meta: { a: '1' } },
    });
    expect(posted.body).toMatchObject({ query: { q: 'x', meta: { a: '1' } } });

    expect((await call('/api/storage')).body).toEqual({
      bucket: `${h.prefix}_storage_metrics`,
      exists: false,
      entries: [],
    });
    const kv = await new Kvm(m.nc).create(`${h.prefix}_storage_metrics`);
    await kv.put('node-1', encodeJson({ capacityBytes: 1000, usedBytes: 250 }));
    const storage = await call('/api/storage');
    expect(storage.body).toMatchObject({
      exists: true,
      entries: [{ key: 'node-1', value: { capacityBytes: 1000, usedBytes: 250 } }],
    });
  });

  it('serves an OpenAPI 3 document describing every route', async () => {
    const m = await h.monitor();
    const api = await start(m);
    const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of [
      '/api/jobs',
      '/api/jobs/{id}',
      '/api/jobs/{id}/cancel',
      '/api/jobs/{id}/retry',
      '/api/dlq',
      '/api/dlq/retry',
      '/api/dlq/purge',
      '/api/queues/{type}/pause',
      '/api/nodes',
      '/api/leaders',
      '/api/statistics',
      '/api/search',
      '/api/storage',
      '/api/sweeps',
      '/api/events',
      '/healthz',
      '/metrics',
    ])
      expect(Object.keys(doc.paths), p).toContain(p);
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Job', 'JobPage', 'DeadLetter', 'Error', 'Node', 'Alert']),
    );
  });
});
