/**
 * Scenario 8: security. Against a nats-server running the shipped
 * `deploy/nats` configuration:
 * - every worker service's NATS user is swept over every job type's subjects
 *   (jobs, delayed, dead letters, events) and a few JetStream admin calls: it
 *   may publish only what its role needs (jobs and `pending` events of the
 *   types it produces; dead letters and any event of the types it consumes),
 *   and is refused the rest;
 * - the monitor (as its own NATS user, with `ADMIN_TOKEN`) answers every
 *   `/api` route with 401 to a request without the token, or with a wrong,
 *   truncated, differently-schemed or query-string token, and such requests
 *   change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { JobQueue, PRIORITIES } from '@rfw/core';
import { ROLES } from '@rfw/supervisor';
import { spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
import { startDeployNats, type DeployNats } from './support/deploy-nats.js';
import { repoRoot } from './support/paths.js';
import { writeReport } from './support/report.js';

const TOKEN = 'chaos-security-token-0123456789abcdef';

describe('integration: chaos: NATS permissions and admin API token', () => {
  let nats: DeployNats;
  let monitor: ServiceProcess | undefined;
  const open: NatsConnection[] = [];
  let queue: JobQueue | undefined;

  beforeAll(async () => {
    nats = await startDeployNats();
  });
  afterAll(async () => {
    await monitor?.kill('SIGTERM');
    await queue?.close();
    await Promise.all(open.map((c) => c.close()));
    await nats?.stop();
  });

  it('refuses a worker user other types’ subjects, and the admin API every request without its token', async () => {
    const started = Date.now();
    // Streams and buckets exist before any worker connects (as in a deployment).
    queue = await JobQueue.connect({ servers: nats.urlFor('admin') });

    // --- NATS: every worker user against every type's subjects --------------
    const workers = ROLES.filter((r) => r.consumes.length > 0);
    const types = [
      ...new Set([
        ...ROLES.flatMap((r) => [...r.consumes, ...(r.produces === '*' ? [] : r.produces)]),
        'chaos',
      ]),
    ].sort();
    const probes: Array<{ user: string; subject: string; allowed: boolean; want: boolean }> = [];
    const apiProbes: Array<{ user: string; call: string; refused: boolean }> = [];
    let n = 0;
    for (const role of workers) {
      const nc = await connect({ ...nats.optsFor(role.user), maxReconnectAttempts: 0 });
      open.push(nc);
      const js = jetstream(nc);
      const produces = (t: string): boolean => role.produces === '*' || role.produces.includes(t);
      const consumes = (t: string): boolean => role.consumes.includes(t);
      for (const t of types) {
        const subjects: Array<[string, boolean]> = [
          ...PRIORITIES.map((p): [string, boolean] => [`rfw.jobs.${t}.${p}`, produces(t)]),
          // Wire format v2: a job on its own subject. The consumer of a type
          // may publish there too: it releases flow parents of its types.
          [`rfw.jobs.${t}.high.probe-job`, produces(t) || consumes(t)],
          [`rfw.delayed.${t}.normal`, produces(t)],
          [`rfw.dlq.${t}`, consumes(t)],
          // A producer announces what it schedules; only the consumer of a type ends its jobs.
          [`rfw.events.${t}.normal.pending`, consumes(t) || produces(t)],
          [`rfw.events.${t}.normal.succeeded`, consumes(t)],
          // ... and a flow parent of a type it produces may end `dead` by a child's failure.
          [`rfw.events.${t}.normal.dead`, consumes(t) || produces(t)],
        ];
        for (const [subject, want] of subjects) {
          const h = natsHeaders();
          h.set('Rfw-Job-Id', `perm-${++n}`);
          h.set('Rfw-Run-At', String(Date.now() + 3_600_000));
          const allowed = await js
            .publish(subject, JSON.stringify({ n }), { headers: h, timeout: 5000 })
            .then(
              () => true,
              (err: Error) => {
                if (!/permission/i.test(err.message)) throw err;
                return false;
              },
            );
          probes.push({ user: role.user, subject, allowed, want });
        }
      }
      // JetStream calls no worker needs: deleting or purging streams, another type's consumer.
      const jsm = await jetstreamManager(nc);
      const other = types.find((t) => !role.consumes.includes(t)) as string;
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['STREAM.DELETE rfw_jobs', () => jsm.streams.delete('rfw_jobs')],
        ['STREAM.PURGE rfw_dlq', () => jsm.streams.purge('rfw_dlq')],
        ['STREAM.DELETE KV_rfw_jobs', () => jsm.streams.delete('KV_rfw_jobs')],
        [
          `CONSUMER.INFO rfw_${other}_normal`,
          () => jsm.consumers.info('rfw_jobs', `rfw_${other}_normal`),
        ],
        [
          `CONSUMER.CREATE rfw_${other}_normal`,
          () =>
            jsm.consumers.add('rfw_jobs', {
              durable_name: `rfw_${other}_normal`,
              filter_subject: `rfw.jobs.${other}.normal.*`,
              ack_policy: 'explicit' as never,
            }),
        ],
      ];
      for (const [call, fn] of calls) {
        const refused = await fn().then(
          () => false,
          (err: Error) => /permission|timeout/i.test(`${err.message} ${String(err.cause ?? '')}`),
        );
        apiProbes.push({ user: role.user, call, refused });
      }
    }
    const natsViolations = probes.filter((p) => p.allowed !== p.want);
    const apiViolations = apiProbes.filter((p) => !p.refused);

    // --- Admin API: every route without the token ---------------------------
    monitor = spawnService(`${repoRoot}services/monitor/src/main.ts`, {
      env: {
        NATS_URL: nats.urlFor('monitor'),
        RFW_PREFIX: 'rfw',
        ADMIN_TOKEN: TOKEN,
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
      },
    });
    const ready = await monitor.waitForLine((l) => l.includes('"msg":"service ready"'), 120_000);
    const base = (JSON.parse(ready) as { http: string }).http;
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    // A dead letter and no paused type: what unauthenticated calls must not change.
    const dh = natsHeaders();
    dh.set('Rfw-Job-Id', 'sec-dead');
    dh.set('Rfw-Dead-Reason', 'seeded by the security test');
    await jetstream(queue.ctx.nc).publish('rfw.dlq.chaos', '{}', { headers: dh });
    const dlqBefore = (await queue.listDeadLetters({ type: 'chaos' })).deadLetters.length;
    const jobsBefore = (await queue.ctx.jsm.streams.info('rfw_jobs')).state.messages;

    const bodies: Record<string, unknown> = {
      '/api/jobs': { type: 'chaos', payload: { n: 1 } },
      '/api/dlq/retry': { all: true },
      '/api/dlq/purge': { all: true },
      '/api/search': { text: 'x' },
    };
    const variants: Array<[string, Record<string, string>, string]> = [
      ['none', {}, ''],
      ['wrong', { authorization: 'Bearer wrong-token-wrong-token-wrong' }, ''],
      ['truncated', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, ''],
      ['extended', { authorization: `Bearer ${TOKEN}x` }, ''],
      ['basic', { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` }, ''],
      ['raw', { authorization: TOKEN }, ''],
      ['empty', { authorization: 'Bearer ' }, ''],
      ['query', {}, `?token=${TOKEN}&access_token=${TOKEN}`],
      ['other-header', { 'x-admin-token': TOKEN, 'x-api-key': TOKEN }, ''],
    ];
    const httpProbes: Array<{ route: string; variant: string; status: number; typed: boolean }> =
      [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith('/api')) continue;
      const url = path.replace('{id}', 'sec-job-1').replace('{type}', 'chaos');
      for (const method of Object.keys(ops).map((m) => m.toUpperCase())) {
        for (const [variant, hdrs, query] of variants) {
          const body = method === 'GET' ? undefined : JSON.stringify(bodies[path] ?? {});
          const res = await fetch(`${base}${url}${query}`, {
            method,
            headers: { ...hdrs, ...(body ? { 'content-type': 'application/json' } : {}) },
            body,
            signal: AbortSignal.timeout(10_000),
          });
          const text = res.headers.get('content-type')?.startsWith('text/event-stream')
            ? (await res.body?.cancel(), '')
            : await res.text();
          let typed = false;
          try {
            typed = typeof (JSON.parse(text) as { error?: unknown }).error === 'string';
          } catch {
            typed = false;
          }
          httpProbes.push({ route: `${method} ${path}`, variant, status: res.status, typed });
        }
      }
    }
    const notRefused = httpProbes.filter((p) => p.status !== 401 || !p.typed);
    const dlqAfter = (await queue.listDeadLetters({ type: 'chaos' })).deadLetters.length;
    const jobsAfter = (await queue.ctx.jsm.streams.info('rfw_jobs')).state.messages;
    const paused = await queue.pausedTypes();
    // The right token does work (the 401s are about the token, not a broken API).
    const withToken = await fetch(`${base}/api/jobs?limit=1`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    // The server's own account of the refusals.
    await waitFor('the server to log the refused publishes', () =>
      /Publish Violation/.test(nats.log()),
    );
    const loggedViolations = nats.log().match(/Publish Violation/g)?.length ?? 0;

    const report = {
      id: '8-security',
      title: `NATS permissions of ${workers.length} worker users over ${types.length} job types (deploy/nats), admin API token on every route`,
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      jobsScheduled: 0,
      terminal: { succeeded: 0, dead: 0, cancelled: 0 },
      lost: 0,
      multipleTerminal: 0,
      multipleTerminalRecords: 0,
      multipleTerminalEvents: 0,
      wrongOutcome: natsViolations.length + apiViolations.length + notRefused.length,
      executions: 0,
      extraExecutions: 0,
      unplannedExecutions: 0,
      faults: {
        natsPublishProbes: probes.length,
        natsApiProbes: apiProbes.length,
        httpProbes: httpProbes.length,
      },
      producerErrors: {},
      crashes: monitor.proc.exitCode !== null || monitor.proc.signalCode !== null ? 1 : 0,
      extra: {
        publishRefused: probes.filter((p) => !p.allowed).length,
        publishAllowed: probes.filter((p) => p.allowed).length,
        serverLoggedPublishViolations: loggedViolations,
        natsViolations: natsViolations.length,
        apiCallsRefused: apiProbes.filter((p) => p.refused).length,
        httpRefused401: httpProbes.filter((p) => p.status === 401).length,
        routesChecked: new Set(httpProbes.map((p) => p.route)).size,
        sideEffects: {
          dlqBefore,
          dlqAfter,
          jobsBefore,
          jobsAfter,
          paused,
        },
        withTokenStatus: withToken.status,
      },
      examples: {
        nats: natsViolations.slice(0, 10).map((v) => `${v.user} ${v.subject} allowed=${v.allowed}`),
        natsApi: apiViolations.slice(0, 10).map((v) => `${v.user} ${v.call}`),
        http: notRefused.slice(0, 10).map((p) => `${p.variant} ${p.route} -> ${p.status}`),
      },
    };
    writeReport(report);

    expect(natsViolations).toEqual([]);
    expect(apiViolations).toEqual([]);
    expect(probes.some((p) => p.allowed)).toBe(true);
    expect(notRefused).toEqual([]);
    expect(dlqAfter).toBe(dlqBefore);
    expect(jobsAfter).toBe(jobsBefore);
    expect(paused).toEqual([]);
    expect(withToken.status).toBe(200);
    expect(report.crashes).toBe(0);
  }, 240_000);
});
