/** The cluster: nodes, leaders and statistics. */
import { ref } from '../api-schemas.js';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.js';

export function registerClusterRoutes(api: FastifyInstance, deps: RouteDeps): void {
  const { fresh, monitor } = deps;
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
}
