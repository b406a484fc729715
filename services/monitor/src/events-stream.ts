/**
 * Server-sent events for the dashboard (`GET /api/events`):
 * - `overview`: the whole dashboard view, on connect and after every refresh;
 * - `jobs`: live job events (progress excluded), batched every `batchMs`;
 * - a comment line every `pingMs` keeps proxies from closing an idle stream.
 * A client that stops reading is dropped rather than buffered without bound.
 */
import type { ServerResponse } from 'node:http';
import type { JobEvent, Logger } from '@rfw/core';
import type { JobMonitor } from './job-monitor.js';
import { buildOverview, type Overview } from './overview.js';

export interface EventStreamOptions {
  /** Live job events are sent in batches this often, ms. @default 500 */
  batchMs?: number;
  /** Keep-alive comment period, ms. @default 15000 */
  pingMs?: number;
  /** Most job events in one batch; the rest are counted in `dropped`. @default 200 */
  maxBatch?: number;
  /** A client with more than this many bytes unsent is dropped. @default 4 MiB */
  maxBufferedBytes?: number;
}

interface Client {
  res: ServerResponse;
  pending: JobEvent[];
  dropped: number;
}

export class EventStreamHub {
  readonly #clients = new Set<Client>();
  readonly #opts: Required<EventStreamOptions>;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #unsubscribe: Array<() => void> = [];
  #overview?: { at: number; json: string };

  constructor(
    private readonly monitor: JobMonitor,
    private readonly log: Logger,
    opts: EventStreamOptions = {},
  ) {
    this.#opts = {
      batchMs: opts.batchMs ?? 500,
      pingMs: opts.pingMs ?? 15_000,
      maxBatch: opts.maxBatch ?? 200,
      maxBufferedBytes: opts.maxBufferedBytes ?? 4 * 1024 * 1024,
    };
    this.#unsubscribe.push(
      monitor.onSnapshot(() => {
        if (this.#clients.size === 0) return;
        const json = this.#overviewJson(true);
        for (const c of this.#clients) this.#write(c, `event: overview\ndata: ${json}\n\n`);
      }),
      monitor.tracker.subscribe(({ event, replayed }) => {
        if (replayed || event.state === 'progress' || this.#clients.size === 0) return;
        for (const c of this.#clients) {
          if (c.pending.length < this.#opts.maxBatch) c.pending.push(event);
          else c.dropped++;
        }
      }),
    );
    this.#timers.push(
      setInterval(() => this.#flush(), this.#opts.batchMs),
      setInterval(() => {
        for (const c of this.#clients) this.#write(c, `: ping ${Date.now()}\n\n`);
      }, this.#opts.pingMs),
    );
  }

  get clients(): number {
    return this.#clients.size;
  }

  #overviewJson(fresh: boolean): string {
    const at = this.monitor.snapshot()?.at ?? 0;
    if (fresh || !this.#overview || this.#overview.at !== at) {
      const o: Overview = buildOverview(this.monitor);
      this.#overview = { at, json: JSON.stringify(o) };
    }
    return this.#overview.json;
  }

  /** Take over a response: headers, the first overview, then live updates until it closes. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const client: Client = { res, pending: [], dropped: 0 };
    this.#clients.add(client);
    res.on('close', () => this.#clients.delete(client));
    this.#write(client, `retry: 2000\nevent: overview\ndata: ${this.#overviewJson(false)}\n\n`);
  }

  #flush(): void {
    for (const c of this.#clients) {
      if (c.pending.length === 0 && c.dropped === 0) continue;
      const data = JSON.stringify({ events: c.pending, dropped: c.dropped });
      c.pending = [];
      c.dropped = 0;
      this.#write(c, `event: jobs\ndata: ${data}\n\n`);
    }
  }

  #write(c: Client, chunk: string): void {
    if (c.res.destroyed) {
      this.#clients.delete(c);
      return;
    }
    if (c.res.writableLength > this.#opts.maxBufferedBytes) {
      this.log.warn('dropping a dashboard event stream that stopped reading');
      this.#clients.delete(c);
      c.res.destroy();
      return;
    }
    c.res.write(chunk);
  }

  /** End every stream and stop the timers. */
  close(): void {
    for (const t of this.#timers) clearInterval(t);
    for (const u of this.#unsubscribe) u();
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }
}
