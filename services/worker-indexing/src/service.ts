/**
 * The indexing service: env config -> index store, topology, the `indexing`
 * worker and the search/usage APIs, run by `runWorkerService`.
 */
import { z } from 'zod';
import { Names } from '@rfw/core';
import { loadTopologyFile } from '@rfw/storage';
import { parseEnv, runWorkerService } from '@rfw/worker';
import type { IndexStore } from './index-types.js';
import { createIndexingWorker } from './indexing-worker.js';
import { PostgresIndexStore } from './postgres-index.js';
import { startSearchApi } from './search-api.js';
import { SqliteIndexStore } from './sqlite-index.js';

const int = z.coerce.number().int();

/** Environment variables of the indexing service (beside `WorkerEnv`). */
export const IndexingEnv = z
  .object({
    /** Topology JSON file (nodes and bucket placement). */
    TOPOLOGY_FILE: z.string().min(1),
    RFW_PREFIX: z.string().default('rfw'),
    /** `sqlite` (one instance) or `postgres` (several instances). */
    INDEX_STORE: z.enum(['sqlite', 'postgres']).default('sqlite'),
    /** SQLite file. */
    INDEX_SQLITE_PATH: z.string().min(1).default('.data/index/rfw-index.sqlite'),
    /** PostgreSQL connection string (required with INDEX_STORE=postgres). */
    DATABASE_URL: z.string().min(1).optional(),
    /** PostgreSQL schema of the index tables. */
    INDEX_PG_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/)
      .default('public'),
    /** Keys listed per node per scan page. */
    INDEX_SCAN_PAGE_SIZE: int.min(1).max(1000).default(500),
    /** Pause between scan pages, ms. */
    INDEX_SCAN_PAUSE_MS: int.min(0).max(60_000).default(0),
    /** Concurrent indexing jobs in this instance. */
    INDEX_CONCURRENCY: int.min(1).max(256).optional(),
  })
  .superRefine((e, ctx) => {
    if (e.INDEX_STORE === 'postgres' && e.DATABASE_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_URL'],
        message: 'is required with INDEX_STORE=postgres',
      });
    }
  });
export type IndexingEnv = z.infer<typeof IndexingEnv>;

/** Opens the index store the environment names. */
export function openIndexStore(env: IndexingEnv): IndexStore {
  return env.INDEX_STORE === 'postgres'
    ? new PostgresIndexStore({
        connectionString: env.DATABASE_URL ?? '',
        schema: env.INDEX_PG_SCHEMA,
      })
    : new SqliteIndexStore(env.INDEX_SQLITE_PATH);
}

/** Starts the indexing service. @throws ConfigError naming a bad variable */
export async function startIndexingService(env: NodeJS.ProcessEnv = process.env) {
  const cfg = parseEnv(IndexingEnv, env);
  const index = openIndexStore(cfg);
  await index.init();
  const topology = await loadTopologyFile(cfg.TOPOLOGY_FILE);
  const names = new Names(cfg.RFW_PREFIX);
  try {
    return await runWorkerService({
      service: 'worker-indexing',
      env,
      workers: (manager) => [
        createIndexingWorker({
          topology,
          index,
          scanPageSize: cfg.INDEX_SCAN_PAGE_SIZE,
          scanPauseMs: cfg.INDEX_SCAN_PAUSE_MS,
          registry: manager.metrics.registry,
          concurrency: cfg.INDEX_CONCURRENCY,
        }),
      ],
      onStarted: (manager) => {
        const subs = startSearchApi({
          nc: manager.core.nc,
          names,
          index,
          logger: manager.log,
          registry: manager.metrics.registry,
        });
        // The stores close once the manager has drained its running jobs.
        void manager.closed().then(() => Promise.allSettled([index.close(), topology.close()]));
        return async () => {
          for (const s of subs) s.unsubscribe();
        };
      },
    });
  } catch (err) {
    await Promise.allSettled([index.close(), topology.close()]);
    throw err;
  }
}
