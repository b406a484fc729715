/**
 * Scenario 10: flows under faults (issue 17). Flows of 40 children (every
 * third with a nested parent of 10 more) run on 3 worker processes while
 * (a) one worker is SIGKILLed and restarted every 0.5-1 s, and (b) the single
 * nats-server is SIGKILLed twice. The producer retries a failed `flow()`
 * with the same root id, as a careful client does. Every job of every flow
 * must end once; every parent must be released exactly once, only after all
 * its children ended, and its one outcome must count all their results.
 * Handler re-executions (at least once) are reported.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '@rfw/testkit';
import type { FlowJob, Job, JobQueue } from '@rfw/core';
import { readLedger, readRecords, waitForDrain } from './support/ledger.js';
import { scratchDir } from './support/paths.js';
import { useChaosHarness } from './support/chaos-harness.js';
import { tally, writeReport } from './support/report.js';
import { execLogIn } from './support/scenario.js';

const FLOWS = Number(process.env.CHAOS_FLOWS ?? 40);
const LEAVES = 40;
const NESTED = 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Flow `i`: root n = i*1000; leaves n = i*1000 + 1..; every third flow has a nested parent. */
function flowOf(i: number): FlowJob {
  const base = i * 1000;
  const leaf = (n: number) => ({
    type: 'chaos',
    payload: { n, sleepMs: n % 40 },
    options: { maxRetries: 20 },
  });
  const children = Array.from({ length: LEAVES }, (_, k) => leaf(base + k + 1));
  const nested = i % 3 === 0;
  return {
    type: 'chaos',
    payload: { n: base },
    options: { id: `flow-${i}`, maxRetries: 20 },
    children: nested
      ? [
          ...children,
          {
            type: 'chaos',
            payload: { n: base + 500 },
            options: { maxRetries: 20 },
            children: Array.from({ length: NESTED }, (_, k) => leaf(base + 501 + k)),
          },
        ]
      : children,
  };
}

/** Every parent of flow `i` with the ids, child count and sum of child `n`s it must see. */
function parentsOf(
  i: number,
): Array<{ id: string; children: number; sum: number; kids: string[] }> {
  const base = i * 1000;
  const leafSum = (from: number, count: number) =>
    Array.from({ length: count }, (_, k) => from + k).reduce((a, b) => a + b, 0);
  const root = `flow-${i}`;
  const rootKids = Array.from({ length: LEAVES }, (_, k) => `${root}-${k}`);
  if (i % 3 !== 0)
    return [{ id: root, children: LEAVES, sum: leafSum(base + 1, LEAVES), kids: rootKids }];
  const mid = `${root}-${LEAVES}`;
  const midKids = Array.from({ length: NESTED }, (_, k) => `${mid}-${k}`);
  return [
    { id: mid, children: NESTED, sum: leafSum(base + 501, NESTED), kids: midKids },
    {
      id: root,
      children: LEAVES + 1,
      sum: leafSum(base + 1, LEAVES) + base + 500,
      kids: [...rootKids, mid],
    },
  ];
}

/** Enqueue every flow, retrying one whose `flow()` failed with the same root id. */
async function produceFlows(
  queue: JobQueue,
  onAccepted: () => void,
): Promise<Record<string, number>> {
  const errors: Record<string, number> = {};
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < FLOWS) {
      const i = next++;
      for (let attempt = 0; ; attempt++) {
        try {
          await queue.flow(flowOf(i));
          onAccepted();
          break;
        } catch (err) {
          const name = (err as Error).name;
          errors[name] = (errors[name] ?? 0) + 1;
          if (attempt > 200) throw err;
          await sleep(250);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
  return errors;
}

async function countFlows(queue: JobQueue, execLog: string) {
  const parents = Array.from({ length: FLOWS }, (_, i) => parentsOf(i)).flat();
  const ids = [...new Set(parents.flatMap((p) => [p.id, ...p.kids]))];
  // Every root succeeded (or the count below says which did not).
  await waitFor(
    'every flow root ended',
    async () => {
      const recs = await readRecords(
        queue,
        parents.map((p) => p.id),
      );
      return [...recs.values()].every(
        (j) => j && ['succeeded', 'dead', 'cancelled'].includes(j.state),
      );
    },
    { timeoutMs: 240_000, intervalMs: 1000 },
  ).catch(() => undefined);
  const drained = await waitForDrain(queue.ctx, 60_000);
  const ledger = await readLedger(queue, ids, execLog);
  const { records, executions } = ledger;
  const t = tally({
    ...ledger,
    expected: () => 'succeeded',
    planned: () => 1,
  });
  const flowErrors: string[] = [];
  let parentRuns = 0;
  for (const p of parents) {
    const job = records.get(p.id) as Job | undefined;
    parentRuns += executions.get(p.id)?.length ?? 0;
    if (!job) continue;
    // Released once: one `pending` after `waiting`, and no other `waiting`.
    const states = job.history.map((h) => h.state);
    const releases = states.filter((s, k) => s === 'pending' && states[k - 1] === 'waiting').length;
    if (states[0] !== 'waiting' || releases !== 1)
      flowErrors.push(`${p.id}: history ${states.join(' ')}`);
    const result = job.result as { children?: number; sum?: number } | undefined;
    if (result?.children !== p.children || result.sum !== p.sum)
      flowErrors.push(`${p.id}: result ${JSON.stringify(result)} != ${p.children}/${p.sum}`);
    // The parent was released only after each child's ending.
    const released = job.history.find((h, k) => h.state === 'pending' && k > 0)?.at ?? 0;
    for (const kid of p.kids) {
      const k = records.get(kid);
      const ended = k?.history.find((h) => h.state === 'succeeded')?.at ?? Infinity;
      if (ended > released) flowErrors.push(`${p.id}: released at ${released} before ${kid} ended`);
    }
  }
  return { ...t, drained, flowErrors, parents: parents.length, parentRuns };
}

describe('distributed: chaos: flows under worker and server SIGKILL', () => {
  const h = useChaosHarness();

  it('every parent runs once its children ended, exactly one outcome each, while workers are SIGKILLed', async () => {
    const started = Date.now();
    const prefix = 'chaos10a';
    const execLog = execLogIn(scratchDir('flows-workers'));
    const queue = await h.queue({ prefix });
    const pool = h.pool({ prefix, execLog, concurrency: 16 });
    await pool.start(3);
    let stop = false;
    const restarts: Promise<void>[] = [];
    const killer = (async () => {
      // Every 0.5-1 s: the flows drain in 10-20 s, and at least 3 kills must land in them.
      while (!stop) {
        await sleep(500 + Math.random() * 500);
        if (stop) break;
        const live = pool.slots;
        if (live.length < 2) continue;
        const slot = live[Math.floor(Math.random() * live.length)] as number;
        await pool.kill(slot);
        restarts.push(pool.startSlot(slot));
      }
      await Promise.all(restarts);
    })();
    const producerErrors = await produceFlows(queue, () => undefined);
    const counted = await countFlows(queue, execLog);
    stop = true;
    await killer;
    const { examples, flowErrors, ...rest } = counted;
    writeReport({
      id: '10a-flows-worker-sigkill',
      title: `Flows (${FLOWS} of 40-51 jobs, nested) while a worker is SIGKILLed every 0.5-1 s (3 workers)`,
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      ...rest,
      examples: { ...examples, flow: flowErrors.slice(0, 10) },
      faults: { workerKills: pool.kills, workerStarts: pool.starts },
      producerErrors,
      crashes: pool.crashes.length,
      extra: { parents: counted.parents, parentRuns: counted.parentRuns, drained: counted.drained },
    });
    expect(pool.crashes, JSON.stringify(pool.crashes)).toEqual([]);
    expect(counted.lost, JSON.stringify(examples)).toBe(0);
    expect(counted.multipleTerminal, JSON.stringify(examples)).toBe(0);
    expect(counted.wrongOutcome, JSON.stringify(examples)).toBe(0);
    expect(flowErrors).toEqual([]);
    expect(counted.drained).toBe(true);
    expect(pool.kills).toBeGreaterThanOrEqual(3);
  }, 400_000);

  it('every parent runs once its children ended, exactly one outcome each, across nats-server SIGKILLs', async () => {
    const started = Date.now();
    const prefix = 'chaos10b';
    const execLog = execLogIn(scratchDir('flows-nats'));
    const queue = await h.queue({ prefix });
    const pool = h.pool({ prefix, execLog, concurrency: 16 });
    await pool.start(2);
    const outages: string[] = [];
    const crash = async (at: string): Promise<void> => {
      await h.server.kill();
      // How long the server stays down: the fault, not a wait for an event.
      await sleep(1500);
      await h.server.restart();
      outages.push(at);
    };
    let accepted = 0;
    const firstCrash = waitFor('a third of the flows accepted', () => accepted >= FLOWS / 3, {
      timeoutMs: 240_000,
      intervalMs: 50,
    }).then(() => crash('producing'));
    const producerErrors = await produceFlows(queue, () => accepted++);
    await firstCrash;
    await crash('draining');
    const counted = await countFlows(queue, execLog);
    const { examples, flowErrors, ...rest } = counted;
    writeReport({
      id: '10b-flows-nats-sigkill',
      title: `Flows (${FLOWS} of 40-51 jobs, nested) across two nats-server SIGKILLs (2 workers)`,
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      ...rest,
      examples: { ...examples, flow: flowErrors.slice(0, 10) },
      faults: { natsKills: outages.length },
      producerErrors,
      crashes: pool.crashes.length,
      extra: {
        parents: counted.parents,
        parentRuns: counted.parentRuns,
        drained: counted.drained,
        outages,
      },
    });
    expect(pool.crashes, JSON.stringify(pool.crashes)).toEqual([]);
    expect(counted.lost, JSON.stringify(examples)).toBe(0);
    expect(counted.multipleTerminal, JSON.stringify(examples)).toBe(0);
    expect(counted.wrongOutcome, JSON.stringify(examples)).toBe(0);
    expect(flowErrors).toEqual([]);
    expect(outages).toHaveLength(2);
  }, 400_000);
});
