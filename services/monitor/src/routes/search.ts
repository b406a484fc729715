/** Index search, forwarded to the indexing worker on `<prefix>.api.search`. */
import { NoRespondersError, RequestError, TimeoutError } from '@nats-io/nats-core';
import { encodeJson } from '@rfw/core/internal';
import { HttpError } from '../api-errors.js';
import { searchQuery } from '../api-schemas.js';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.js';

type Query = Record<string, unknown>;

export function registerSearchRoutes(api: FastifyInstance, deps: RouteDeps): void {
  const { monitor, searchTimeoutMs } = deps;
  const search = async (query: Record<string, unknown>): Promise<unknown> => {
    const subject = monitor.ctx.names.apiSubject('search');
    try {
      const msg = await monitor.ctx.nc.request(subject, encodeJson(query), {
        timeout: searchTimeoutMs,
      });
      try {
        return msg.json();
      } catch {
        throw new HttpError(502, 'bad_gateway', 'the search service answered with invalid JSON');
      }
    } catch (err) {
      const noResponders =
        err instanceof NoRespondersError ||
        (err instanceof RequestError && err.isNoResponders()) ||
        (err as Error).cause instanceof NoRespondersError;
      if (noResponders)
        throw new HttpError(503, 'search_unavailable', `no indexing worker answers on ${subject}`);
      if (err instanceof TimeoutError || (err as Error).cause instanceof TimeoutError)
        throw new HttpError(504, 'search_timeout', `search took longer than ${searchTimeoutMs} ms`);
      throw err;
    }
  };
  api.get(
    '/search',
    {
      schema: {
        tags: ['storage'],
        summary: 'Search the object index (forwarded to the indexing worker); 503 when none runs',
        querystring: searchQuery,
      },
    },
    async (req) => search(req.query as Query),
  );
  api.post(
    '/search',
    {
      schema: {
        tags: ['storage'],
        summary: 'Search the object index with a JSON query (forwarded as is)',
        body: { type: 'object', additionalProperties: true },
      },
      // The query travels on as one NATS message: refuse (413) what could not.
      bodyLimit: 64 * 1024,
    },
    async (req) => search(req.body as Query),
  );
}
