/**
 * `<prefix>.api.search` and `<prefix>.api.usage`: request/reply over core NATS,
 * in a queue group so that one indexer instance answers each request.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Logger, Names } from '@rfw/core';
import { Histogram, type Registry } from 'prom-client';
import type { IndexStore, SearchHit, UsageReport } from './index-types.js';
import {
  SearchValidationError,
  compileSearch,
  compileUsage,
  encodeCursor,
} from './search-request.js';
import type { ApiErrorReply } from '@rfw/storage-jobs';

/** Reply of a successful search. */
export interface SearchReply {
  ok: true;
  results: SearchHit[];
  /** Pass back as `cursor` with the same query for the next page; absent on the last page. */
  nextCursor?: string;
}

/** Reply of a successful usage request. */
export type UsageReply = { ok: true } & UsageReport;

/** Options of {@link startSearchApi}. */
export interface SearchApiOptions {
  nc: NatsConnection;
  names: Names;
  index: IndexStore;
  logger: Logger;
  /** Queue group shared by the indexer instances. @default `<prefix>_indexing` */
  queueGroup?: string;
  registry?: Registry;
}

/** Room kept below `max_payload` for the reply's headers and framing. */
const REPLY_ALLOWANCE = 1024;

function errorReply(err: unknown): ApiErrorReply {
  if (err instanceof SearchValidationError) {
    return {
      ok: false,
      error: { name: 'ValidationError', field: err.field, message: err.message },
    };
  }
  return {
    ok: false,
    error: {
      name: 'IndexUnavailableError',
      message: `index query failed: ${(err as Error)?.message ?? String(err)}`,
    },
  };
}

function parseBody(m: Msg): unknown {
  if (m.data.length === 0) return {};
  try {
    return JSON.parse(new TextDecoder().decode(m.data)) as unknown;
  } catch {
    throw new SearchValidationError('', 'is not valid JSON');
  }
}

/**
 * Encodes a search reply within `max`: when the page is too large for one NATS message it is
 * cut short and `nextCursor` points after the last result that fits.
 */
export function encodeSearchReply(
  results: SearchHit[],
  after: { bucket: string; key: string } | undefined,
  max: number,
): Uint8Array {
  const enc = new TextEncoder();
  let n = results.length;
  for (;;) {
    const kept = results.slice(0, n);
    const last = kept[kept.length - 1];
    const cursorAt =
      n < results.length ? (last ? { bucket: last.bucket, key: last.key } : undefined) : after;
    const reply: SearchReply = cursorAt
      ? { ok: true, results: kept, nextCursor: encodeCursor(cursorAt) }
      : { ok: true, results: kept };
    const bytes = enc.encode(JSON.stringify(reply));
    if (bytes.length <= max || n <= 1) return bytes;
    n = Math.max(1, Math.floor((n * max) / bytes.length) - 1);
  }
}

/** Subscribes both APIs; returns the subscriptions (drain or unsubscribe them to stop). */
export function startSearchApi(o: SearchApiOptions): Subscription[] {
  const queue = o.queueGroup ?? `${o.names.prefix}_indexing`;
  const latency = new Histogram({
    name: 'rfw_index_api_duration_seconds',
    help: 'Search and usage request latency',
    labelNames: ['api', 'outcome'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: o.registry ? [o.registry] : [],
  });
  const maxPayload = (): number => (o.nc.info?.max_payload ?? 1024 * 1024) - REPLY_ALLOWANCE;
  const enc = new TextEncoder();

  const serve = (api: string, handle: (m: Msg) => Promise<Uint8Array>) =>
    o.nc.subscribe(o.names.apiSubject(api), {
      queue,
      callback: (err, m) => {
        if (err) {
          o.logger.warn({ err, api }, 'api subscription error');
          return;
        }
        void (async () => {
          const end = latency.startTimer({ api });
          let body: Uint8Array;
          let outcome = 'ok';
          try {
            body = await handle(m);
          } catch (e) {
            const reply = errorReply(e);
            outcome = reply.error.name === 'ValidationError' ? 'invalid' : 'error';
            if (outcome === 'error') o.logger.error({ err: e, api }, 'api request failed');
            body = enc.encode(JSON.stringify(reply));
          }
          end({ outcome });
          if (m.reply) {
            try {
              m.respond(body);
            } catch (e) {
              o.logger.warn({ err: e, api }, 'could not send reply');
            }
          }
        })();
      },
    });

  return [
    serve('search', async (m) => {
      const q = compileSearch(parseBody(m));
      const page = await o.index.search(q);
      return encodeSearchReply(page.results, page.after, maxPayload());
    }),
    serve('usage', async (m) => {
      const q = compileUsage(parseBody(m));
      const report = await o.index.usage(q);
      const reply: UsageReply = { ok: true, ...report };
      return enc.encode(JSON.stringify(reply));
    }),
  ];
}
