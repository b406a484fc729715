import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, AckPolicy } from '@nats-io/jetstream';
import { NatsServer } from '@rfw/testkit';
import {
  ConnectionLostError,
  InvalidStateError,
  JobNotFoundError,
  JobQueue,
  JobValidationError,
  PayloadTooLargeError,
  ProvisioningDriftError,
  ensureStream,
  Names,
} from '@rfw/core/internal';
import { jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';

describe('job_processing: JobQueue against a real nats-server', () => {
  let server: NatsServer;
  let queue: JobQueue;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await NatsServer.start({ config: 'max_payload: 65536' });
    queue = await JobQueue.connect({ servers: server.url });
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await queue?.close();
    await nc?.close();
    await server?.stop();
  });

  it('schedules a job and reads it back', async () => {
    const id = await queue.schedule(
      'email',
      { to: 'a@b.c' },
      { priority: 'high', maxRetries: 5, timeout: 1000 },
    );
    const job = await queue.get(id);
    expect(job).toMatchObject({
      id,
      type: 'email',
      priority: 'high',
      state: 'pending',
      payload: { to: 'a@b.c' },
      maxRetries: 5,
      timeoutMs: 1000,
      attempts: 0,
    });
    expect(job?.history[0]?.state).toBe('pending');
  });

  it('stores delayed jobs as delayed', async () => {
    const id = await queue.schedule('email', { n: 1 }, { delay: 60_000 });
    const job = await queue.get(id);
    expect(job?.state).toBe('delayed');
    expect(job!.runAt).toBeGreaterThan(Date.now() + 50_000);
    const page = await queue.list({ status: 'delayed', type: 'email' });
    expect(page.jobs.map((j) => j.id)).toContain(id);
  });

  it('enqueues a job id once (dedupe by id)', async () => {
    const a = await queue.schedule('dedupe', { v: 1 }, { id: 'same-id-1' });
    const b = await queue.schedule('dedupe', { v: 2 }, { id: 'same-id-1' });
    expect(a).toBe(b);
    const stats = await queue.statistics();
    expect(stats.byType.dedupe?.total.queueSize).toBe(1);
    expect((await queue.get('same-id-1'))?.payload).toEqual({ v: 1 });
  });

  it('writes the record a retried schedule finds missing, and publishes nothing twice', async () => {
    // A first call whose publish landed but whose record write was lost (a
    // timeout, a crash): the retry's publish is a duplicate and writes the record.
    const id = await queue.schedule('retried', { v: 1 }, { id: 'lost-record-1', delay: 60_000 });
    const kv = await new Kvm(nc).open(new Names().jobsBucket);
    await kv.delete(id);
    expect((await kv.get(id))?.operation).toBe('DEL');
    await queue.schedule('retried', { v: 1 }, { id, delay: 60_000 });
    expect((await kv.get(id))?.json<{ state: string }>().state).toBe('delayed');
    expect((await queue.get(id))?.state).toBe('delayed');
    const names = new Names();
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(names.delayedStream, { subjects_filter: '>' });
    expect(info.state.subjects?.[names.delayedSubject('retried', 'normal')]).toBe(1);
  });

  it.each([
    ['type', () => queue.schedule('', {})],
    ['type', () => queue.schedule('Bad Type!', {})],
    ['priority', () => queue.schedule('t', {}, { priority: 'urgent' as never })],
    ['delay', () => queue.schedule('t', {}, { delay: -5 })],
    ['delay', () => queue.schedule('t', {}, { delay: 5, runAt: Date.now() })],
    ['runAt', () => queue.schedule('t', {}, { runAt: new Date('nope') })],
    ['payload', () => queue.schedule('t', undefined)],
    ['payload', () => queue.schedule('t', { big: 10n })],
    ['payload', () => queue.schedule('t', { n: Number.NaN })],
    ['maxRetries', () => queue.schedule('t', {}, { maxRetries: -1 })],
    ['timeout', () => queue.schedule('t', {}, { timeout: 0 })],
    ['id', () => queue.schedule('t', {}, { id: 'has space' })],
  ])('refuses a bad %s with a typed error and enqueues nothing', async (field, call) => {
    const before = (await queue.statistics()).total.queueSize;
    const err = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JobValidationError);
    expect((err as JobValidationError).field).toBe(field);
    expect((await queue.statistics()).total.queueSize).toBe(before);
  });

  it('refuses a payload over max_payload and enqueues nothing', async () => {
    const err = await queue.schedule('big', { blob: 'x'.repeat(70_000) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as PayloadTooLargeError).maxPayload).toBeLessThan(65536);
    expect((await queue.statistics()).byType.big).toBeUndefined();
  });

  it('cancels a pending job so that no consumer ever receives it', async () => {
    const names = new Names();
    const keep = await queue.schedule('cancelme', { keep: true });
    const drop = await queue.schedule('cancelme', { keep: false });
    const cancelled = await queue.cancel(drop);
    expect(cancelled.state).toBe('cancelled');
    await expect(queue.cancel('no-such-job')).rejects.toBeInstanceOf(JobNotFoundError);
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(names.jobsStream, {
      durable_name: 'cancel_probe',
      ack_policy: AckPolicy.Explicit,
      filter_subject: names.jobFilter('cancelme', 'normal'),
    });
    const c = await jetstream(nc).consumers.get(names.jobsStream, 'cancel_probe');
    const seen: string[] = [];
    const batch = await c.fetch({ max_messages: 10, expires: 1000 });
    for await (const m of batch) {
      seen.push(m.headers?.get('Rfw-Job-Id') ?? '');
      m.ack();
    }
    expect(seen).toEqual([keep]);
    await jsm.consumers.delete(names.jobsStream, 'cancel_probe');
  });

  it('refuses to cancel a finished job, and retries a cancelled one keeping its history', async () => {
    const id = await queue.schedule('retryable', { a: 1 });
    await queue.cancel(id);
    const retried = await queue.retry(id);
    expect(retried.state).toBe('pending');
    expect(retried.history.map((h) => h.state)).toEqual(['pending', 'cancelled', 'pending']);
    await expect(queue.retry(id)).rejects.toBeInstanceOf(InvalidStateError);
    expect(
      (await queue.list({ status: 'pending', type: 'retryable' })).jobs.map((j) => j.id),
    ).toEqual([id]);
  });

  it('lists with filters and pages with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push(await queue.schedule('paged', { i }, { priority: i % 2 ? 'low' : 'normal' }));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await queue.list({ status: 'pending', type: 'paged', limit: 3, cursor });
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.jobs.length ? page.nextCursor : undefined;
    } while (cursor);
    expect(seen).toEqual(ids);
    const low = await queue.list({ status: 'pending', type: 'paged', priority: 'low' });
    expect(low.jobs).toHaveLength(3);
    const all = await queue.list({ type: 'paged', limit: 100 });
    expect(all.jobs.map((j) => j.id).sort()).toEqual([...ids].sort());
    await expect(queue.list({ status: 'nope' as never })).rejects.toBeInstanceOf(
      JobValidationError,
    );
    await expect(queue.list({ limit: 0 })).rejects.toBeInstanceOf(JobValidationError);
  });

  it('counts per type and priority in statistics()', async () => {
    await queue.schedule('counted', {}, { priority: 'critical' });
    await queue.schedule('counted', {}, { priority: 'critical' });
    await queue.schedule('counted', {}, { priority: 'low', delay: 60_000 });
    const stats = await queue.statistics();
    expect(stats.byType.counted?.byPriority.critical?.pending).toBe(2);
    expect(stats.byType.counted?.byPriority.low?.delayed).toBe(1);
    expect(stats.byType.counted?.total.queueSize).toBe(2);
  });

  it('sees a job published with a bare NATS publish (no project code)', async () => {
    const js = jetstream(nc);
    const h = headers();
    h.set('Nats-Msg-Id', 'bare-job-1');
    await js.publish('rfw.jobs.bare.high', JSON.stringify({ hello: 'world' }), { headers: h });
    const job = await queue.get('bare-job-1');
    expect(job).toMatchObject({
      id: 'bare-job-1',
      type: 'bare',
      priority: 'high',
      state: 'pending',
      payload: { hello: 'world' },
    });
    const listed = await queue.list({ status: 'pending', type: 'bare' });
    expect(listed.jobs.map((j) => j.id)).toEqual(['bare-job-1']);
    // Without any header the id is derived from the stream sequence.
    const ack = await js.publish('rfw.jobs.bare.low', '{"n":2}');
    expect((await queue.get(`s${ack.seq}`))?.payload).toEqual({ n: 2 });
  });

  it('schedules in bulk with per-item results', async () => {
    const results = await queue.scheduleMany([
      { type: 'bulk', payload: { i: 1 } },
      { type: 'BAD', payload: {} },
      { type: 'bulk', payload: { i: 2 }, options: { priority: 'high' } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect((results[1] as { error: Error }).error).toBeInstanceOf(JobValidationError);
  });

  it('detects a drifted stream config and updates or refuses it', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: 'drift_test',
      subjects: ['drift.>'],
      retention: RetentionPolicy.Limits,
      max_msgs: 10,
    });
    await ensureStream(jsm, { name: 'drift_test', subjects: ['drift.>'], max_msgs: 20 });
    expect((await jsm.streams.info('drift_test')).config.max_msgs).toBe(20);
    await expect(
      ensureStream(jsm, { name: 'drift_test', max_msgs: 30 }, 'error'),
    ).rejects.toBeInstanceOf(ProvisioningDriftError);
    await expect(
      ensureStream(jsm, { name: 'drift_test', retention: RetentionPolicy.Workqueue }),
    ).rejects.toMatchObject({
      field: 'retention',
    });
  });
});

describe('job_processing: durability', () => {
  it('keeps 1,000 accepted jobs through a SIGKILL of nats-server', async () => {
    const server = await NatsServer.start();
    try {
      const queue = await JobQueue.connect({ servers: server.url, prefix: 'dur' });
      const results = await queue.scheduleMany(
        Array.from({ length: 1000 }, (_, i) => ({ type: 'durable', payload: { i } })),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      await queue.close();
      await server.kill();
      await server.restart();
      const after = await JobQueue.connect({ servers: server.url, prefix: 'dur' });
      const stats = await after.statistics();
      expect(stats.byType.durable?.total.queueSize).toBe(1000);
      const first = results[0] as { id: string };
      expect((await after.get(first.id))?.state).toBe('pending');
      await after.close();
    } finally {
      await server.stop();
    }
  });
});

describe('job_processing: connection loss', () => {
  it('throws ConnectionLostError when the broker is gone, and after close()', async () => {
    const server = await NatsServer.start();
    try {
      const queue = await JobQueue.connect({ servers: server.url, prefix: 'lost' });
      await server.kill();
      const err = await queue.schedule('t', { a: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionLostError);
      await queue.close();
      await expect(queue.schedule('t', {})).rejects.toBeInstanceOf(ConnectionLostError);
    } finally {
      await server.stop();
    }
  });
});
