/**
 * Traces across processes: a producer, the scheduler service and a worker
 * service, each with the SDK registered through `@rfw/telemetry`, export to a
 * real OTLP/HTTP receiver started here. Asserted: the parent/child structure
 * producer → (scheduler release) → worker attempt → handler span, the DLQ
 * move as a child of the attempt, the retry from the DLQ as a new trace
 * linked to the dead letter's, and the cron fire as the root of its job's trace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { NatsServer, spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('OpenTelemetry traces across producer, scheduler and worker', () => {
  let server: NatsServer;
  let receiver: OtlpReceiver;
  const procs: ServiceProcess[] = [];
  let ids: { now: string; later: string; dies: string };

  const otelEnv = (): Record<string, string> => ({
    NATS_URL: server.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    LOG_LEVEL: 'info',
  });

  beforeAll(async () => {
    server = await NatsServer.start();
    receiver = await OtlpReceiver.start();
    const scheduler = spawnService(`${repoRoot}services/scheduler/src/main.ts`, {
      env: {
        ...otelEnv(),
        HTTP_PORT: '0',
        SCHEDULES: JSON.stringify([{ name: 'tick', everyMs: 1000, type: 'traced', payload: {} }]),
      },
    });
    const worker = spawnService(fixture('traced-worker.ts'), {
      env: { ...otelEnv(), HTTP_PORT: '0' },
    });
    procs.push(scheduler, worker);
    await Promise.all(
      [scheduler, worker].map((p) => p.waitForLine((l) => l.includes('service ready'), 120_000)),
    );
    const producer = spawnService(fixture('traced-producer.ts'), { env: otelEnv() });
    procs.push(producer);
    const line = await producer.waitForLine((l) => l.startsWith('{"ids"'), 120_000);
    ids = (JSON.parse(line) as { ids: typeof ids }).ids;
    expect(await producer.exited).toEqual({ code: 0, signal: null });
  }, 240_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await receiver?.close();
    await server?.stop();
  });

  const spansOf = (jobId: string): ReceivedSpan[] =>
    receiver.spans.filter((s) => s.attributes['rfw.job.id'] === jobId);
  const one = (list: ReceivedSpan[], name: string, service: string): ReceivedSpan => {
    const found = list.filter((s) => s.name === name && s.service === service);
    expect(found, `${name} from ${service}`).toHaveLength(1);
    return found[0] as ReceivedSpan;
  };
  const childOf = (child: ReceivedSpan, parent: ReceivedSpan): void => {
    expect(child.traceId).toBe(parent.traceId);
    expect(child.parentSpanId).toBe(parent.spanId);
  };

  it('an immediate job: producer request → enqueue → attempt → handler span', async () => {
    const root = await waitFor('the producer root span', () =>
      receiver.spans.find((s) => s.name === 'producer request'),
    );
    const attempt = await waitFor('the attempt span', () =>
      spansOf(ids.now).find((s) => s.name === 'rfw.process traced'),
    );
    const enqueue = one(spansOf(ids.now), 'rfw.enqueue traced', 'traced-producer');
    childOf(enqueue, root);
    expect(attempt.service).toBe('traced-worker');
    childOf(attempt, enqueue);
    expect(attempt.attributes).toMatchObject({
      'rfw.job.type': 'traced',
      'rfw.job.priority': 'normal',
      'rfw.job.attempt': 1,
      'rfw.job.outcome': 'succeeded',
    });
    expect(attempt.attributes['rfw.queue.wait_ms']).toEqual(expect.any(Number));
    const handler = await waitFor('the handler span', () =>
      receiver.spans.find((s) => s.name === 'handler work' && s.parentSpanId === attempt.spanId),
    );
    expect(handler.traceId).toBe(root.traceId);
    expect(receiver.rejected).toEqual([]);
  });

  it('a delayed job: enqueue → scheduler release → attempt, across three processes', async () => {
    const attempt = await waitFor('the delayed attempt span', () =>
      spansOf(ids.later).find((s) => s.name === 'rfw.process traced'),
    );
    const enqueue = one(spansOf(ids.later), 'rfw.enqueue traced', 'traced-producer');
    const release = one(spansOf(ids.later), 'rfw.release traced', 'scheduler');
    childOf(release, enqueue);
    childOf(attempt, release);
    expect(new Set([enqueue.service, release.service, attempt.service]).size).toBe(3);
  });

  it('a dead job: the DLQ move is a child of the attempt; its retry links back to it', async () => {
    const retry = await waitFor('the retry span', () =>
      spansOf(ids.dies).find((s) => s.name === 'rfw.retry traced'),
    );
    const attempts = await waitFor('both attempts', () => {
      const a = spansOf(ids.dies).filter((s) => s.name === 'rfw.process traced');
      return a.length === 2 ? a : undefined;
    });
    const moves = await waitFor('both DLQ moves', () => {
      const m = spansOf(ids.dies).filter((s) => s.name === 'rfw.dead_letter traced');
      return m.length === 2 ? m : undefined;
    });
    const first = attempts.find((a) => a.traceId !== retry.traceId) as ReceivedSpan;
    const firstMove = moves.find((m) => m.parentSpanId === first.spanId) as ReceivedSpan;
    expect(firstMove).toBeDefined();
    childOf(firstMove, first);
    expect(first.attributes['rfw.job.outcome']).toBe('dead');
    expect(first.status).toBe(2); // ERROR
    // The retry starts a new trace, linked to the dead letter's context.
    expect(retry.traceId).not.toBe(first.traceId);
    expect(retry.links).toEqual([{ traceId: firstMove.traceId, spanId: firstMove.spanId }]);
    const second = attempts.find((a) => a.traceId === retry.traceId) as ReceivedSpan;
    childOf(second, retry);
  });

  it('a cron fire is the root of its job trace', async () => {
    const fire = await waitFor('a cron fire span', () =>
      receiver.spans.find((s) => s.name === 'rfw.cron tick' && s.service === 'scheduler'),
    );
    expect(fire.parentSpanId).toBeUndefined();
    const jobId = String(fire.attributes['rfw.job.id']);
    const attempt = await waitFor('the cron job attempt', () =>
      spansOf(jobId).find((s) => s.name === 'rfw.process traced'),
    );
    const enqueue = one(spansOf(jobId), 'rfw.enqueue traced', 'scheduler');
    childOf(enqueue, fire);
    childOf(attempt, enqueue);
  });
});
