/**
 * The admin HTTP API and dashboard server (fastify): jobs, the dead letter
 * queue, queues, nodes, leaders, statistics, alerts, sweeps, storage metrics
 * and index search under `/api` (bearer token when `ADMIN_TOKEN` is set), the
 * dashboard at `/`, `/openapi.json`, and the unauthenticated `/healthz`,
 * `/readyz` and `/metrics`.
 */
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import { NoRespondersError, RequestError, TimeoutError } from '@nats-io/nats-core';
import {
  JobNotFoundError,
  JobValidationError,
  createLogger,
  decodeJson,
  encodeJson,
  type JobFilter,
  type Logger,
  type Priority,
} from '@rfw/core';
import { errorHandler, HttpError, readRestOfBody } from './api-errors.js';
import {
  dlqPurgeBody,
  dlqQuery,
  dlqRetryBody,
  errorResponses,
  idParams,
  listJobsQuery,
  ref,
  scheduleBody,
  searchQuery,
  sharedSchemas,
  typeParams,
} from './api-schemas.js';
import { bearerChecker, checkExposure } from './auth.js';
import { bucketKeys } from './bucket-keys.js';
import { openExistingBucket } from './cluster-view.js';
import { EventStreamHub, type EventStreamOptions } from './events-stream.js';
import type { JobMonitor } from './job-monitor.js';
import { alertView, buildOverview } from './overview.js';

export interface AdminApiOptions {
  monitor: JobMonitor;
  /** Address to listen on. @default '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @default 8080 */
  port?: number;
  /**
   * Bearer token required on `/api/*`. Without one the server refuses to
   * listen on anything but a loopback address (`ConfigError`).
   */
  token?: string;
  log?: Logger;
  /** How long a search request waits for the indexing worker, ms. @default 10000 */
  searchTimeoutMs?: number;
  /** Dashboard files. @default the package's `public/` folder */
  publicDir?: string;
  events?: EventStreamOptions;
}

export interface AdminApi {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly port: number;
  readonly events: EventStreamHub;
  close(): Promise<void>;
}

type Query = Record<string, unknown>;

/** `schedule()` option names that this API spells differently. */
const API_FIELD: Record<string, string> = { delay: 'delayMs', timeout: 'timeoutMs' };

const DEFAULT_PUBLIC = fileURLToPath(new URL('../public/', import.meta.url));

/** Build the server and start listening. Throws `ConfigError` on an unsafe exposure. */
export async function startAdminApi(opts: AdminApiOptions): Promise<AdminApi> {
  const host = opts.host ?? '127.0.0.1';
  checkExposure(host, opts.token);
  const { monitor } = opts;
  const log = (opts.log ?? createLogger('monitor')).child({ component: 'http' });
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    bodyLimit: 2 * 1024 * 1024,
  });

  // Query strings and paths are text: coerce them. Bodies are JSON: take them as they are.
  const ajvLoose = new Ajv({ coerceTypes: 'array', useDefaults: true, strict: false });
  const ajvStrict = new Ajv({ coerceTypes: false, useDefaults: true, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? ajvStrict : ajvLoose).compile(schema),
  );
  // Response schemas document; they must never drop a field (a job's payload is free-form).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler(errorHandler);
  app.addHook('onSend', async (req, reply, payload) => {
    readRestOfBody(req, reply);
    return payload;
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );
  for (const s of sharedSchemas) app.addSchema(s);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'rustfs-workers admin API',
        version: '1',
        description:
          'Jobs, dead letters, queues, nodes, leaders, statistics, alerts and search of one installation. ' +
          'Every `/api` route needs `Authorization: Bearer <ADMIN_TOKEN>` when a token is configured.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`),
    },
  });

  const events = new EventStreamHub(monitor, log, opts.events);
  app.addHook('onClose', async () => events.close());

  const unauthenticated = { security: [] as never[] };
  app.get('/healthz', { schema: { tags: ['health'], ...unauthenticated } }, async () => ({
    status: 'ok',
    nodeId: monitor.nodeId,
    state: monitor.state,
    isLeader: monitor.isLeader,
  }));
  app.get('/readyz', { schema: { tags: ['health'], ...unauthenticated } }, async (_req, reply) => {
    const r = monitor.ready();
    return reply
      .code(r === true ? 200 : 503)
      .send(r === true ? { status: 'ready' } : { status: 'not-ready', reason: r });
  });
  app.get(
    '/metrics',
    { schema: { tags: ['health'], summary: 'Prometheus metrics', ...unauthenticated } },
    async (_req, reply) => {
      const body = await monitor.metrics.registry.metrics();
      return reply.type(monitor.metrics.registry.contentType).send(body);
    },
  );

  const checkToken = opts.token ? bearerChecker(opts.token) : undefined;
  await app.register(
    async (api) => {
      api.addHook('onRequest', async (req, reply) => {
        if (checkToken && !checkToken(req.headers.authorization)) {
          return reply
            .code(401)
            .header('www-authenticate', 'Bearer realm="rfw"')
            .send({ error: 'unauthorized', message: 'a valid bearer token is required' });
        }
      });
      registerApiRoutes(api, monitor, opts.searchTimeoutMs ?? 10_000, events);
    },
    { prefix: '/api' },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(fastifyStatic, {
    root: opts.publicDir ?? DEFAULT_PUBLIC,
    prefix: '/',
    index: ['index.html'],
    wildcard: false,
  });

  await app.listen({ host, port: opts.port ?? 8080 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 8080);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    app,
    url: `http://${urlHost}:${port}`,
    port,
    events,
    close: async () => {
      await app.close();
    },
  };
}

function registerApiRoutes(
  api: FastifyInstance,
  monitor: JobMonitor,
  searchTimeoutMs: number,
  events: EventStreamHub,
): void {
  const { queue } = monitor;
  const fresh = async () => monitor.snapshot() ?? (await monitor.refresh());

  // --- jobs ---------------------------------------------------------------
  api.get(
    '/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'List jobs, filtered, one page at a time',
        querystring: listJobsQuery,
        response: { 200: ref('JobPage'), ...errorResponses },
      },
    },
    async (req) => queue.list(req.query as JobFilter),
  );
  api.post(
    '/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Schedule a job',
        body: scheduleBody,
        response: {
          201: {
            type: 'object',
            properties: { id: { type: 'string' }, job: ref('Job') },
          },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const b = req.body as {
        type: string;
        payload?: unknown;
        priority?: Priority;
        delayMs?: number;
        runAt?: number | string;
        maxRetries?: number;
        timeoutMs?: number;
        id?: string;
      };
      let runAt: number | undefined;
      if (typeof b.runAt === 'string') {
        runAt = Date.parse(b.runAt);
        if (Number.isNaN(runAt))
          throw new JobValidationError(
            'runAt',
            'is neither ms since the epoch nor an ISO 8601 date-time',
          );
      } else runAt = b.runAt;
      let id: string;
      try {
        id = await queue.schedule(b.type, b.payload === undefined ? {} : b.payload, {
          priority: b.priority,
          delay: b.delayMs,
          runAt,
          maxRetries: b.maxRetries,
          timeout: b.timeoutMs,
          id: b.id,
        });
      } catch (err) {
        // Name the field as this API spells it.
        if (err instanceof JobValidationError && API_FIELD[err.field])
          throw new JobValidationError(API_FIELD[err.field] as string, err.reason, { cause: err });
        throw err;
      }
      return reply
        .code(201)
        .header('location', `/api/jobs/${id}`)
        .send({ id, job: await queue.get(id) });
    },
  );
  api.get(
    '/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'A job with its history',
        params: idParams,
        response: { 200: ref('Job'), 404: ref('Error'), ...errorResponses },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const job = await queue.get(id);
      if (!job) throw new JobNotFoundError(id);
      return job;
    },
  );
  api.post(
    '/jobs/:id/cancel',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Cancel a pending, delayed or running job',
        params: idParams,
        response: { 200: ref('Job'), 404: ref('Error'), 409: ref('Error'), ...errorResponses },
      },
    },
    async (req) => queue.cancel((req.params as { id: string }).id),
  );
  api.post(
    '/jobs/:id/retry',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Send a dead or cancelled job back to pending with a fresh retry budget',
        params: idParams,
        response: { 200: ref('Job'), 404: ref('Error'), 409: ref('Error'), ...errorResponses },
      },
    },
    async (req) => queue.retry((req.params as { id: string }).id),
  );

  // --- dead letter queue --------------------------------------------------
  api.get(
    '/dlq',
    {
      schema: {
        tags: ['dlq'],
        summary: 'Dead letters, oldest first',
        querystring: dlqQuery,
        response: {
          200: {
            type: 'object',
            properties: {
              deadLetters: { type: 'array', items: ref('DeadLetter') },
              nextCursor: { type: 'string' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) =>
      queue.listDeadLetters(req.query as { type?: string; limit?: number; cursor?: string }),
  );
  api.post(
    '/dlq/retry',
    {
      schema: {
        tags: ['dlq'],
        summary: 'Retry dead jobs: one by id, every one of a type, or all',
        body: dlqRetryBody,
        response: {
          200: {
            type: 'object',
            properties: { retried: { type: 'array', items: { type: 'string' } } },
          },
          404: ref('Error'),
          409: ref('Error'),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const b = (req.body ?? {}) as { id?: string; type?: string; all?: boolean };
      if (b.id !== undefined && b.type !== undefined)
        throw new HttpError(400, 'bad_request', 'give either id or type, not both', 'id');
      if (b.id === undefined && b.type === undefined && b.all !== true)
        throw new HttpError(400, 'bad_request', 'give id, type, or all: true', 'id');
      const retried = await queue.retryDeadLetters(
        b.id !== undefined ? { id: b.id } : { type: b.type },
      );
      return { retried };
    },
  );
  api.post(
    '/dlq/purge',
    {
      schema: {
        tags: ['dlq'],
        summary: 'Delete dead letters of a type, or all of them',
        body: dlqPurgeBody,
        response: {
          200: { type: 'object', properties: { purged: { type: 'integer' } } },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const b = (req.body ?? {}) as { type?: string; all?: boolean };
      if (b.type === undefined && b.all !== true)
        throw new HttpError(
          400,
          'bad_request',
          'give a type, or all: true to purge every type',
          'type',
        );
      return { purged: await queue.purgeDeadLetters(b.type) };
    },
  );

  // --- queues -------------------------------------------------------------
  api.get(
    '/queues',
    {
      schema: {
        tags: ['queues'],
        summary: 'Queues by type and priority with rates, and paused types',
      },
    },
    async () => {
      await fresh();
      const o = buildOverview(monitor);
      return { queues: o.queues, paused: o.paused, rateWindowMs: o.rateWindowMs };
    },
  );
  for (const action of ['pause', 'resume'] as const) {
    api.post(
      `/queues/:type/${action}`,
      {
        schema: {
          tags: ['queues'],
          summary:
            action === 'pause' ? 'Pause a job type cluster-wide' : 'Resume a paused job type',
          params: typeParams,
          response: {
            200: {
              type: 'object',
              properties: { type: { type: 'string' }, paused: { type: 'boolean' } },
            },
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const { type } = req.params as { type: string };
        if (action === 'pause') await queue.pause(type, `monitor:${monitor.nodeId}`);
        else await queue.resume(type);
        await monitor.refresh(true);
        return { type, paused: action === 'pause' };
      },
    );
  }

  // --- cluster ------------------------------------------------------------
  api.get(
    '/nodes',
    {
      schema: {
        tags: ['cluster'],
        summary: 'Every node heartbeat with its health',
        response: {
          200: { type: 'object', properties: { nodes: { type: 'array', items: ref('Node') } } },
        },
      },
    },
    async () => ({ nodes: (await fresh()).nodes }),
  );
  api.get(
    '/leaders',
    {
      schema: {
        tags: ['cluster'],
        summary: 'Holders of each leader role, and the monitor leader',
        response: {
          200: {
            type: 'object',
            properties: {
              roles: { type: 'array', items: ref('Leader') },
              monitor: { type: 'object', additionalProperties: true },
            },
          },
        },
      },
    },
    async () => ({
      roles: (await fresh()).leaders,
      monitor: { nodeId: monitor.nodeId, isLeader: monitor.isLeader, leader: monitor.leader },
    }),
  );
  api.get(
    '/statistics',
    {
      schema: {
        tags: ['cluster'],
        summary:
          'Counts per type and priority (JobQueue.statistics()), the seed metrics, and rates',
      },
    },
    async () => {
      const snap = await monitor.refresh();
      return { statistics: snap.statistics, metrics: snap.metrics, rates: monitor.rates() };
    },
  );
  api.get(
    '/alerts',
    {
      schema: {
        tags: ['cluster'],
        summary: 'Alerts, firing first, and the rules in force',
        response: {
          200: {
            type: 'object',
            properties: {
              alerts: { type: 'array', items: ref('Alert') },
              rules: { type: 'object', additionalProperties: true },
            },
          },
        },
      },
    },
    async () => {
      const { notificationEndpoint, ...rules } = monitor.alerts.config;
      return {
        alerts: (await monitor.listAlerts()).map(alertView),
        rules: { ...rules, notificationEndpoint: notificationEndpoint ? 'configured' : undefined },
      };
    },
  );
  api.get(
    '/sweeps',
    {
      schema: {
        tags: ['cluster'],
        summary: 'Jobs reporting progress (running first), and recently finished ones',
        response: {
          200: { type: 'object', properties: { sweeps: { type: 'array', items: ref('Sweep') } } },
        },
      },
    },
    async () => ({ sweeps: monitor.tracker.sweeps() }),
  );
  api.get(
    '/storage',
    {
      schema: {
        tags: ['storage'],
        summary: 'Storage metrics published by the metrics worker (empty until it runs)',
      },
    },
    async () => {
      const name = `${monitor.ctx.names.prefix}_storage_metrics`;
      const kv = await openExistingBucket(monitor.ctx, name);
      if (!kv) return { bucket: name, exists: false, entries: [] };
      const keys = await bucketKeys(monitor.ctx.jsm, name);
      const entries = (
        await Promise.all(
          keys.map(async (key) => {
            const e = await kv.get(key);
            if (!e || e.operation !== 'PUT') return undefined;
            let value: unknown;
            try {
              value = decodeJson(e.value);
            } catch {
              value = e.string();
            }
            return { key, value, revision: e.revision, updatedAt: e.created.getTime() };
          }),
        )
      ).filter((e) => e !== undefined);
      return { bucket: name, exists: true, entries };
    },
  );

  const search = async (query: Record<string, unknown>): Promise<unknown> => {
    const subject = monitor.ctx.names.apiSubject('search');
    try {
      const msg = await monitor.ctx.nc.request(subject, encodeJson(query), {
        timeout: searchTimeoutMs,
      });
      try {
        return msg.json();
      } catch {
        throw new HttpError(502, 'bad_gateway', 'the search service answered with invalid JSON');
      }
    } catch (err) {
      const noResponders =
        err instanceof NoRespondersError ||
        (err instanceof RequestError && err.isNoResponders()) ||
        (err as Error).cause instanceof NoRespondersError;
      if (noResponders)
        throw new HttpError(503, 'search_unavailable', `no indexing worker answers on ${subject}`);
      if (err instanceof TimeoutError || (err as Error).cause instanceof TimeoutError)
        throw new HttpError(504, 'search_timeout', `search took longer than ${searchTimeoutMs} ms`);
      throw err;
    }
  };
  api.get(
    '/search',
    {
      schema: {
        tags: ['storage'],
        summary: 'Search the object index (forwarded to the indexing worker); 503 when none runs',
        querystring: searchQuery,
      },
    },
    async (req) => search(req.query as Query),
  );
  api.post(
    '/search',
    {
      schema: {
        tags: ['storage'],
        summary: 'Search the object index with a JSON query (forwarded as is)',
        body: { type: 'object', additionalProperties: true },
      },
      // The query travels on as one NATS message: refuse (413) what could not.
      bodyLimit: 64 * 1024,
    },
    async (req) => search(req.body as Query),
  );

  // --- dashboard ----------------------------------------------------------
  api.get(
    '/overview',
    { schema: { tags: ['dashboard'], summary: 'Everything the dashboard shows, in one document' } },
    async () => {
      await fresh();
      return buildOverview(monitor);
    },
  );
  api.get(
    '/events',
    {
      // A HEAD of an endless stream would never end: only GET is served.
      exposeHeadRoute: false,
      schema: {
        tags: ['dashboard'],
        summary:
          'Server-sent events: `overview` after every refresh, `jobs` batches of live job events',
      },
    },
    (_req, reply) => {
      reply.hijack();
      events.attach(reply.raw);
    },
  );
}
