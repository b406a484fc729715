/**
 * Flows (`JobQueue.flow()`): enqueue a tree of jobs, and page through a
 * parent's ended children with its summary.
 */
import {
  JobValidationError,
  type ChildEnding,
  type FlowChild,
  type FlowJob,
  type FlowSummary,
  type ScheduleOptions,
} from '@rfw/core';
import { childrenQuery, errorResponses, flowBody, idParams, ref } from '../api-schemas.js';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.js';

/**
 * A flow of many jobs is a big body: room for about 100,000 small jobs
 * (`MAX_FLOW_JOBS`), each still checked against the message size limit.
 */
export const FLOW_BODY_LIMIT = 16 * 1024 * 1024;

const NODE_KEYS = new Set(['type', 'payload', 'options', 'children']);
const CHILD_KEYS = new Set([...NODE_KEYS, 'onFailure']);
/** Option names of this API and the `ScheduleOptions` they stand for. */
const OPTION_NAMES: Record<string, keyof ScheduleOptions> = {
  priority: 'priority',
  delayMs: 'delay',
  runAt: 'runAt',
  maxRetries: 'maxRetries',
  timeoutMs: 'timeout',
  id: 'id',
  backoff: 'backoff',
};
/** `ScheduleOptions` names as this API spells them, for the fields of errors. */
const API_OPTION: Record<string, string> = { delay: 'delayMs', timeout: 'timeoutMs' };

function at(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

/** The API's flow node as `JobQueue.flow()` takes it; throws `JobValidationError` naming the field. */
function toFlowJob(n: unknown, path: string, child: boolean): FlowChild {
  if (n === null || typeof n !== 'object' || Array.isArray(n))
    throw new JobValidationError(path || 'body', 'must be an object');
  const node = n as Record<string, unknown>;
  const keys = child ? CHILD_KEYS : NODE_KEYS;
  for (const k of Object.keys(node))
    if (!keys.has(k))
      throw new JobValidationError(
        at(path, k),
        k === 'onFailure' ? 'only a child has onFailure' : 'is not a known flow node field',
      );
  if (typeof node.type !== 'string')
    throw new JobValidationError(at(path, 'type'), 'is required: a job type');
  const out: FlowChild = {
    type: node.type,
    payload: node.payload === undefined ? {} : node.payload,
  };
  if (node.options !== undefined) {
    const o = node.options;
    if (o === null || typeof o !== 'object' || Array.isArray(o))
      throw new JobValidationError(at(path, 'options'), 'must be an object');
    const opts: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
      const name = OPTION_NAMES[k];
      if (!name)
        throw new JobValidationError(
          at(path, `options.${k}`),
          `is not a known option (${Object.keys(OPTION_NAMES).join(', ')})`,
        );
      if (k === 'runAt' && typeof v === 'string') {
        const t = Date.parse(v);
        if (Number.isNaN(t))
          throw new JobValidationError(
            at(path, 'options.runAt'),
            'is neither ms since the epoch nor an ISO 8601 date-time',
          );
        opts[name] = t;
      } else opts[name] = v;
    }
    out.options = opts as FlowJob['options'];
  }
  if (child && node.onFailure !== undefined)
    out.onFailure = node.onFailure as FlowChild['onFailure'];
  if (node.children !== undefined) {
    if (!Array.isArray(node.children))
      throw new JobValidationError(at(path, 'children'), 'must be an array');
    out.children = node.children.map((c, i) => toFlowJob(c, `${at(path, 'children')}[${i}]`, true));
  }
  return out;
}

/** A core field (`children[1].options.delay`) as this API spells it (`...options.delayMs`). */
function apiField(field: string): string {
  return field.replace(/(^|\.)options\.(delay|timeout)$/, (_m, dot: string, f: string) => {
    return `${dot}options.${API_OPTION[f] ?? f}`;
  });
}

function countJobs(n: FlowJob): number {
  return 1 + (n.children ?? []).reduce((s, c) => s + countJobs(c), 0);
}

/** A parent's summary with every count filled in, and `pending` (children not ended yet). */
export function fullSummary(f: FlowSummary): {
  children: number;
  succeeded: number;
  dead: number;
  cancelled: number;
  pending: number;
} {
  const succeeded = f.succeeded ?? 0;
  const dead = f.dead ?? 0;
  const cancelled = f.cancelled ?? 0;
  return {
    children: f.children,
    succeeded,
    dead,
    cancelled,
    pending: Math.max(0, f.children - succeeded - dead - cancelled),
  };
}

export function registerFlowRoutes(api: FastifyInstance, deps: RouteDeps): void {
  const { queue } = deps;
  api.post(
    '/flows',
    {
      bodyLimit: FLOW_BODY_LIMIT,
      schema: {
        tags: ['flows'],
        summary: 'Enqueue a flow: a parent job that runs once its children have ended',
        body: flowBody,
        response: {
          201: {
            type: 'object',
            properties: {
              id: { type: 'string', description: "The root's id; child ids are <parent>-<index>" },
              type: { type: 'string' },
              children: { type: 'integer', description: 'How many children the root has' },
              jobs: { type: 'integer', description: 'How many jobs the flow holds, root included' },
              duplicate: {
                type: 'boolean',
                description: 'A job with the root id existed (and is not this flow waiting)',
              },
            },
          },
          413: ref('Error'),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const root = toFlowJob(req.body, '', false);
      let made: Awaited<ReturnType<typeof queue.flow>>;
      try {
        made = await queue.flow(root);
      } catch (err) {
        if (err instanceof JobValidationError && apiField(err.field) !== err.field)
          throw new JobValidationError(apiField(err.field), err.reason, { cause: err });
        throw err;
      }
      return reply
        .code(201)
        .header('location', `/api/jobs/${made.id}`)
        .send({
          id: made.id,
          type: made.type,
          children: made.children.length,
          jobs: countJobs(root),
          duplicate: made.duplicate,
        });
    },
  );
  api.get(
    '/jobs/:id/children',
    {
      schema: {
        tags: ['flows'],
        summary: "A flow parent's summary and its ended children, one page at a time",
        params: idParams,
        querystring: childrenQuery,
        response: {
          200: ref('ChildPage'),
          404: ref('Error'),
          409: ref('Error'),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const q = req.query as { limit: number; cursor?: string; state?: string };
      const { flow, endings } = await queue.children(id);
      const wanted = (e: ChildEnding): boolean =>
        q.state === undefined ||
        e.state === q.state ||
        (q.state === 'failed' && (e.state === 'dead' || e.state === 'cancelled'));
      const matching = endings.filter(wanted);
      const from = q.cursor === undefined ? 0 : Number(q.cursor);
      const page = matching.slice(from, from + q.limit);
      const next = from + page.length;
      return {
        flow: fullSummary(flow),
        total: matching.length,
        endings: page,
        ...(next < matching.length ? { nextCursor: String(next) } : {}),
      };
    },
  );
}
