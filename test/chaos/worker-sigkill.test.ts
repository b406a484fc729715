/**
 * Scenario 1: worker processes SIGKILLed under load. 10,000 jobs, 3 worker
 * processes, one killed and restarted every 1-2 s until the queue drains.
 * Nothing accepted may be lost, no job may end twice; extra executions
 * (at-least-once redeliveries after a kill) are reported.
 */
import { describe, expect, it } from 'vitest';
import { unsettledMessages } from './support/ledger.js';
import { scratchDir } from './support/paths.js';
import { useChaosHarness } from './support/chaos-harness.js';
import { writeReport } from './support/report.js';
import { countMix, execLogIn, mixReport, runMix } from './support/scenario.js';
import { WorkerPool } from './support/worker-pool.js';

const JOBS = Number(process.env.CHAOS_JOBS ?? 10_000);
const KILLS = process.env.CHAOS_NO_KILL ? false : true;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('distributed: chaos: worker SIGKILL under load', () => {
  const h = useChaosHarness();

  it('loses nothing and ends every job exactly once while workers are SIGKILLed', async () => {
    const started = Date.now();
    const prefix = 'chaos1';
    const dir = scratchDir('sigkill');
    const execLog = execLogIn(dir);
    const queue = await h.queue({ prefix });
    const pool = h.pool({ prefix, execLog, concurrency: 16 });
    await pool.start(3);

    // Fault loop: every 1-2 s SIGKILL one live worker and start its
    // replacement (in the background: a cold start takes a few seconds on a
    // busy machine), until the producer is done and the jobs stream is empty.
    let stop = false;
    let producing = true;
    const restarts: Promise<void>[] = [];
    const killer = (async () => {
      const p = pool as WorkerPool;
      while (!stop) {
        await sleep(1000 + Math.random() * 1000);
        if (stop) break;
        if (!KILLS) continue;
        const live = p.slots;
        if (live.length < 2) continue;
        const slot = live[Math.floor(Math.random() * live.length)] as number;
        await p.kill(slot);
        restarts.push(p.startSlot(slot));
        if (!producing && (await unsettledMessages(queue!.ctx)) === 0) break;
      }
      await Promise.all(restarts);
    })();

    const progress = setInterval(() => {
      if (!process.env.CHAOS_VERBOSE) return;
      void unsettledMessages(queue!.ctx).then(
        (n) => console.log(`[chaos1] t=${Date.now() - started} queued=${n} kills=${pool?.kills}`),
        () => undefined,
      );
    }, 5000);
    // No broker faults here, so the producer can let schedule() generate ids.
    const run = await runMix(queue, { count: JOBS, concurrency: 64 });
    producing = false;
    const counted = await countMix(queue, run, execLog, 180_000);
    stop = true;
    await killer;
    clearInterval(progress);

    const report = mixReport({
      id: '1-worker-sigkill',
      title: 'SIGKILL a worker process every 1-2 s (3 workers, 10,000 jobs)',
      started,
      counted,
      run,
      faults: { workerKills: pool.kills, workerStarts: pool.starts },
      crashes: pool.crashes.length,
      extra: { produceMs: run.produced.durationMs },
    });
    writeReport(report);

    expect(pool.crashes, JSON.stringify(pool.crashes)).toEqual([]);
    expect(run.produced.abandoned).toEqual([]);
    expect(report.jobsScheduled).toBe(JOBS);
    expect(counted.lost, JSON.stringify(counted.examples)).toBe(0);
    expect(counted.multipleTerminal, JSON.stringify(counted.examples)).toBe(0);
    expect(counted.wrongOutcome, JSON.stringify(counted.examples)).toBe(0);
    expect(counted.drained).toBe(true);
    expect(pool.kills).toBeGreaterThanOrEqual(3);
  }, 300_000);
});
