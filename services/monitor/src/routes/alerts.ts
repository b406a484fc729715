/** Alerts: their configuration and what is firing. */
import { ref } from '../api-schemas.js';
import { alertView } from '../overview.js';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.js';

export function registerAlertRoutes(api: FastifyInstance, deps: RouteDeps): void {
  const { monitor } = deps;
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
}
