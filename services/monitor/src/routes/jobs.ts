/** Jobs: list, schedule, get, cancel and retry. */
import {
  type JobFilter,
  JobNotFoundError,
  JobValidationError,
  type Priority,
} from '@rfw/core/internal';
import { errorResponses, idParams, listJobsQuery, ref, scheduleBody } from '../api-schemas.js';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.js';

/** `schedule()` option names that this API spells differently. */
const API_FIELD: Record<string, string> = { delay: 'delayMs', timeout: 'timeoutMs' };

export function registerJobRoutes(api: FastifyInstance, deps: RouteDeps): void {
  const { queue } = deps;
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
}
