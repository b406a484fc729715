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
import { createLogger, type Logger } from '@rfw/core/internal';
import { errorHandler, readRestOfBody } from './api-errors.js';
import { sharedSchemas } from './api-schemas.js';
import { bearerChecker, checkExposure } from './auth.js';
import { EventStreamHub, type EventStreamOptions } from './events-stream.js';
import type { JobMonitor } from './job-monitor.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerDeadLetterRoutes } from './routes/dead-letters.js';
import { registerQueueRoutes } from './routes/queues.js';
import { registerClusterRoutes } from './routes/cluster.js';
import { registerAlertRoutes } from './routes/alerts.js';
import { registerSweepRoutes } from './routes/sweeps.js';
import { registerStorageRoutes } from './routes/storage.js';
import { registerSearchRoutes } from './routes/search.js';
import { registerScheduleRoutes } from './routes/schedules.js';
import { registerFlowRoutes } from './routes/flows.js';
import { registerDashboardRoutes } from './routes/dashboard.js';
import type { RouteDeps } from './routes/route-deps.js';

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
          'Jobs, flows, dead letters, queues, nodes, leaders, statistics, alerts and search of one installation. ' +
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
  const fresh = async () => monitor.snapshot() ?? (await monitor.refresh());
  const deps: RouteDeps = { monitor, queue: monitor.queue, fresh, searchTimeoutMs, events };
  registerJobRoutes(api, deps);
  registerDeadLetterRoutes(api, deps);
  registerQueueRoutes(api, deps);
  registerClusterRoutes(api, deps);
  registerAlertRoutes(api, deps);
  registerSweepRoutes(api, deps);
  registerStorageRoutes(api, deps);
  registerSearchRoutes(api, deps);
  registerScheduleRoutes(api, deps);
  registerFlowRoutes(api, deps);
  registerDashboardRoutes(api, deps);
}
