import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jetstream } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import {
  JobResult,
  NonRetryableError,
  RetryAfterError,
  defineWorker,
  type Worker,
} from '@rfw/worker';
import { waitFor } from '@rfw/testkit';
import { useHarness, waitForState } from './helpers.js';

describe('job_processing: worker runtime', () => {
  const h = useHarness();

  it('runs a job to success and records its result and history', async () => {
    const q = await h.queue();
    await h.manager([defineWorker('echo', async (p: { n: number }) => ({ doubled: p.n * 2 }))]);
    const id = await q.schedule('echo', { n: 21 });
    const job = await waitForState(q, id, ['succeeded']);
    expect(job.result).toEqual({ doubled: 42 });
    expect(job.attempts).toBe(1);
    expect(job.history.map((t) => t.state)).toEqual(['pending', 'succeeded']);
  });

  it('retries with exponential backoff, then dead-letters with the reason', async () => {
    const q = await h.queue();
    const times: number[] = [];
    await h.manager([
      defineWorker(
        'flaky',
        async () => {
          times.push(Date.now());
          throw new Error('boom');
        },
        { backoff: { baseMs: 200, factor: 2, capMs: 10_000, jitter: 'none' } },
      ),
    ]);
    const id = await q.schedule('flaky', {}, { maxRetries: 3 });
    const job = await waitForState(q, id, ['dead']);
    expect(job.attempts).toBe(4);
    expect(job.lastError).toBe('boom');
    expect(job.history.filter((t) => t.state === 'retrying')).toHaveLength(3);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    // 200, 400, 800 ms without jitter; allow wide margins on a busy machine.
    gaps.forEach((g, i) => {
      const want = 200 * 2 ** i;
      expect(g).toBeGreaterThanOrEqual(want - 20);
      expect(g).toBeLessThan(want + 1500);
    });
    const dlq = await q.listDeadLetters({ type: 'flaky' });
    expect(dlq.deadLetters).toHaveLength(1);
    expect(dlq.deadLetters[0]).toMatchObject({ id, lastError: 'boom', attempts: 4 });
    expect(dlq.deadLetters[0]?.reason).toContain('failed 4 attempts');
  });

  it('runs an explicit id again once its first run finished', async () => {
    const q = await h.queue();
    let runs = 0;
    await h.manager([defineWorker('again', async () => ++runs)]);
    await q.schedule('again', {}, { id: 'nightly-1' });
    await waitForState(q, 'nightly-1', ['succeeded']);
    // While a run is pending the same id is a no-op; after it finished it runs again.
    await q.schedule('again', {}, { id: 'nightly-1' });
    await expect.poll(() => runs, { timeout: 20_000 }).toBe(2);
    const job = await waitForState(q, 'nightly-1', ['succeeded']);
    expect(job.result).toBe(2);
  });

  it('uses a per-job backoff over the type default', async () => {
    const q = await h.queue();
    const times: number[] = [];
    await h.manager([
      defineWorker(
        'perjob',
        async () => {
          times.push(Date.now());
          if (times.length < 3) throw new Error('again');
        },
        { backoff: { baseMs: 5000, jitter: 'none' } },
      ),
    ]);
    // Full jitter on the job's own backoff: each wait is at most min(cap, base * 2^(n-1)).
    const id = await q.schedule(
      'perjob',
      {},
      { maxRetries: 3, backoff: { baseMs: 100, factor: 2, capMs: 150 } },
    );
    const job = await waitForState(q, id, ['succeeded']);
    expect(job.backoff).toEqual({ baseMs: 100, factor: 2, capMs: 150 });
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(gaps.every((g) => g < 1500)).toBe(true);
  });

  it('dead-letters at once on a non-retryable error, and retries after a RetryAfterError delay', async () => {
    const q = await h.queue();
    let calls = 0;
    let firstAt = 0;
    let secondAt = 0;
    await h.manager([
      defineWorker('fatal', async () => {
        throw new NonRetryableError('bad input');
      }),
      defineWorker('later', async () => {
        calls++;
        if (calls === 1) {
          firstAt = Date.now();
          throw new RetryAfterError(600);
        }
        secondAt = Date.now();
        return 'ok';
      }),
    ]);
    const fatal = await q.schedule('fatal', {}, { maxRetries: 5 });
    const later = await q.schedule('later', {});
    expect((await waitForState(q, fatal, ['dead'])).attempts).toBe(1);
    await waitForState(q, later, ['succeeded']);
    expect(secondAt - firstAt).toBeGreaterThanOrEqual(580);
  });

  it('sends a poison message from a bare publish to the DLQ while good jobs keep flowing', async () => {
    const q = await h.queue();
    const done: number[] = [];
    await h.manager([
      defineWorker('strict', async (p: { n: number }) => void done.push(p.n), {
        schema: z.object({ n: z.number() }),
      }),
    ]);
    const nc = await connect({ servers: h.server.url });
    const js = jetstream(nc);
    const subject = `${h.prefix}.jobs.strict.normal`;
    const bad = headers();
    bad.set('Nats-Msg-Id', 'poison-1');
    await js.publish(subject, 'not json{', { headers: bad });
    const wrong = headers();
    wrong.set('Nats-Msg-Id', 'poison-2');
    await js.publish(subject, JSON.stringify({ n: 'x' }), { headers: wrong });
    const garbage = headers();
    garbage.set('Nats-Msg-Id', 'poison-3');
    garbage.set('Rfw-Max-Retries', 'lots');
    await js.publish(subject, '{"n":1}', { headers: garbage });
    await js.publish(subject, new Uint8Array(0));
    const good = await q.schedule('strict', { n: 7 });
    await waitForState(q, good, ['succeeded']);
    for (const id of ['poison-1', 'poison-2', 'poison-3']) await waitForState(q, id, ['dead']);
    const dlq = await q.listDeadLetters({ type: 'strict' });
    expect(dlq.deadLetters).toHaveLength(4);
    const reasons = dlq.deadLetters.map((d) => d.reason).join('\n');
    expect(reasons).toContain('not valid UTF-8 JSON');
    expect(reasons).toContain('fails the strict schema');
    expect(reasons).toContain('Rfw-Max-Retries');
    expect(reasons).toContain('empty body');
    expect(done).toEqual([7]);
    await nc.close();
  });

  it('retries a dead job from the DLQ, then purges', async () => {
    const q = await h.queue();
    let fail = true;
    await h.manager([
      defineWorker('fixable', async () => {
        if (fail) throw new NonRetryableError('not yet');
        return 'fixed';
      }),
    ]);
    const id = await q.schedule('fixable', { x: 1 });
    await waitForState(q, id, ['dead']);
    fail = false;
    expect(await q.retryDeadLetters({ type: 'fixable' })).toEqual([id]);
    const job = await waitForState(q, id, ['succeeded']);
    expect(job.result).toBe('fixed');
    expect(job.history.map((t) => t.state)).toEqual(['pending', 'dead', 'pending', 'succeeded']);
    expect((await q.listDeadLetters({ type: 'fixable' })).deadLetters).toHaveLength(0);
    fail = true;
    const id2 = await q.schedule('fixable', {});
    await waitForState(q, id2, ['dead']);
    expect(await q.purgeDeadLetters('fixable')).toBe(1);
  });

  it('times out a handler that ignores its signal, frees the slot and discards the late result', async () => {
    const q = await h.queue();
    let attempts = 0;
    const worker: Worker = {
      workerType: 'stuck',
      async processJob() {
        attempts++;
        if (attempts === 1) await new Promise((r) => setTimeout(r, 3000));
        return JobResult.success(attempts);
      },
    };
    await h.manager([worker], { maxConcurrentJobs: 1, timeoutGraceMs: 100 });
    const id = await q.schedule('stuck', {}, { timeout: 300 });
    const job = await waitForState(q, id, ['succeeded']);
    expect(job.attempts).toBe(2);
    expect(job.result).toBe(2);
    expect(job.history.find((t) => t.state === 'retrying')?.error).toContain('timed out');
  });

  it('starts pulling again when its consumer goes away under it', async () => {
    const q = await h.queue();
    const ran: number[] = [];
    await h.manager([defineWorker('phoenix', async (p: { n: number }) => void ran.push(p.n))]);
    await q.schedule('phoenix', { n: 1 });
    await waitFor('the first job', () => ran.includes(1));
    // Deleting the durable ends the worker's pull iterator, as a broker can on a restart.
    const { ctx } = q;
    await ctx.jsm.consumers.delete(
      ctx.names.jobsStream,
      ctx.names.consumerName('phoenix', 'normal'),
    );
    await q.schedule('phoenix', { n: 2 });
    await waitFor('the job after the consumer came back', () => ran.includes(2), {
      timeoutMs: 30_000,
    });
    expect(ran).toEqual([1, 2]);
  });

  it('never runs a job cancelled while its message waits in a worker buffer', async () => {
    const q = await h.queue();
    const ran: string[] = [];
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const m = await h.manager(
      [
        defineWorker('gated', async (p: { tag: string }) => {
          ran.push(p.tag);
          if (p.tag === 'first') await gate;
        }),
      ],
      { maxConcurrentJobs: 1, prefetch: 10 },
    );
    const first = await q.schedule('gated', { tag: 'first' });
    await waitFor('first running', () => ran.includes('first'));
    const second = await q.schedule('gated', { tag: 'second' });
    const third = await q.schedule('gated', { tag: 'third' });
    // Both are delivered to this instance (its only slot is busy) before the cancel.
    await waitFor('two jobs buffered', () =>
      m.snapshot().types.some((t) => t.type === 'gated' && t.buffered === 2),
    );
    await q.cancel(second);
    release();
    await waitForState(q, first, ['succeeded']);
    await waitForState(q, third, ['succeeded']);
    expect((await q.get(second))?.state).toBe('cancelled');
    expect(ran).toEqual(['first', 'third']);
  });

  it('cancels a running job: its signal fires within 100 ms and it is not retried', async () => {
    const q = await h.queue();
    let started = 0;
    let abortedAfter = -1;
    let cancelAt = 0;
    await h.manager([
      defineWorker('longrun', async (_p, ctx) => {
        started = Date.now();
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        abortedAfter = Date.now() - cancelAt;
        throw new Error('aborted');
      }),
    ]);
    const id = await q.schedule('longrun', {});
    await waitForState(q, id, ['running']);
    expect(started).toBeGreaterThan(0);
    cancelAt = Date.now();
    await q.cancel(id);
    const job = await waitForState(q, id, ['cancelled']);
    expect(job.state).toBe('cancelled');
    await expect.poll(() => abortedAfter, { timeout: 5000 }).toBeGreaterThanOrEqual(0);
    expect(abortedAfter).toBeLessThan(100);
    expect((await q.get(id))?.state).toBe('cancelled');
  });
});
