/** Sweeps: the periodic jobs and when they last ran. */
import { ref } from '../api-schemas.js';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.js';

export function registerSweepRoutes(api: FastifyInstance, deps: RouteDeps): void {
  const { monitor } = deps;
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
}
