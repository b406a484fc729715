/** Queues: depth per type and priority, pause and resume. */
import { errorResponses, typeParams } from '../api-schemas.js';
import { buildOverview } from '../overview.js';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.js';

export function registerQueueRoutes(api: FastifyInstance, deps: RouteDeps): void {
  const { queue, fresh, monitor } = deps;
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
}
