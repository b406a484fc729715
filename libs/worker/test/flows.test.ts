/**
 * Flows (issue 17, item 1): a parent runs once, after all its children
 * ended, and reads their results; failure policies; nesting; cancelling a
 * flow; typed errors naming the node; a flow enqueued twice under one root id.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { JobFailedError, JobValidationError, type JobQueue } from '@rfw/core';
import { NonRetryableError, defineWorker } from '@rfw/worker';
import { useHarness, waitForState } from './helpers.js';

type Leaf = { n: number; fail?: boolean; hold?: boolean };

/** Leaves return `n * 10` (or fail, or hold until aborted); runs are counted by id. */
function leafWorker(type: string, runs: Map<string, number>) {
  return defineWorker<Leaf>(type, async (p, ctx) => {
    runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
    if (p.fail) throw new NonRetryableError(`leaf ${p.n} failed`);
    if (p.hold)
      await new Promise((_, reject) =>
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)),
      );
    return { value: p.n * 10 };
  });
}

/** Parents sum their children's values, and say what failed and what was ignored. */
function sumWorker(type: string, runs: Map<string, number>) {
  return defineWorker<{ label: string }>(type, async (p, ctx) => {
    runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
    const c = await ctx.children();
    const sum = c.succeeded.reduce((s, e) => s + (e.result as { value: number }).value, 0);
    return {
      value: sum,
      label: p.label,
      failed: c.failed.map((e) => e.id).sort(),
      ignored: c.ignored.map((e) => e.id).sort(),
    };
  });
}

const leaves = (type: string, n: number, extra: (i: number) => Partial<Leaf> = () => ({})) =>
  Array.from({ length: n }, (_, i) => ({ type, payload: { n: i + 1, ...extra(i) } }));

async function waitSucceeded(q: JobQueue, id: string) {
  return q.waitFor(id, { timeout: 60_000 });
}

describe('flows: fan-out, fan-in, policies, nesting, cancel', () => {
  const h = useHarness();

  it('runs the parent once, after its 300 children, with their results', async () => {
    const q = await h.queue();
    const runs = new Map<string, number>();
    await h.manager([leafWorker('fl-leaf', runs), sumWorker('fl-sum', runs)], {
      maxConcurrentJobs: 32,
    });
    const f = await q.flow({
      type: 'fl-sum',
      payload: { label: 'root' },
      children: leaves('fl-leaf', 300),
    });
    expect(f.duplicate).toBe(false);
    expect(f.children).toHaveLength(300);
    expect(f.children[7]?.id).toBe(`${f.id}-7`);
    const parent = await waitSucceeded(q, f.id);
    expect(parent.result).toEqual({
      value: 10 * ((300 * 301) / 2),
      label: 'root',
      failed: [],
      ignored: [],
    });
    expect(runs.get(f.id)).toBe(1);
    for (const c of f.children) expect(runs.get(c.id)).toBe(1);
    // Released once: waiting, then pending, then its outcome.
    const got = await q.get(f.id);
    // (`running` too when the handler took over 200 ms.)
    const states = got?.history.map((t) => t.state).filter((s) => s !== 'running');
    expect(states).toEqual(['waiting', 'pending', 'succeeded']);
    expect(got?.flow).toEqual({ children: 300, succeeded: 300, dead: 0, cancelled: 0 });
    const listed = await q.children(f.id);
    expect(listed.flow).toEqual({ children: 300, succeeded: 300, dead: 0, cancelled: 0 });
    expect(listed.endings).toHaveLength(300);
    expect(listed.endings.find((e) => e.id === `${f.id}-9`)).toMatchObject({
      state: 'succeeded',
      result: { value: 100 },
      type: 'fl-leaf',
    });
    await expect(q.children(`${f.id}-9`)).rejects.toThrow(/not a flow's parent/);
    const child = await q.get(`${f.id}-0`);
    expect(child?.parent).toEqual({ id: f.id, onFailure: 'fail', siblings: 300 });
  });

  it('fail: a dead child ends the parent dead at once, and the parent never runs', async () => {
    const q = await h.queue();
    const runs = new Map<string, number>();
    await h.manager([leafWorker('ff-leaf', runs), sumWorker('ff-sum', runs)]);
    const f = await q.flow({
      type: 'ff-sum',
      payload: { label: 'x' },
      children: [
        { type: 'ff-leaf', payload: { n: 1 } },
        { type: 'ff-leaf', payload: { n: 2, fail: true }, options: { maxRetries: 0 } },
        { type: 'ff-leaf', payload: { n: 3, hold: true } },
      ],
    });
    const err = await q.waitFor(f.id, { timeout: 30_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    const parent = await q.get(f.id);
    expect(parent?.state).toBe('dead');
    expect(parent?.deadReason).toContain(`child ${f.id}-1 dead`);
    expect(parent?.deadReason).toContain('leaf 2 failed');
    expect(runs.get(f.id)).toBeUndefined();
    // The held sibling is still running: `fail` ends the parent, not its siblings.
    expect((await q.get(`${f.id}-2`))?.state).not.toBe('cancelled');
    await q.cancel(`${f.id}-2`);
  });

  it('a poison child (payload fails its schema) ends, and its parent learns of it', async () => {
    const q = await h.queue();
    const runs = new Map<string, number>();
    const strict = defineWorker<{ n: number }>('fp-leaf', async (p) => ({ value: p.n }), {
      schema: z.object({ n: z.number() }).strict(),
    });
    await h.manager([strict, sumWorker('fp-sum', runs)]);
    const f = await q.flow({
      type: 'fp-sum',
      payload: { label: 'p' },
      children: [
        { type: 'fp-leaf', payload: { n: 1 } },
        { type: 'fp-leaf', payload: { n: 'two' }, onFailure: 'continue' },
      ],
    });
    const parent = await waitSucceeded(q, f.id);
    expect(parent.result).toMatchObject({ value: 1, failed: [`${f.id}-1`] });
    expect((await q.get(`${f.id}-1`))?.deadReason).toContain('poison message');
  });

  it('continue and ignore: the parent runs, and reads the failures it was told of', async () => {
    const q = await h.queue();
    const runs = new Map<string, number>();
    await h.manager([leafWorker('fc-leaf', runs), sumWorker('fc-sum', runs)]);
    const f = await q.flow({
      type: 'fc-sum',
      payload: { label: 'y' },
      children: [
        { type: 'fc-leaf', payload: { n: 1 } },
        {
          type: 'fc-leaf',
          payload: { n: 2, fail: true },
          options: { maxRetries: 0 },
          onFailure: 'continue',
        },
        {
          type: 'fc-leaf',
          payload: { n: 3, fail: true },
          options: { maxRetries: 0 },
          onFailure: 'ignore',
        },
      ],
    });
    const parent = await waitSucceeded(q, f.id);
    expect(parent.result).toEqual({
      value: 10,
      label: 'y',
      failed: [`${f.id}-1`],
      ignored: [`${f.id}-2`],
    });
    expect((await q.get(f.id))?.flow).toMatchObject({ children: 3, succeeded: 1, dead: 2 });
  });

  it('nests: a child with children runs after them, the root after it', async () => {
    const q = await h.queue();
    const runs = new Map<string, number>();
    await h.manager([leafWorker('fn-leaf', runs), sumWorker('fn-sum', runs)]);
    const f = await q.flow({
      type: 'fn-sum',
      payload: { label: 'root' },
      children: [
        { type: 'fn-sum', payload: { label: 'mid' }, children: leaves('fn-leaf', 4) },
        { type: 'fn-leaf', payload: { n: 5 } },
      ],
    });
    expect(f.children[0]?.children.map((c) => c.id)).toEqual(
      [0, 1, 2, 3].map((i) => `${f.id}-0-${i}`),
    );
    const root = await waitSucceeded(q, f.id);
    // mid: 10+20+30+40 = 100; root: mid 100 + leaf 50.
    expect(root.result).toMatchObject({ value: 150, label: 'root' });
    const mid = await q.get(`${f.id}-0`);
    expect(mid?.result).toMatchObject({ value: 100, label: 'mid' });
    expect(mid?.updatedAt).toBeLessThanOrEqual(root.updatedAt);
    expect(runs.get(f.id)).toBe(1);
    expect(runs.get(`${f.id}-0`)).toBe(1);
  });

  it('cancelling a waiting flow cancels what has not run, nested children too', async () => {
    const q = await h.queue();
    const runs = new Map<string, number>();
    await h.manager([leafWorker('fx-leaf', runs), sumWorker('fx-sum', runs)]);
    const f = await q.flow({
      type: 'fx-sum',
      payload: { label: 'c' },
      children: [
        { type: 'fx-leaf', payload: { n: 1, hold: true } },
        {
          type: 'fx-sum',
          payload: { label: 'mid' },
          children: leaves('fx-leaf', 2, () => ({ hold: true })),
        },
      ],
    });
    await waitForState(q, `${f.id}-0`, ['running'], 30_000);
    const cancelled = await q.cancel(f.id);
    expect(cancelled.state).toBe('cancelled');
    for (const id of [`${f.id}-0`, `${f.id}-1`, `${f.id}-1-0`, `${f.id}-1-1`])
      await waitForState(q, id, ['cancelled'], 30_000);
    expect(runs.get(f.id)).toBeUndefined();
    expect(runs.get(`${f.id}-1`)).toBeUndefined();
    expect((await q.get(f.id))?.state).toBe('cancelled');
  });

  it('a flow enqueued again under its root id is completed, not doubled', async () => {
    const q = await h.queue();
    const runs = new Map<string, number>();
    const flow = {
      type: 'fr-sum',
      payload: { label: 'again' },
      options: { id: 'flow-again-1' },
      children: leaves('fr-leaf', 20),
    };
    const first = await q.flow(flow);
    // Enqueued again before any worker ran: the same waiting flow, nothing doubled.
    const second = await q.flow(flow);
    expect(second).toMatchObject({ id: 'flow-again-1', duplicate: false });
    await h.manager([leafWorker('fr-leaf', runs), sumWorker('fr-sum', runs)]);
    const parent = await waitSucceeded(q, first.id);
    expect(parent.result).toMatchObject({ value: 10 * 210 });
    for (const c of first.children) expect(runs.get(c.id)).toBe(1);
    expect(runs.get(first.id)).toBe(1);
    // Once it ran, the same root id is a duplicate.
    expect((await q.flow(flow)).duplicate).toBe(true);
  });

  it('a batch runs its callback once every job ended, with the successes and failures', async () => {
    const q = await h.queue();
    const runs = new Map<string, number>();
    await h.manager([leafWorker('fb-leaf', runs), sumWorker('fb-sum', runs)]);
    const jobs = Array.from({ length: 20 }, (_, i) => ({
      type: 'fb-leaf',
      payload: { n: i + 1, fail: i % 7 === 0 },
      options: { maxRetries: 0 },
    }));
    const b = await q.batch(jobs, { type: 'fb-sum', payload: { label: 'batch' } });
    const done = await waitSucceeded(q, b.id);
    // Jobs 1, 8 and 15 (indexes 0, 7, 14) failed; the callback ran anyway.
    const failed = [0, 7, 14].map((i) => `${b.id}-${i}`).sort();
    const okSum = jobs.filter((j) => !j.payload.fail).reduce((s, j) => s + j.payload.n * 10, 0);
    expect(done.result).toEqual({ value: okSum, label: 'batch', failed, ignored: [] });
    expect((await q.get(b.id))?.flow).toEqual({
      children: 20,
      succeeded: 17,
      dead: 3,
      cancelled: 0,
    });
    expect(runs.get(b.id)).toBe(1);
    const e = await q
      .batch([{ type: 'fb-leaf', payload: {}, options: { priority: 'soon' as never } }], {
        type: 'fb-sum',
        payload: {},
      })
      .catch((err: unknown) => err as JobValidationError);
    expect(e).toBeInstanceOf(JobValidationError);
    expect((e as JobValidationError).field).toBe('jobs[0].options.priority');
    await expect(q.batch([], { type: 'fb-sum', payload: {} })).rejects.toThrow(/jobs/);
    const e2 = await q
      .batch(jobs, { type: 'Bad', payload: {} })
      .catch((err: unknown) => err as JobValidationError);
    expect((e2 as JobValidationError).field).toBe('callback.type');
  });

  it('bad input is refused typed, naming the node, and enqueues nothing', async () => {
    const q = await h.queue();
    const bad = async (f: unknown) =>
      q.flow(f as never).then(
        () => undefined,
        (e: unknown) => e as JobValidationError,
      );
    const e1 = await bad({
      type: 'fv-sum',
      payload: {},
      children: [
        { type: 'fv-leaf', payload: {} },
        { type: 'fv-leaf', payload: {}, options: { priority: 'urgent' } },
      ],
    });
    expect(e1).toBeInstanceOf(JobValidationError);
    expect(e1?.field).toBe('children[1].options.priority');
    const e2 = await bad({
      type: 'fv-sum',
      payload: {},
      children: [{ type: 'Bad Type', payload: {} }],
    });
    expect(e2?.field).toBe('children[0].type');
    const e3 = await bad({
      type: 'fv-sum',
      payload: {},
      children: [{ type: 'fv-leaf', payload: {}, onFailure: 'retry' }],
    });
    expect(e3?.field).toBe('children[0].onFailure');
    const e4 = await bad({
      type: 'fv-sum',
      payload: {},
      children: [{ type: 'fv-leaf', payload: {}, options: { id: 'mine' } }],
    });
    expect(e4?.field).toBe('children[0].options.id');
    const e5 = await bad({
      type: 'fv-sum',
      payload: {},
      options: { delay: 1000 },
      children: [{ type: 'fv-leaf', payload: {} }],
    });
    expect(e5?.field).toBe('options.delay');
    expect((await q.statistics()).byType['fv-leaf']).toBeUndefined();
  });
});
