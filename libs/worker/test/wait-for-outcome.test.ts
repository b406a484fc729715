/**
 * `JobQueue.waitFor()` and `scheduleAndWait()` (issue 17, item 3): they
 * resolve with the outcome, reject typed on death, cancellation, timeout and
 * abort, do not miss an outcome reached before the call, and do not poll.
 */
import { describe, expect, it } from 'vitest';
import {
  JobCancelledError,
  JobFailedError,
  JobNotFoundError,
  JobValidationError,
  WaitAbortedError,
  WaitTimeoutError,
} from '@rfw/core';
import { NonRetryableError, defineWorker } from '@rfw/worker';
import { useHarness, waitForState } from './helpers.js';

/** A handler steered by its payload; `hold` waits until `release()` is called. */
function steered(type: string) {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const worker = defineWorker<{ mode: 'ok' | 'fail' | 'hold'; n?: number }>(
    type,
    async (p, ctx) => {
      if (p.mode === 'fail') throw new NonRetryableError(`failed ${p.n ?? 0}`);
      if (p.mode === 'hold')
        await Promise.race([
          held,
          new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)),
          ),
        ]);
      return { n: p.n ?? 0 };
    },
  );
  return { worker, release: () => release() };
}

describe('job_processing: waiting for a job outcome', () => {
  const h = useHarness();

  it('scheduleAndWait resolves with the succeeded record', async () => {
    const q = await h.queue();
    await h.manager([steered('w-ok').worker]);
    const job = await q.scheduleAndWait(
      'w-ok',
      { mode: 'ok', n: 7 },
      { timeout: 20_000 },
      { timeout: 30_000 },
    );
    expect(job).toMatchObject({ type: 'w-ok', state: 'succeeded', result: { n: 7 } });
    // The third argument is schedule()'s: its timeout is the handler's, not the wait's.
    expect(job.timeoutMs).toBe(20_000);
  });

  it('many waits at once, each with its own outcome, each get their own outcome', async () => {
    const q = await h.queue();
    await h.manager([steered('w-many').worker], { maxConcurrentJobs: 20 });
    const jobs = await Promise.all(
      Array.from({ length: 200 }, (_, n) =>
        q
          .scheduleAndWait('w-many', { mode: n % 10 === 0 ? 'fail' : 'ok', n }, { maxRetries: 0 })
          .then((j) => ({ n, result: j.result as { n: number } }))
          .catch((err: unknown) => ({ n, err })),
      ),
    );
    for (const r of jobs) {
      if (r.n % 10 === 0) {
        expect((r as { err: unknown }).err).toBeInstanceOf(JobFailedError);
        expect((r as { err: JobFailedError }).err.lastError).toBe(`failed ${r.n}`);
      } else expect((r as { result: { n: number } }).result).toEqual({ n: r.n });
    }
  });

  it('an outcome reached before the call is returned at once', async () => {
    const q = await h.queue();
    await h.manager([steered('w-before').worker]);
    const id = await q.schedule('w-before', { mode: 'ok', n: 3 });
    await waitForState(q, id, ['succeeded']);
    expect((await q.waitFor(id, { timeout: 5_000 })).result).toEqual({ n: 3 });
    const dead = await q.schedule('w-before', { mode: 'fail', n: 4 });
    await waitForState(q, dead, ['dead']);
    const err = await q.waitFor(dead).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect(err).toMatchObject({ jobId: dead, lastError: 'failed 4' });
    expect((err as JobFailedError).job.state).toBe('dead');
  });

  it('waits for a job that runs later, without polling', async () => {
    const q = await h.queue();
    const { worker, release } = steered('w-later');
    await h.manager([worker]);
    const id = await q.schedule('w-later', { mode: 'hold', n: 5 });
    await waitForState(q, id, ['running']);
    const before = q.ctx.nc.stats().outMsgs;
    const waiting = q.waitFor(id);
    // While the job is held the waiter sends nothing: it only listens. (A
    // poller would keep reading the record: dozens of requests in 1 s.)
    await expect(
      Promise.race([waiting, new Promise((r) => setTimeout(() => r('still waiting'), 1000))]),
    ).resolves.toBe('still waiting');
    const sent = q.ctx.nc.stats().outMsgs - before;
    expect(sent).toBeLessThanOrEqual(8);
    release();
    expect((await waiting).result).toEqual({ n: 5 });
  });

  it('rejects with JobCancelledError when the job is cancelled while waited for', async () => {
    const q = await h.queue();
    await h.manager([steered('w-cancel').worker]);
    const id = await q.schedule('w-cancel', { mode: 'hold' });
    await waitForState(q, id, ['running']);
    const waiting = q.waitFor(id).catch((e: unknown) => e);
    await q.cancel(id);
    const err = await waiting;
    expect(err).toBeInstanceOf(JobCancelledError);
    expect(err).toMatchObject({ jobId: id });
  });

  it('times out and aborts typed, leaving the job alone', async () => {
    const q = await h.queue();
    const id = await q.schedule('w-nobody', { mode: 'ok' });
    const t0 = Date.now();
    const err = await q.waitFor(id, { timeout: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err).toMatchObject({ jobId: id, timeoutMs: 300 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const ac = new AbortController();
    const aborted = q.waitFor(id, { signal: ac.signal }).catch((e: unknown) => e);
    ac.abort(new Error('user went away'));
    const a = await aborted;
    expect(a).toBeInstanceOf(WaitAbortedError);
    expect((a as WaitAbortedError).cause).toMatchObject({ message: 'user went away' });
    // An already aborted signal rejects before anything is read.
    await expect(q.waitFor(id, { signal: ac.signal })).rejects.toBeInstanceOf(WaitAbortedError);
    expect((await q.get(id))?.state).toBe('pending');
  });

  it('rejects unknown ids and bad options with typed errors naming the field', async () => {
    const q = await h.queue();
    await expect(q.waitFor('no-such-job')).rejects.toBeInstanceOf(JobNotFoundError);
    await expect(q.waitFor('bad id!')).rejects.toBeInstanceOf(JobValidationError);
    for (const timeout of [0, -1, 1.5, Number.NaN, 2 ** 31])
      await expect(q.waitFor('x1', { timeout })).rejects.toMatchObject({ field: 'timeout' });
    await expect(q.waitFor('x1', { signal: 'no' as unknown as AbortSignal })).rejects.toMatchObject(
      { field: 'signal' },
    );
    // scheduleAndWait checks the wait's options before it enqueues anything.
    await expect(q.scheduleAndWait('w-bad', {}, {}, { timeout: -5 })).rejects.toMatchObject({
      field: 'timeout',
    });
    expect((await q.list({ type: 'w-bad' })).jobs).toHaveLength(0);
  });
});
