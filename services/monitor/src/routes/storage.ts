/** Storage metrics: the latest reading of each storage node, from the metrics worker. */
import { decodeJson } from '@rfw/core/internal';
import { bucketKeys } from '../bucket-keys.js';
import { openExistingBucket } from '../cluster-view.js';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.js';

export function registerStorageRoutes(api: FastifyInstance, deps: RouteDeps): void {
  const { monitor } = deps;
  api.get(
    '/storage',
    {
      schema: {
        tags: ['storage'],
        summary: 'Storage metrics published by the metrics worker (empty until it runs)',
      },
    },
    async () => {
      const name = monitor.ctx.names.storageMetricsBucket;
      const kv = await openExistingBucket(monitor.ctx, name);
      if (!kv) return { bucket: name, exists: false, entries: [] };
      const keys = await bucketKeys(monitor.ctx.jsm, name);
      const entries = (
        await Promise.all(
          keys.map(async (key) => {
            const e = await kv.get(key);
            if (!e || e.operation !== 'PUT') return undefined;
            let value: unknown;
            try {
              value = decodeJson(e.value);
            } catch {
              value = e.string();
            }
            return { key, value, revision: e.revision, updatedAt: e.created.getTime() };
          }),
        )
      ).filter((e) => e !== undefined);
      return { bucket: name, exists: true, entries };
    },
  );
}
