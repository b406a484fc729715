import { describe, expect, it } from 'vitest';
import { startAdminApi, type AdminApi } from '../src/index.js';
import { apiClient, useHarness, type RunningMonitor } from './helpers.js';

const TOKEN = 'schedules-token-0123456789abcdef';

interface Stored {
  v: number;
  schedule: Record<string, unknown> & { name: string };
  paused: boolean;
  createdAt: number;
  updatedAt: number;
  by?: string;
  nextFireAt?: number | null;
  nextFireTimes?: number[];
}

describe('integration: admin API: periodic schedules', () => {
  const h = useHarness();

  async function start(m: RunningMonitor): Promise<AdminApi> {
    const api = await startAdminApi({ monitor: m.monitor, port: 0, token: TOKEN });
    h.defer(() => api.close());
    return api;
  }

  const client = (api: AdminApi, token = TOKEN) => apiClient(api.url, token);

  it('adds, lists, reads, changes, pauses, resumes and removes schedules', async () => {
    const m = await h.monitor({ nodeId: 'mon-sched' });
    const call = client(await start(m));
    const by = 'monitor:mon-sched';

    expect(await call('/api/schedules')).toMatchObject({ status: 200, body: { schedules: [] } });

    const before = Date.now();
    const cron = await call('/api/schedules', {
      method: 'POST',
      body: {
        name: 'nightly-report',
        cron: '30 2 * * *',
        timezone: 'Europe/Berlin',
        type: 'report',
        payload: { kind: 'daily' },
        priority: 'high',
      },
    });
    expect(cron.status).toBe(201);
    expect(cron.headers.get('location')).toBe('/api/schedules/nightly-report');
    const added = cron.body as unknown as Stored;
    expect(added).toMatchObject({
      v: 1,
      paused: false,
      by,
      schedule: {
        name: 'nightly-report',
        cron: '30 2 * * *',
        timezone: 'Europe/Berlin',
        type: 'report',
        payload: { kind: 'daily' },
        priority: 'high',
        misfire: 'latest',
        misfireGraceMs: 300_000,
      },
    });
    expect(added.createdAt).toBeGreaterThanOrEqual(before);
    // Stored for real: the queue client reads it back.
    expect((await m.monitor.queue.schedules.get('nightly-report'))?.schedule.cron).toBe(
      '30 2 * * *',
    );

    const every = await call('/api/schedules', {
      method: 'POST',
      body: { name: 'heartbeat', everyMs: 60_000, type: 'ping', paused: true },
    });
    expect(every).toMatchObject({ status: 201, body: { paused: true, nextFireAt: null } });

    // The list, by name, each with its next fire time (null while paused).
    const list = await call('/api/schedules');
    expect(list.status).toBe(200);
    const all = list.body.schedules as Stored[];
    expect(all.map((s) => s.schedule.name)).toEqual(['heartbeat', 'nightly-report']);
    expect(all[0]?.nextFireAt).toBeNull();
    const nightly = all[1] as Stored;
    expect(typeof nightly.nextFireAt).toBe('number');
    // 02:30 in Berlin is 00:30 or 01:30 UTC.
    expect(new Date(nightly.nextFireAt as number).toISOString()).toMatch(/T0[01]:30:00\.000Z$/);
    expect(nightly.nextFireAt as number).toBeGreaterThan(before);

    // One schedule, with its next 5 fire times a day apart.
    const one = await call('/api/schedules/nightly-report');
    expect(one.status).toBe(200);
    const times = (one.body as unknown as Stored).nextFireTimes as number[];
    expect(times).toHaveLength(5);
    expect(times[0]).toBe(nightly.nextFireAt);
    for (let i = 1; i < times.length; i++)
      expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(23 * 3600_000);

    // Change it: an interval replaces the cron expression (and its time zone).
    const patched = await call('/api/schedules/nightly-report', {
      method: 'PATCH',
      body: { everyMs: 3_600_000, payload: { kind: 'hourly' } },
    });
    expect(patched.status).toBe(200);
    const p = patched.body as unknown as Stored;
    expect(p.schedule).toMatchObject({ everyMs: 3_600_000, payload: { kind: 'hourly' } });
    expect(p.schedule).not.toHaveProperty('cron');
    expect(p.schedule).not.toHaveProperty('timezone');
    expect(p.nextFireAt).toBe((Math.floor(p.updatedAt / 3_600_000) + 1) * 3_600_000);
    expect(p.by).toBe(by);

    // Next fire times: ISO and ms, on the hour.
    const next = await call('/api/schedules/nightly-report/next?count=3');
    expect(next.status).toBe(200);
    const ms = next.body.fireTimesMs as number[];
    expect(ms).toHaveLength(3);
    expect(ms[1]! - ms[0]!).toBe(3_600_000);
    expect(next.body.fireTimes).toEqual(ms.map((t) => new Date(t).toISOString()));
    expect((next.body.fireTimes as string[])[0]).toMatch(/:00:00\.000Z$/);
    const after = Date.UTC(2030, 0, 1);
    const fromAfter = await call(`/api/schedules/nightly-report/next?count=2&after=${after}`);
    expect(fromAfter.body.fireTimes).toEqual([
      '2030-01-01T01:00:00.000Z',
      '2030-01-01T02:00:00.000Z',
    ]);
    // Five by default.
    expect(
      ((await call('/api/schedules/nightly-report/next')).body.fireTimesMs as number[]).length,
    ).toBe(5);

    // Pause: no next fire time; resume: fires again.
    const paused = await call('/api/schedules/nightly-report/pause', { method: 'POST' });
    expect(paused).toMatchObject({ status: 200, body: { paused: true, nextFireAt: null, by } });
    expect((await m.monitor.queue.schedules.get('nightly-report'))?.paused).toBe(true);
    expect((await call('/api/schedules/nightly-report/next')).body).toEqual({
      fireTimes: [],
      fireTimesMs: [],
    });
    expect((await call('/api/schedules/nightly-report')).body.nextFireTimes).toEqual([]);
    const resumed = await call('/api/schedules/nightly-report/resume', { method: 'POST' });
    expect(resumed).toMatchObject({ status: 200, body: { paused: false } });
    expect(typeof resumed.body.nextFireAt).toBe('number');
    expect((await m.monitor.queue.schedules.get('nightly-report'))?.paused).toBe(false);

    // Remove: 204, then gone.
    const removed = await call('/api/schedules/heartbeat', { method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect(removed.text).toBe('');
    expect(await m.monitor.queue.schedules.get('heartbeat')).toBeUndefined();
    expect(
      ((await call('/api/schedules')).body.schedules as Stored[]).map((s) => s.schedule.name),
    ).toEqual(['nightly-report']);
  });

  it('answers 400 naming the field, 404 for an unknown name and 409 for a taken one', async () => {
    const m = await h.monitor();
    const call = client(await start(m));
    const add = (body: unknown) => call('/api/schedules', { method: 'POST', body });
    expect((await add({ name: 'taken', everyMs: 1000, type: 'ping' })).status).toBe(201);

    const cases: Array<[string, { method?: string; body?: unknown }, string]> = [
      // Checked by the request schema.
      ['/api/schedules', { method: 'POST', body: { everyMs: 1000, type: 'ping' } }, 'name'],
      ['/api/schedules', { method: 'POST', body: { name: 'x', everyMs: 1000 } }, 'type'],
      [
        '/api/schedules',
        { method: 'POST', body: { name: 'bad name!', everyMs: 1000, type: 'ping' } },
        'name',
      ],
      [
        '/api/schedules',
        { method: 'POST', body: { name: 'x', everyMs: 10, type: 'ping' } },
        'everyMs',
      ],
      [
        '/api/schedules',
        { method: 'POST', body: { name: 'x', everyMs: '1000', type: 'ping' } },
        'everyMs',
      ],
      [
        '/api/schedules',
        { method: 'POST', body: { name: 'x', everyMs: 1000, type: 'ping', misfire: 'never' } },
        'misfire',
      ],
      [
        '/api/schedules',
        { method: 'POST', body: { name: 'x', everyMs: 1000, type: 'ping', every: 5 } },
        'every',
      ],
      [
        '/api/schedules',
        { method: 'POST', body: { name: 'x', everyMs: 1000, type: 'ping', paused: 'yes' } },
        'paused',
      ],
      // Checked by JobQueue.schedules.
      ['/api/schedules', { method: 'POST', body: { name: 'x', type: 'ping' } }, 'cron'],
      [
        '/api/schedules',
        { method: 'POST', body: { name: 'x', cron: '* * *', everyMs: 1000, type: 'ping' } },
        'cron',
      ],
      [
        '/api/schedules',
        { method: 'POST', body: { name: 'x', cron: 'not cron', type: 'ping' } },
        'cron',
      ],
      [
        '/api/schedules',
        {
          method: 'POST',
          body: { name: 'x', cron: '0 * * * *', timezone: 'Mars/Olympus', type: 'ping' },
        },
        'timezone',
      ],
      [
        '/api/schedules',
        { method: 'POST', body: { name: 'x', everyMs: 1000, timezone: 'UTC', type: 'ping' } },
        'timezone',
      ],
      ['/api/schedules/taken', { method: 'PATCH', body: { name: 'other' } }, 'name'],
      ['/api/schedules/taken', { method: 'PATCH', body: { timezone: 'UTC' } }, 'timezone'],
      ['/api/schedules/taken', { method: 'PATCH', body: { cron: '99 * * * *' } }, 'cron'],
      ['/api/schedules/taken', { method: 'PATCH', body: { priority: 'urgent' } }, 'priority'],
      ['/api/schedules/bad%20name', {}, 'name'],
      ['/api/schedules/bad%20name/pause', { method: 'POST' }, 'name'],
      ['/api/schedules/taken/next?count=0', {}, 'count'],
      ['/api/schedules/taken/next?count=1001', {}, 'count'],
      ['/api/schedules/taken/next?count=abc', {}, 'count'],
      ['/api/schedules/taken/next?after=-1', {}, 'after'],
      ['/api/schedules/taken/next?limit=3', {}, 'limit'],
    ];
    for (const [path, init, field] of cases) {
      const r = await call(path, init);
      expect(r.status, `${init.method ?? 'GET'} ${path} ${JSON.stringify(init.body)}`).toBe(400);
      expect(r.body, `${path} ${JSON.stringify(init.body)}`).toMatchObject({
        error: 'bad_request',
        field,
      });
      expect(typeof r.body.message).toBe('string');
    }
    // Nothing was added or changed by a bad request.
    const left = await m.monitor.queue.schedules.list();
    expect(left.map((s) => s.schedule.name)).toEqual(['taken']);
    expect(left[0]?.schedule).toMatchObject({ everyMs: 1000, type: 'ping' });

    // 409: the name is taken.
    const dup = await add({ name: 'taken', cron: '0 * * * *', type: 'other' });
    expect(dup).toMatchObject({ status: 409, body: { error: 'schedule_exists', field: 'name' } });
    expect(dup.body.message).toContain('taken');

    // 404 on every route that names a schedule.
    for (const [method, path, body] of [
      ['GET', '/api/schedules/missing', undefined],
      ['PATCH', '/api/schedules/missing', { everyMs: 5000 }],
      ['POST', '/api/schedules/missing/pause', undefined],
      ['POST', '/api/schedules/missing/resume', undefined],
      ['DELETE', '/api/schedules/missing', undefined],
      ['GET', '/api/schedules/missing/next', undefined],
    ] as const) {
      const r = await call(path, { method, body });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body, `${method} ${path}`).toMatchObject({
        error: 'not_found',
        field: 'name',
        message: 'schedule not found: missing',
      });
    }
  });

  it('refuses every schedule route without the bearer token, and documents them in /openapi.json', async () => {
    const m = await h.monitor();
    const api = await start(m);
    await m.monitor.queue.schedules.add({ name: 'guarded', everyMs: 1000, type: 'ping' });
    for (const token of ['', 'not-the-token-at-all-0000']) {
      const anon = client(api, token);
      for (const [method, path, body] of [
        ['GET', '/api/schedules', undefined],
        ['POST', '/api/schedules', { name: 'sneaky', everyMs: 1000, type: 'ping' }],
        ['GET', '/api/schedules/guarded', undefined],
        ['PATCH', '/api/schedules/guarded', { everyMs: 5000 }],
        ['POST', '/api/schedules/guarded/pause', undefined],
        ['POST', '/api/schedules/guarded/resume', undefined],
        ['DELETE', '/api/schedules/guarded', undefined],
        ['GET', '/api/schedules/guarded/next', undefined],
      ] as const) {
        const r = await anon(path, { method, body });
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(r.body).toMatchObject({ error: 'unauthorized' });
      }
    }
    // Nothing changed.
    const left = await m.monitor.queue.schedules.list();
    expect(left.map((s) => [s.schedule.name, s.schedule.everyMs, s.paused])).toEqual([
      ['guarded', 1000, false],
    ]);

    const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown; responses?: object }>>;
      components: { schemas: Record<string, unknown> };
    };
    const routes: Array<[string, string]> = [
      ['/api/schedules', 'get'],
      ['/api/schedules', 'post'],
      ['/api/schedules/{name}', 'get'],
      ['/api/schedules/{name}', 'patch'],
      ['/api/schedules/{name}', 'delete'],
      ['/api/schedules/{name}/pause', 'post'],
      ['/api/schedules/{name}/resume', 'post'],
      ['/api/schedules/{name}/next', 'get'],
    ];
    for (const [path, method] of routes) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      // The document's default security (bearer) applies: no route opts out.
      expect(op?.security, `${method} ${path}`).toBeUndefined();
    }
    expect(Object.keys(doc.paths['/api/schedules']?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(['201', '400', '401', '409']),
    );
    expect(Object.keys(doc.paths['/api/schedules/{name}']?.delete?.responses ?? {})).toEqual(
      expect.arrayContaining(['204', '404']),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Schedule', 'StoredSchedule']),
    );
  });
});
