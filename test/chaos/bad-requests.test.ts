/**
 * Scenario 6b: malformed admin API requests, generated with fast-check, sent
 * over real HTTP to a real monitor process: every route with garbage path
 * parameters, query strings, content types and bodies (broken JSON, wrong
 * types, too large), with the right bearer token, a wrong one or none. Every
 * answer must be a 4xx with a typed JSON error (or a 2xx when the request
 * happened to be valid), never a 5xx other than a typed "unavailable", and the
 * monitor must stay up. Without the token, `/api` must answer 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JobQueue } from '@rfw/core';
import { NatsServer, spawnService, type ServiceProcess } from '@rfw/testkit';
import { addTargetSchedules, badRequest, type BadRequest } from './support/bad-requests.js';
import { repoRoot } from './support/paths.js';
import { writeReport } from './support/report.js';

const CASES = Number(process.env.CHAOS_BAD_REQUESTS ?? 2000);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);
const TOKEN = 'chaos-admin-token-0123456789abcdef';

interface Answer {
  status: number;
  body: string;
  contentType: string;
  ms: number;
}

describe('integration: chaos: malformed admin API requests', () => {
  let server: NatsServer;
  let monitor: ServiceProcess | undefined;
  let nc: NatsConnection | undefined;
  let queue: JobQueue | undefined;

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await monitor?.kill('SIGTERM');
    await nc?.close();
    await queue?.close();
    await server?.stop();
  });

  it(`answers ${CASES} generated bad requests with 4xx typed errors and never crashes`, async () => {
    const started = Date.now();
    const prefix = 'chaos6b';
    queue = await JobQueue.connect({ servers: server.url, prefix });
    await addTargetSchedules(queue);
    // A stand-in indexing worker, so search requests get an answer instead of
    // waiting out the monitor's search timeout.
    nc = await connect({ servers: server.url });
    nc.subscribe(`${prefix}.api.search`, {
      callback: (_err, msg) => {
        msg.respond(JSON.stringify({ results: [] }));
      },
    });
    monitor = spawnService(`${repoRoot}services/monitor/src/main.ts`, {
      env: {
        NATS_URL: server.url,
        RFW_PREFIX: prefix,
        ADMIN_TOKEN: TOKEN,
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
      },
    });
    const ready = await monitor
      .waitForLine((l) => l.includes('"msg":"service ready"'), 120_000)
      .catch(async () => undefined);
    const base = ready ? (JSON.parse(ready) as { http: string }).http : undefined;
    expect(base, monitor.lines.slice(-20).join('\n')).toBeDefined();

    const send = async (r: BadRequest): Promise<Answer> => {
      const url = new URL(r.path, base);
      for (const [k, v] of r.query) url.searchParams.append(k, v);
      const headers: Record<string, string> = {};
      if (r.auth === 'token') headers.authorization = `Bearer ${TOKEN}`;
      if (r.auth === 'wrong') headers.authorization = `Bearer ${TOKEN.replace(/.$/, 'x')}`;
      if (r.auth === 'malformed') headers.authorization = `Basic ${TOKEN}`;
      const withBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
      if (withBody && r.contentType !== undefined) headers['content-type'] = r.contentType;
      const t0 = Date.now();
      const res = await fetch(url, {
        method: r.method,
        headers,
        body: withBody ? r.body : undefined,
        signal: AbortSignal.timeout(10_000),
      });
      const contentType = res.headers.get('content-type') ?? '';
      // The live event stream never ends: its status and type are the answer.
      const text = contentType.startsWith('text/event-stream')
        ? (await res.body?.cancel(), '')
        : await res.text();
      return { status: res.status, body: text, contentType, ms: Date.now() - t0 };
    };

    const cases = fc.sample(badRequest, { numRuns: CASES, seed: SEED });
    const statuses: Record<string, number> = {};
    const serverErrors: string[] = [];
    const untyped: string[] = [];
    const authBypass: string[] = [];
    const unauthNot401: string[] = [];
    const timing: Record<string, { n: number; ms: number }> = {};
    const noAnswer: string[] = [];
    let slowest = 0;
    let next = 0;
    const describe = (r: BadRequest, a?: Answer): string =>
      `${r.method} ${r.path.slice(0, 80)} q=${JSON.stringify(r.query).slice(0, 60)} ct=${r.contentType ?? '-'} body=${r.body?.length ?? 0}B auth=${r.auth} -> ${a?.status ?? 'none'} ${a?.body.slice(0, 160) ?? ''}`;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < cases.length) {
          const r = cases[next++] as BadRequest;
          let a: Answer;
          try {
            a = await send(r);
          } catch (err) {
            noAnswer.push(`${describe(r)}: ${(err as Error).message}`);
            continue;
          }
          slowest = Math.max(slowest, a.ms);
          statuses[a.status] = (statuses[a.status] ?? 0) + 1;
          const path = new URL(r.path, base).pathname;
          const underApi = path === '/api' || path.startsWith('/api/');
          const route = `${r.method} ${r.route}`;
          const t = (timing[route] ??= { n: 0, ms: 0 });
          t.n++;
          t.ms += a.ms;
          // Without the token nothing under /api may succeed. Answers other than
          // 401 (404 for an unknown route, 400 for a URL the router cannot read)
          // are counted apart: they do nothing, but they run before the check.
          if (underApi && r.auth !== 'token' && a.status !== 401) {
            if (a.status < 400 || a.status >= 500) authBypass.push(describe(r, a));
            else unauthNot401.push(describe(r, a));
          }
          let typed = false;
          try {
            const b = JSON.parse(a.body) as { error?: unknown; message?: unknown };
            typed = typeof b.error === 'string' && typeof b.message === 'string';
          } catch {
            typed = false;
          }
          if (a.status >= 500 && !([502, 503, 504].includes(a.status) && typed))
            serverErrors.push(describe(r, a));
          else if (a.status >= 400 && r.method !== 'HEAD' && !typed) untyped.push(describe(r, a));
        }
      }),
    );
    const health = await fetch(new URL('/healthz', base)).then(
      (r) => r.status,
      () => 0,
    );
    const exited = monitor.proc.exitCode !== null || monitor.proc.signalCode !== null;

    const report = {
      id: '6b-bad-admin-requests',
      title: `${CASES} generated malformed admin API requests over HTTP (fast-check seed ${SEED})`,
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      jobsScheduled: 0,
      terminal: { succeeded: 0, dead: 0, cancelled: 0 },
      lost: 0,
      multipleTerminal: 0,
      multipleTerminalRecords: 0,
      multipleTerminalEvents: 0,
      wrongOutcome: serverErrors.length + untyped.length + authBypass.length + noAnswer.length,
      executions: 0,
      extraExecutions: 0,
      unplannedExecutions: 0,
      faults: { badRequests: CASES },
      producerErrors: {},
      crashes: exited ? 1 : 0,
      extra: {
        seed: SEED,
        statuses,
        serverErrors: serverErrors.length,
        untypedErrors: untyped.length,
        authBypass: authBypass.length,
        unauthenticatedNot401: unauthNot401.length,
        noAnswer: noAnswer.length,
        meanMsByRoute: Object.fromEntries(
          Object.entries(timing).map(([k, v]) => [k, Math.round(v.ms / v.n)]),
        ),
        slowestMs: slowest,
        healthAfter: health,
      },
      examples: {
        serverErrors: serverErrors.slice(0, 10),
        untyped: untyped.slice(0, 10),
        authBypass: authBypass.slice(0, 10),
        unauthenticatedNot401: unauthNot401.slice(0, 10),
        noAnswer: noAnswer.slice(0, 10),
      },
    };
    writeReport(report);

    expect(exited, monitor.lines.slice(-20).join('\n')).toBe(false);
    expect(health).toBe(200);
    expect(authBypass, `seed ${SEED}`).toEqual([]);
    expect(noAnswer, `seed ${SEED}`).toEqual([]);
    expect(serverErrors, `seed ${SEED}`).toEqual([]);
    expect(untyped, `seed ${SEED}`).toEqual([]);
  }, 240_000);
});
