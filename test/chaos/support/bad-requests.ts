/**
 * Generators of malformed admin API requests: every route of the monitor's
 * API (and some that do not exist) with garbage path parameters, query
 * strings, content types and bodies, with the right token, a wrong one or
 * none.
 */
import fc from 'fast-check';
import type { JobQueue } from '@rfw/core';

export interface BadRequest {
  method: string;
  /** The route template the request was made from (for per-route stats). */
  route: string;
  path: string;
  query: Array<[string, string]>;
  contentType?: string;
  body?: Uint8Array;
  auth: 'token' | 'none' | 'wrong' | 'malformed';
}

const enc = new TextEncoder();

/**
 * Stored schedules the bad requests mostly name, so that the schedule routes
 * get past their 404; `addTargetSchedules()` adds them. No DELETE names the
 * first, so it stays for the whole run.
 */
export const SCHEDULE_NAMES = ['chaos-cron', 'chaos-every', 'chaos-paused'] as const;

/** Add the schedules of SCHEDULE_NAMES (cron, interval, paused) to `queue`'s installation. */
export async function addTargetSchedules(queue: JobQueue): Promise<void> {
  const [cron, every, paused] = SCHEDULE_NAMES;
  await queue.schedules.add({ name: cron, cron: '0 3 * * *', timezone: 'UTC', type: 'chaos' });
  await queue.schedules.add({ name: every, everyMs: 3_600_000, type: 'chaos' });
  await queue.schedules.add(
    { name: paused, cron: '*/10 * * * * *', type: 'chaos' },
    { paused: true },
  );
}

/** Route templates of the admin API (from its OpenAPI document) plus unknown ones. */
const ROUTES: Array<[string, string]> = [
  ['GET', '/api/jobs'],
  ['POST', '/api/jobs'],
  ['GET', '/api/jobs/{id}'],
  ['POST', '/api/jobs/{id}/cancel'],
  ['POST', '/api/jobs/{id}/retry'],
  ['GET', '/api/dlq'],
  ['POST', '/api/dlq/retry'],
  ['POST', '/api/dlq/purge'],
  ['GET', '/api/queues'],
  ['POST', '/api/queues/{type}/pause'],
  ['POST', '/api/queues/{type}/resume'],
  ['GET', '/api/nodes'],
  ['GET', '/api/leaders'],
  ['GET', '/api/statistics'],
  ['GET', '/api/alerts'],
  ['GET', '/api/sweeps'],
  ['GET', '/api/storage'],
  ['GET', '/api/search'],
  ['POST', '/api/search'],
  ['GET', '/api/overview'],
  ['GET', '/api/events'],
  ['GET', '/api/schedules'],
  ['POST', '/api/schedules'],
  ['GET', '/api/schedules/{name}'],
  ['PATCH', '/api/schedules/{name}'],
  ['DELETE', '/api/schedules/{name}'],
  ['POST', '/api/schedules/{name}/pause'],
  ['POST', '/api/schedules/{name}/resume'],
  ['GET', '/api/schedules/{name}/next'],
  ['POST', '/api/flows'],
  ['GET', '/api/jobs/{id}/children'],
  ['GET', '/api/{id}'],
  ['DELETE', '/api/jobs/{id}'],
];

/** A path segment: plausible, hostile, encoded, or huge. */
const segment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ maxLength: 20, unit: 'binary' }).map(encodeURIComponent),
  fc.constantFrom(
    '..',
    '.',
    '%00',
    '%2e%2e',
    '%ff',
    '%',
    '%zz',
    'a%2Fb',
    '-',
    '_',
    '*',
    '>',
    'a.b',
  ),
  fc.integer({ min: 129, max: 4000 }).map((n) => 'x'.repeat(n)),
);

const queryKey = fc.oneof(
  fc.constantFrom(
    'status',
    'type',
    'priority',
    'limit',
    'cursor',
    'q',
    'bucket',
    'prefix',
    'count',
    'after',
    'state',
  ),
  fc.string({ maxLength: 12 }),
);
const queryValue = fc.oneof(
  fc.constantFrom(
    '',
    '0',
    '-1',
    '1001',
    '1e3',
    '8640000000000001',
    '2030-01-01T00:00:00Z',
    'NaN',
    'null',
    'true',
    '[]',
    '{}',
    'failed',
    'dead',
  ),
  fc.integer().map(String),
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 20, unit: 'binary' }),
);

/** Bodies: none, garbage bytes, broken JSON, JSON of any shape, near misses, or too big. */
const body: fc.Arbitrary<{ contentType?: string; body?: Uint8Array }> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  {
    weight: 4,
    arbitrary: fc
      .uint8Array({ maxLength: 200 })
      .map((b) => ({ contentType: 'application/json', body: b })),
  },
  {
    weight: 4,
    arbitrary: fc
      .string({ maxLength: 100 })
      .map((s) => ({ contentType: 'application/json', body: enc.encode(`{${s}`) })),
  },
  {
    weight: 4,
    arbitrary: fc
      .jsonValue({ maxDepth: 3 })
      .map((v) => ({ contentType: 'application/json', body: enc.encode(JSON.stringify(v)) })),
  },
  {
    weight: 8,
    arbitrary: fc
      .record(
        {
          type: fc.oneof(fc.string({ maxLength: 70 }), fc.integer(), fc.constant(null)),
          payload: fc.jsonValue({ maxDepth: 2 }),
          priority: fc.oneof(fc.constantFrom('high', 'urgent', ''), fc.integer()),
          delayMs: fc.oneof(fc.integer(), fc.double(), fc.string()),
          runAt: fc.oneof(fc.integer(), fc.string({ maxLength: 30 })),
          maxRetries: fc.oneof(fc.integer(), fc.string()),
          timeoutMs: fc.oneof(fc.integer(), fc.constant(-1)),
          id: fc.oneof(fc.string({ maxLength: 200 }), fc.integer()),
          all: fc.oneof(fc.boolean(), fc.string()),
          extra: fc.jsonValue({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      )
      .map((v) => ({ contentType: 'application/json', body: enc.encode(JSON.stringify(v)) })),
  },
  {
    // Near misses of a schedule (POST /api/schedules, PATCH /api/schedules/{name}).
    weight: 8,
    arbitrary: fc
      .record(
        {
          name: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/), fc.string(), fc.integer()),
          type: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_-]{0,20}$/), fc.string(), fc.integer()),
          cron: fc.oneof(
            fc.constantFrom(
              '* * * * *',
              '0 3 * * *',
              '*/5 * * * * *',
              '* * *',
              '61 * * * *',
              '0 0 31 2 *',
              '0 0 30 2 *',
              '@daily',
              'L W # ? *',
              '1-0 * * * *',
              '*/0 * * * *',
              '',
            ),
            fc.string({ maxLength: 300 }),
            fc.integer(),
          ),
          everyMs: fc.oneof(
            fc.integer(),
            fc.constantFrom(99, 100, 1e21, Number.MAX_SAFE_INTEGER, 2 ** 53),
            fc.double(),
            fc.string(),
          ),
          timezone: fc.oneof(
            fc.constantFrom('UTC', 'Europe/Berlin', 'Mars/Olympus', 'Etc/GMT+14', 'utc', ''),
            fc.string({ maxLength: 80 }),
          ),
          payload: fc.jsonValue({ maxDepth: 2 }),
          priority: fc.oneof(fc.constantFrom('high', 'urgent', ''), fc.integer()),
          maxRetries: fc.oneof(fc.integer(), fc.string()),
          timeout: fc.oneof(fc.integer(), fc.constant(-1), fc.double()),
          misfire: fc.oneof(fc.constantFrom('latest', 'all', 'skip', 'never'), fc.integer()),
          misfireGraceMs: fc.oneof(fc.integer(), fc.constant(Number.MAX_SAFE_INTEGER)),
          paused: fc.oneof(fc.boolean(), fc.string()),
          extra: fc.jsonValue({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      )
      .map((v) => ({ contentType: 'application/json', body: enc.encode(JSON.stringify(v)) })),
  },
  {
    // Near misses of a flow (POST /api/flows): nodes with bad fields, nested.
    weight: 6,
    arbitrary: fc
      .letrec((tie) => ({
        node: fc.record(
          {
            type: fc.oneof(fc.constantFrom('chaos', 'Bad Type', ''), fc.integer()),
            payload: fc.jsonValue({ maxDepth: 1 }),
            options: fc.oneof(
              fc.record(
                {
                  priority: fc.constantFrom('high', 'urgent', 3),
                  delayMs: fc.oneof(fc.integer(), fc.string()),
                  id: fc.oneof(fc.string({ maxLength: 140 }), fc.integer()),
                  unique: fc.jsonValue({ maxDepth: 1 }),
                },
                { requiredKeys: [] },
              ),
              fc.jsonValue({ maxDepth: 1 }),
            ),
            onFailure: fc.oneof(
              fc.constantFrom('fail', 'continue', 'ignore', 'retry'),
              fc.integer(),
            ),
            children: fc.oneof(
              { depthSize: 'small', withCrossShrink: true },
              fc.constant(undefined),
              fc.array(tie('node'), { maxLength: 3 }),
              fc.jsonValue({ maxDepth: 1 }),
            ),
          },
          { requiredKeys: [] },
        ),
      }))
      .node.map((v) => ({ contentType: 'application/json', body: enc.encode(JSON.stringify(v)) })),
  },
  {
    weight: 4,
    arbitrary: fc
      .string({ maxLength: 100 })
      .chain((s) =>
        fc
          .constantFrom(
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data',
            'garbage/\u00e9',
            '',
          )
          .map((ct) => ({ contentType: ct, body: enc.encode(s) })),
      ),
  },
  {
    // Past the server's body limit or NATS's max_payload.
    weight: 1,
    arbitrary: fc.integer({ min: 1_100_000, max: 2_500_000 }).map((n) => ({
      contentType: 'application/json',
      body: enc.encode(`{"type":"chaos","payload":"${'x'.repeat(n)}"}`),
    })),
  },
);

export const badRequest: fc.Arbitrary<BadRequest> = fc
  .record({
    route: fc.oneof(
      { weight: 9, arbitrary: fc.constantFrom(...ROUTES) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
            fc.array(segment, { minLength: 1, maxLength: 4 }),
          )
          .map(([m, segs]): [string, string] => [m, `/api/${segs.join('/')}`]),
      },
    ),
    methodSwap: fc.oneof(
      { weight: 9, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
      },
    ),
    id: segment,
    type: segment,
    // Mostly the names of the stored schedules the test adds, so that the routes get past 404.
    name: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...SCHEDULE_NAMES) },
      { weight: 2, arbitrary: segment },
    ),
    query: fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }),
    body,
    auth: fc.oneof(
      { weight: 17, arbitrary: fc.constant('token' as const) },
      { weight: 1, arbitrary: fc.constant('none' as const) },
      { weight: 1, arbitrary: fc.constant('wrong' as const) },
      { weight: 1, arbitrary: fc.constant('malformed' as const) },
    ),
  })
  .map((r) => {
    const method = r.methodSwap ?? r.route[0];
    const name = method === 'DELETE' && r.name === SCHEDULE_NAMES[0] ? SCHEDULE_NAMES[1] : r.name;
    return {
      method,
      route:
        r.route[1].startsWith('/api/') && ROUTES.some((x) => x[1] === r.route[1])
          ? r.route[1]
          : '/api/<random>',
      path: r.route[1].replace('{id}', r.id).replace('{type}', r.type).replace('{name}', name),
      query: r.query,
      ...r.body,
      auth: r.auth,
    };
  });
