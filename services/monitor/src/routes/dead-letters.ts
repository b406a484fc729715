/** The dead letter queue: list, retry and purge. */
import { HttpError } from '../api-errors.js';
import { dlqPurgeBody, dlqQuery, dlqRetryBody, errorResponses, ref } from '../api-schemas.js';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.js';

export function registerDeadLetterRoutes(api: FastifyInstance, deps: RouteDeps): void {
  const { queue } = deps;
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
}
