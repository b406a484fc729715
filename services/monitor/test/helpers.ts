import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { LeaderElection } from '@rfw/cluster';
import { useJobFixture } from '@rfw/testkit';
import { JobMonitor, type JobMonitorOptions, type AlertPayload } from '../src/index.js';

let counter = 0;

export interface RunningMonitor {
  monitor: JobMonitor;
  election?: LeaderElection;
  nc: NatsConnection;
  stop(): Promise<void>;
}

/** One nats-server per test file; each test gets its own prefix and cleans up what it started. */
export function useHarness() {
  const fx = useJobFixture(
    { beforeAll, afterEach, afterAll },
    {
      prefixBase: 'm',
      managerDefaults: { heartbeatIntervalMs: 300, backoff: { baseMs: 50, capMs: 500 } },
    },
  );
  return Object.assign(fx, {
    /** A started monitor with fast timers; with `elect`, it competes for the `monitor` role. */
    async monitor(
      opts: Partial<JobMonitorOptions> & { elect?: boolean; leaseMs?: number } = {},
    ): Promise<RunningMonitor> {
      const nodeId = opts.nodeId ?? `mon${++counter}`;
      const nc = await connect({ servers: fx.server.url, name: nodeId });
      const election = opts.elect
        ? await LeaderElection.create({
            connection: nc,
            prefix: fx.prefix,
            role: 'monitor',
            nodeId,
            leaseMs: opts.leaseMs ?? 1500,
          })
        : undefined;
      const monitor = await JobMonitor.create({
        connection: nc,
        prefix: fx.prefix,
        nodeId,
        elector: election,
        refreshIntervalMs: 200,
        evaluationIntervalMs: 200,
        historyMs: 60_000,
        rateWindowMs: 10_000,
        delivery: { retryBaseMs: 100, retryCapMs: 400, timeoutMs: 2000 },
        ...opts,
      });
      await monitor.startMonitoring();
      await election?.start();
      let stopping: Promise<void> | undefined;
      const stop = (): Promise<void> =>
        (stopping ??= (async () => {
          await monitor.stop();
          await election?.stop();
          await nc.close();
        })());
      fx.defer(stop);
      return { monitor, election, nc, stop };
    },
  });
}

/** A webhook receiver on node:http that can fail its first requests. */
export class WebhookReceiver {
  /** Every request, in arrival order. */
  readonly attempts: Array<{
    payload: AlertPayload;
    status: number;
    headers: IncomingMessage['headers'];
  }> = [];
  /** Payloads answered with 2xx. */
  readonly accepted: AlertPayload[] = [];
  readonly server: Server;
  url = '';

  private constructor(private readonly failFirst: number) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlertPayload;
        const fail = this.attempts.length < this.failFirst;
        const status = fail ? 503 : 200;
        this.attempts.push({ payload, status, headers: req.headers });
        if (!fail) this.accepted.push(payload);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(fail ? 'down' : 'ok');
      });
    });
  }

  static async start(opts: { failFirst?: number } = {}): Promise<WebhookReceiver> {
    const r = new WebhookReceiver(opts.failFirst ?? 0);
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hook`;
    return r;
  }

  /** Accepted notifications of one alert and status. */
  of(alert: string, status: 'firing' | 'resolved'): AlertPayload[] {
    return this.accepted.filter((p) => p.alert === alert && p.status === status);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

/** A JSON client of the admin API at `url`: status, parsed body (or `{ text }`) and headers. */
export function apiClient(url: string, token: string) {
  return async (
    path: string,
    init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) => {
    const sends = init.body !== undefined || init.raw !== undefined;
    const res = await fetch(url + path, {
      method: init.method ?? 'GET',
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(sends ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: res.status, body, text, headers: res.headers };
  };
}
