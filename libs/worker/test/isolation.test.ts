/**
 * Isolated handlers (issue 19, part 3): a worker type whose handler runs in a
 * worker thread or a child process. Results, errors, the context's calls and
 * cancellation behave as in process; a timeout kills the thread or process
 * after its grace, and a crash fails only the attempt.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, type JobEvent } from '@rfw/core';
import { decodeJson } from '@rfw/core/internal';
import {
  defineIsolatedWorker,
  defineWorker,
  type IsolatedWorkerOptions,
  type IsolationMode,
  type Worker,
} from '@rfw/worker';
import { waitFor } from '@rfw/testkit';
import { readStarts } from './fixtures/isolation/exec-log.js';
import { useHarness, waitForState } from './helpers.js';

const fixture = (name: string): URL => new URL(`./fixtures/isolation/${name}`, import.meta.url);
const handler = fixture('handler.mjs');
const MODES: IsolationMode[] = ['thread', 'process'];
const scratch = mkdtempSync(join(tmpdir(), 'rfw-isolation-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('job_processing: isolated handlers', () => {
  const h = useHarness();

  /** Events of `type`, as published. */
  async function events(type: string): Promise<JobEvent[]> {
    const q = await h.queue();
    const seen: JobEvent[] = [];
    q.ctx.nc.subscribe(`${h.prefix}.events.${type}.>`, {
      callback: (_e, m) => {
        seen.push(decodeJson<JobEvent>(m.data));
      },
    });
    await q.ctx.nc.flush();
    return seen;
  }

  for (const mode of MODES) {
    describe(`in a ${mode}`, () => {
      const iso = (type: string, opts: IsolatedWorkerOptions = {}): Worker =>
        defineIsolatedWorker(`${type}-${mode}`, handler, { mode, ...opts });
      const t = (type: string): string => `${type}-${mode}`;

      it('runs off the main thread; results, progress, logs and metrics reach the worker', async () => {
        const q = await h.queue();
        const seen = await events(t('ok'));
        const m = await h.manager([iso('ok')]);
        const id = await q.schedule(t('ok'), { mode: 'ok', n: 21 });
        const job = await waitForState(q, id, ['succeeded', 'dead']);
        expect(job.state).toBe('succeeded');
        const r = job.result as {
          doubled: number;
          pid: number;
          threadId: number;
          sameJob: boolean;
        };
        expect(r.doubled).toBe(42);
        expect(r.sameJob).toBe(true);
        if (mode === 'thread') {
          expect(r.pid).toBe(process.pid);
          expect(r.threadId).toBeGreaterThan(0);
        } else expect(r.pid).not.toBe(process.pid);
        await waitFor('the progress events', () =>
          seen.some((e) => e.state === 'progress' && e.progress?.done === 2),
        );
        expect(seen.find((e) => e.state === 'progress')?.progress).toMatchObject({
          done: 1,
          total: 2,
          message: 'half',
        });
        const text = await m.metrics.registry.metrics();
        expect(text).toMatch(
          new RegExp(`rfw_worker_metric_total\\{[^}]*name="isolated_units"[^}]*\\} 3`),
        );
        expect(text).toMatch(new RegExp(`rfw_worker_gauge\\{[^}]*name="isolated_level"[^}]*\\} 7`));
      });

      it('passes JobResult values through and keeps the meaning of thrown errors', async () => {
        const q = await h.queue();
        const seen = await events(t('steer'));
        await h.manager([iso('steer', { backoff: { baseMs: 50, capMs: 100, jitter: 'none' } })]);
        const skipped = await q.schedule(t('steer'), { mode: 'skip' });
        const failed = await q.schedule(t('steer'), { mode: 'failed' });
        const undef = await q.schedule(t('steer'), { mode: 'undefined' });
        const fatal = await q.schedule(t('steer'), { mode: 'nonretryable' });
        const text = await q.schedule(t('steer'), { mode: 'throw-string' }, { maxRetries: 0 });
        const plain = await q.schedule(t('steer'), { mode: 'throw' }, { maxRetries: 1 });
        const retryAfter = await q.schedule(t('steer'), { mode: 'retry-after', delayMs: 700 });
        const deferred = await q.schedule(t('steer'), {
          mode: 'defer',
          delayMs: 200,
          marker: join(scratch, `defer-${mode}`),
        });

        expect(await waitForState(q, skipped, ['succeeded', 'dead'])).toMatchObject({
          state: 'succeeded',
        });
        const f = await waitForState(q, failed, ['succeeded', 'dead']);
        expect(f).toMatchObject({ state: 'dead', attempts: 1, lastError: 'said no' });
        expect(await waitForState(q, undef, ['succeeded', 'dead'])).toMatchObject({
          state: 'succeeded',
        });
        const d = await waitForState(q, fatal, ['succeeded', 'dead']);
        expect(d).toMatchObject({ state: 'dead', attempts: 1, lastError: 'bad input, for good' });
        expect(await waitForState(q, text, ['succeeded', 'dead'])).toMatchObject({
          state: 'dead',
          lastError: 'a thrown string',
        });
        const p = await waitForState(q, plain, ['succeeded', 'dead']);
        expect(p).toMatchObject({ state: 'dead', attempts: 2 });
        expect(p.lastError).toBe('plain failure on attempt 2');

        const ra = await waitForState(q, retryAfter, ['succeeded', 'dead']);
        expect(ra).toMatchObject({ state: 'succeeded', attempts: 2, result: { attempt: 2 } });
        const retrying = ra.history.find((x) => x.state === 'retrying');
        const second = ra.history.find((x) => x.state === 'succeeded');
        expect(retrying?.error).toBe('come back later');
        // The error's delay, not the 50 ms backoff.
        expect(second!.at - retrying!.at).toBeGreaterThanOrEqual(600);

        const df = await waitForState(q, deferred, ['succeeded', 'dead']);
        // Deferred without using an attempt.
        expect(df).toMatchObject({ state: 'succeeded', attempts: 1, result: { attempt: 1 } });
        expect(
          seen.some((e) => e.id === deferred && e.state === 'deferred' && e.reason === 'not now'),
        ).toBe(true);
      });

      it('a handler that exits its ' + mode + ' fails only that attempt', async () => {
        const q = await h.queue();
        const m = await h.manager([iso('exit', { backoff: { baseMs: 50, capMs: 100 } })]);
        const id = await q.schedule(t('exit'), { mode: 'exit', code: 3 });
        const job = await waitForState(q, id, ['succeeded', 'dead']);
        expect(job).toMatchObject({ state: 'succeeded', attempts: 2 });
        expect(job.history.find((x) => x.state === 'retrying')?.error).toBe(
          `handler ${mode} exited with code 3`,
        );
        // The worker lives on and runs the next job.
        expect(m.state).toBe('running');
        const next = await q.schedule(t('exit'), { mode: 'exit', code: 3 }, { maxRetries: 0 });
        expect(await waitForState(q, next, ['succeeded', 'dead'])).toMatchObject({
          state: 'dead',
          lastError: `handler ${mode} exited with code 3`,
        });
      });

      it('an uncaught error outside the handler fails the attempt with its message', async () => {
        const q = await h.queue();
        await h.manager([iso('crash')]);
        const id = await q.schedule(t('crash'), { mode: 'crash-async' }, { maxRetries: 0 });
        expect(await waitForState(q, id, ['succeeded', 'dead'])).toMatchObject({
          state: 'dead',
          lastError: `handler ${mode} crashed: boom outside the handler`,
        });
      });

      it('kills a CPU-bound handler at timeout + grace, and only then frees its slot', async () => {
        const q = await h.queue();
        const log = join(scratch, `spin-${mode}.log`);
        const ticks = join(scratch, `spin-${mode}.ticks`);
        // An ack wait shorter than the spin: in-progress acks go on while it spins.
        await h.manager([iso('spin', { concurrency: 1 })], {
          timeoutGraceMs: 300,
          ackWaitMs: 1000,
        });
        const first = await q.schedule(
          t('spin'),
          { mode: 'spin', spinMs: 60_000, execLog: log, tickLog: ticks },
          { timeout: 3000, maxRetries: 0 },
        );
        // The same type, one slot: waits for the spinner's slot, then sleeps 500 ms.
        const second = await q.schedule(t('spin'), {
          mode: 'ignore-signal',
          sleepMs: 500,
          execLog: log,
        });
        const a = await waitForState(q, first, ['succeeded', 'dead'], 30_000);
        expect(a.state).toBe('dead');
        expect(a.lastError).toBe(
          `timed out after 3000 ms; handler ${mode} ended 300 ms after its signal`,
        );
        const b = await waitForState(q, second, ['succeeded', 'dead'], 30_000);
        expect(b.state).toBe('succeeded');
        const runs = readStarts(log);
        const s2 = runs.find((r) => r.id === second)!;
        const tickTimes = readFileSync(ticks, 'utf8').split('\n').filter(Boolean).map(Number);
        // It spun until it was killed, and no longer: the second job ran (500 ms)
        // with no tick of the spinner after its start.
        expect(tickTimes.length).toBeGreaterThan(5);
        expect(Math.max(...tickTimes)).toBeLessThan(s2.at);
        expect(runs.filter((r) => r.id === first)).toHaveLength(1);
      });

      it('shutdown ends a handler deaf to its signal and hands its job back', async () => {
        const q = await h.queue();
        const log = join(scratch, `shutdown-${mode}.log`);
        const ticks = join(scratch, `shutdown-${mode}.ticks`);
        const m = await h.manager([iso('drain')], { shutdownGraceMs: 200, timeoutGraceMs: 200 });
        const id = await q.schedule(t('drain'), {
          mode: 'spin',
          spinMs: 60_000,
          execLog: log,
          tickLog: ticks,
        });
        await waitFor('the spinner to tick', () => {
          try {
            return readFileSync(ticks, 'utf8').length > 0;
          } catch {
            return false;
          }
        });
        await m.shutdown();
        const stopped = Date.now();
        const tickTimes = readFileSync(ticks, 'utf8').split('\n').filter(Boolean).map(Number);
        expect(Math.max(...tickTimes)).toBeLessThanOrEqual(stopped);
        // Handed back, not failed: another worker runs it.
        const job = (await q.get(id))!;
        expect(job.state).not.toBe('dead');
        expect(job.lastError).toBeUndefined();
        await h.manager([iso('drain')]);
        await waitFor('the job to run again', () => readStarts(log).length === 2, {
          timeoutMs: 20_000,
        });
        await q.cancel(id);
      });

      it('cancels a running handler: its signal fires, or it is killed after the grace', async () => {
        const q = await h.queue();
        const log = join(scratch, `cancel-${mode}.log`);
        await h.manager([iso('cancel')], { timeoutGraceMs: 300 });
        const obeys = await q.schedule(t('cancel'), { mode: 'obey-signal', execLog: log });
        const ignores = await q.schedule(t('cancel'), { mode: 'ignore-signal', execLog: log });
        await waitFor('both to start', () => readStarts(log).length === 2, { timeoutMs: 20_000 });
        await q.cancel(obeys);
        await q.cancel(ignores);
        expect(await waitForState(q, obeys, ['cancelled', 'succeeded', 'dead'])).toMatchObject({
          state: 'cancelled',
        });
        expect(await waitForState(q, ignores, ['cancelled', 'succeeded', 'dead'])).toMatchObject({
          state: 'cancelled',
        });
      });

      it('runs ctx.guard() through the worker’s breaker of that key', async () => {
        const q = await h.queue();
        const seen = await events(t('guard'));
        const m = await h.manager([iso('guard')], {
          breaker: { volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeoutMs: 60_000 },
        });
        const ok = await q.schedule(t('guard'), { mode: 'guard', key: 'node-b' });
        expect(await waitForState(q, ok, ['succeeded', 'dead'])).toMatchObject({
          state: 'succeeded',
          result: { guarded: 'through' },
        });
        const bad = await q.schedule(
          t('guard'),
          { mode: 'guard-fail', key: 'node-a' },
          {
            maxRetries: 0,
          },
        );
        expect(await waitForState(q, bad, ['succeeded', 'dead'])).toMatchObject({
          state: 'dead',
          lastError: 'downstream down',
        });
        // node-a's breaker is open now: a job guarded by it is deferred, not failed.
        await waitFor('node-a open', async () =>
          (await m.metrics.registry.metrics()).match(/rfw_breaker_state\{[^}]*node-a[^}]*\} [12]/),
        );
        const blocked = await q.schedule(t('guard'), { mode: 'guard', key: 'node-a' });
        await waitFor('the deferral of the job its breaker refused', () =>
          seen.some((e) => e.id === blocked && e.state === 'deferred'),
        );
        const j = (await q.get(blocked))!;
        expect(j.state).not.toBe('dead');
        expect(j.attempts).toBe(0);
      });
    });
  }

  it('loads a named processJob export and a TypeScript module', async () => {
    const q = await h.queue();
    await h.manager([
      defineIsolatedWorker('named', fixture('named-export.mjs')),
      defineIsolatedWorker('typed', fileURLToPath(fixture('handler.ts')), { mode: 'process' }),
      defineIsolatedWorker('typed-thread', fixture('handler.ts')),
    ]);
    const a = await q.schedule('named', { n: 5 });
    const b = await q.schedule('typed', { n: 5 });
    const c = await q.schedule('typed-thread', { n: 6 });
    expect(await waitForState(q, a, ['succeeded', 'dead'])).toMatchObject({
      state: 'succeeded',
      result: { named: true, n: 5 },
    });
    expect(await waitForState(q, b, ['succeeded', 'dead'])).toMatchObject({
      state: 'succeeded',
      result: { typed: 6, attempt: 1 },
    });
    expect(await waitForState(q, c, ['succeeded', 'dead'])).toMatchObject({
      state: 'succeeded',
      result: { typed: 7, attempt: 1 },
    });
  });

  it('a module without a handler fails the job for good, saying why', async () => {
    const q = await h.queue();
    await h.manager([defineIsolatedWorker('nohandler', fixture('no-handler.mjs'))]);
    const id = await q.schedule('nohandler', {});
    const job = await waitForState(q, id, ['succeeded', 'dead']);
    expect(job).toMatchObject({ state: 'dead', attempts: 1 });
    expect(job.lastError).toContain('exports no default or processJob function');
  });

  it('checks its options with a ConfigError naming the field', () => {
    const bad = (f: () => unknown, field: string): void => {
      try {
        f();
        expect.fail('no error');
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).field).toBe(field);
      }
    };
    bad(() => defineIsolatedWorker('x', './relative.mjs'), 'isolation.module');
    bad(() => defineIsolatedWorker('x', '/nonexistent/handler.mjs'), 'isolation.module');
    bad(() => defineIsolatedWorker('x', new URL('https://example.com/h.mjs')), 'isolation.module');
    bad(
      () => defineIsolatedWorker('x', handler, { mode: 'fiber' as IsolationMode }),
      'isolation.mode',
    );
    bad(
      () => defineIsolatedWorker('x', handler, { execArgv: 'nope' as unknown as string[] }),
      'isolation.execArgv',
    );
    bad(
      () => defineWorker('x', () => 1, { isolation: { mode: 'thread', module: handler } }),
      'isolation',
    );
  });

  it('a hand-made Worker with bad isolation options fails its jobs for good', async () => {
    const q = await h.queue();
    const w: Worker = {
      workerType: 'handmade',
      isolation: { mode: 'thread', module: 'relative.mjs' },
      processJob: () => Promise.reject(new Error('not called')),
    };
    await h.manager([w]);
    const id = await q.schedule('handmade', {});
    const job = await waitForState(q, id, ['succeeded', 'dead']);
    expect(job.state).toBe('dead');
    expect(job.lastError).toContain('invalid config isolation.module');
  });
});
