/**
 * Periodic schedules stored at run time (`JobQueue.schedules`): list, add,
 * read, change, pause, resume, remove, and their next fire times. The
 * schedulers apply each change live.
 */
import {
  upcomingFireTimes,
  type ScheduleDefinition,
  type SchedulePatch,
  type StoredSchedule,
} from '@rfw/core';
import { HttpError } from '../api-errors.js';
import {
  addScheduleBody,
  errorResponses,
  nextFireTimesQuery,
  ref,
  scheduleNameParams,
  updateScheduleBody,
} from '../api-schemas.js';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.js';

/** The latest time a `Date` can hold, ms: later fire times cannot be written as ISO 8601. */
const MAX_DATE_MS = 8_640_000_000_000_000;
/** A schedule travels as one KV value and each fire's job as one message: keep bodies small. */
const BODY_LIMIT = 256 * 1024;

/** The next fire time of a stored schedule, ms, or null while paused (or when it has none). */
function nextFireAt(s: StoredSchedule, now = Date.now()): number | null {
  const [t] = upcomingFireTimes(s, now, 1);
  return t !== undefined && t <= MAX_DATE_MS ? t : null;
}

export function registerScheduleRoutes(api: FastifyInstance, deps: RouteDeps): void {
  const { queue, monitor } = deps;
  const schedules = queue.schedules;
  const by = `monitor:${monitor.nodeId}`;
  const nameOf = (req: { params: unknown }): string => (req.params as { name: string }).name;
  const stored = { 200: ref('StoredSchedule'), 404: ref('Error'), ...errorResponses };

  api.get(
    '/schedules',
    {
      schema: {
        tags: ['schedules'],
        summary: 'Stored periodic schedules by name, each with its next fire time',
        response: {
          200: {
            type: 'object',
            properties: { schedules: { type: 'array', items: ref('StoredSchedule') } },
          },
          401: errorResponses[401],
        },
      },
    },
    async () => {
      const now = Date.now();
      const all = await schedules.list();
      return { schedules: all.map((s) => ({ ...s, nextFireAt: nextFireAt(s, now) })) };
    },
  );

  api.post(
    '/schedules',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        tags: ['schedules'],
        summary: 'Add a cron or interval schedule (give exactly one of cron and everyMs)',
        body: addScheduleBody,
        response: { 201: ref('StoredSchedule'), 409: ref('Error'), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { paused, ...definition } = req.body as ScheduleDefinition & { paused?: boolean };
      const s = await schedules.add(definition, { paused: paused === true, by });
      return reply
        .code(201)
        .header('location', `/api/schedules/${s.schedule.name}`)
        .send({ ...s, nextFireAt: nextFireAt(s) });
    },
  );

  api.get(
    '/schedules/:name',
    {
      schema: {
        tags: ['schedules'],
        summary: 'A stored schedule with its next 5 fire times',
        params: scheduleNameParams,
        response: stored,
      },
    },
    async (req) => {
      const name = nameOf(req);
      const s = await schedules.get(name);
      if (!s) throw new HttpError(404, 'not_found', `schedule not found: ${name}`, 'name');
      const next = upcomingFireTimes(s, Date.now(), 5).filter((t) => t <= MAX_DATE_MS);
      return { ...s, nextFireTimes: next };
    },
  );

  api.patch(
    '/schedules/:name',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        tags: ['schedules'],
        summary: 'Change fields of a schedule (not its name); cron and everyMs replace each other',
        params: scheduleNameParams,
        body: updateScheduleBody,
        response: stored,
      },
    },
    async (req) => {
      const s = await schedules.update(nameOf(req), (req.body ?? {}) as SchedulePatch, by);
      return { ...s, nextFireAt: nextFireAt(s) };
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    api.post(
      `/schedules/:name/${action}`,
      {
        schema: {
          tags: ['schedules'],
          summary:
            action === 'pause'
              ? 'Pause a schedule: it fires nothing until resumed'
              : 'Resume a paused schedule from its next fire time (missed ones are not fired)',
          params: scheduleNameParams,
          response: stored,
        },
      },
      async (req) => {
        const s = await schedules[action](nameOf(req), by);
        return { ...s, nextFireAt: nextFireAt(s) };
      },
    );
  }

  api.delete(
    '/schedules/:name',
    {
      schema: {
        tags: ['schedules'],
        summary: 'Remove a schedule (jobs it fired are kept)',
        params: scheduleNameParams,
        response: {
          204: { description: 'Removed', type: 'null' },
          404: ref('Error'),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      await schedules.remove(nameOf(req));
      return reply.code(204).send();
    },
  );

  api.get(
    '/schedules/:name/next',
    {
      schema: {
        tags: ['schedules'],
        summary: 'The next fire times of a schedule (none while it is paused)',
        params: scheduleNameParams,
        querystring: nextFireTimesQuery,
        response: {
          200: {
            type: 'object',
            properties: {
              fireTimes: { type: 'array', items: { type: 'string', format: 'date-time' } },
              fireTimesMs: { type: 'array', items: { type: 'integer' } },
            },
          },
          404: ref('Error'),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { count, after } = req.query as { count?: number; after?: number };
      const times = await schedules.nextFireTimes(nameOf(req), { count, after });
      const fireTimesMs = times.filter((t) => t <= MAX_DATE_MS);
      return { fireTimes: fireTimesMs.map((t) => new Date(t).toISOString()), fireTimesMs };
    },
  );
}
