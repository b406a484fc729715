/**
 * The three endpoints every service exposes: `/healthz` (the process is up),
 * `/readyz` (it can do its work: connected, started, healthy) and `/metrics`
 * (Prometheus text). Node's own http module: three fixed routes need no framework.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HttpEndpointsOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  registry?: Registry;
  /** Readiness: `true`, or a reason it is not ready. */
  ready: () => Promise<true | string> | true | string;
  /** Extra JSON shown on `/healthz`. */
  info?: () => unknown;
}

export interface HttpEndpoints {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startHttpEndpoints(opts: HttpEndpointsOptions): Promise<HttpEndpoints> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      try {
        if (path === '/healthz') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'ok', ...(opts.info ? { info: opts.info() } : {}) }));
        } else if (path === '/readyz') {
          const r = await opts.ready();
          res.writeHead(r === true ? 200 : 503, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify(r === true ? { status: 'ready' } : { status: 'not-ready', reason: r }),
          );
        } else if (path === '/metrics' && opts.registry) {
          const body = await opts.registry.metrics();
          res.writeHead(200, { 'content-type': opts.registry.contentType });
          res.end(body);
        } else {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'not found' }));
        }
      } catch (err) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: (err as Error).message }));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
