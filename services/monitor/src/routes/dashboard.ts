/** What the dashboard reads: the overview document and the live event stream. */
import { buildOverview } from '../overview.js';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.js';

export function registerDashboardRoutes(api: FastifyInstance, deps: RouteDeps): void {
  const { fresh, monitor, events } = deps;
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
