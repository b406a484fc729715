/**
 * Scenario 2: the single nats-server SIGKILLed and restarted under load, twice:
 * once while jobs are being produced, once while they drain. The producer
 * retries failed `schedule()` calls with the same job id, as a careful client
 * does; nothing it saw accepted may be lost, and no job may end twice.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '@rfw/testkit';
import { unsettledMessages } from './support/ledger.js';
import { scratchDir } from './support/paths.js';
import { useChaosHarness } from './support/chaos-harness.js';
import { writeReport } from './support/report.js';
import { serverLosesAckedWritesOnKill } from './support/server-version.js';
import { countMix, execLogIn, mixReport, progress, runMix } from './support/scenario.js';

const JOBS = Number(process.env.CHAOS_JOBS ?? 2000);
/** How long the server stays down each time, ms (the fault, not a wait for an event). */
const DOWN_MS = 1500;

describe('distributed: chaos: nats-server SIGKILL under load', () => {
  const h = useChaosHarness();

  it('loses nothing and ends every job exactly once across server crashes', async () => {
    const started = Date.now();
    const prefix = 'chaos2';
    const dir = scratchDir('natskill');
    const execLog = execLogIn(dir);
    const queue = await h.queue({ prefix });
    const pool = h.pool({ prefix, execLog, concurrency: 16 });
    await pool.start(2);

    const outages: Array<{ at: string; downMs: number; restartMs: number }> = [];
    const crash = async (at: string): Promise<void> => {
      const t0 = Date.now();
      await h.server.kill();
      await new Promise((r) => setTimeout(r, DOWN_MS));
      const t1 = Date.now();
      await h.server.restart();
      outages.push({ at, downMs: Date.now() - t0, restartMs: Date.now() - t1 });
    };

    let accepted = 0;
    const stopProgress = progress('chaos2', queue, () => `accepted=${accepted}`);
    const firstCrash = waitFor('a third of the jobs accepted', () => accepted >= JOBS / 3, {
      timeoutMs: 240_000,
      intervalMs: 50,
    }).then(() => crash('producing'));
    const mix = runMix(queue, {
      count: JOBS,
      idPrefix: 'j',
      concurrency: 64,
      onAccepted: () => accepted++,
    });
    const run = await mix;
    await firstCrash;
    // Second crash while the backlog drains (if it has not drained already).
    const backlog = await waitFor('the broker back up', () => unsettledMessages(queue!.ctx), {
      timeoutMs: 30_000,
    }).catch(() => 0);
    await crash(backlog > 0 ? `draining (${backlog} queued)` : 'idle');

    const counted = await countMix(queue, run, execLog, 90_000);
    stopProgress();
    const report = mixReport({
      id: '2-nats-sigkill',
      title: `SIGKILL the single nats-server twice under load (2 workers, ${JOBS} jobs)`,
      started,
      counted,
      run,
      faults: { natsKills: outages.length },
      crashes: pool.crashes.length,
      extra: { backlog: counted.backlog, outages },
    });
    writeReport(report);

    expect(pool.crashes, JSON.stringify(pool.crashes)).toEqual([]);
    expect(run.produced.abandoned).toEqual([]);
    expect(report.jobsScheduled).toBe(JOBS);
    expect(counted.lost, JSON.stringify(counted.examples)).toBe(0);
    // nats-server 2.9 can lose writes it acknowledged just before a SIGKILL
    // (F10): a worker's outcome write among them, the job runs again after the
    // restart and its outcome is announced twice, while its record shows one
    // outcome. There the record is asserted and the duplicate events reported.
    // After the restart a few messages of finished jobs can also stay ack-pending
    // until the drain wait runs out (the consumer's ack floor far behind): every
    // record is terminal (asserted above), the queue just does not read empty.
    if (serverLosesAckedWritesOnKill()) {
      expect(counted.multipleTerminalRecords, JSON.stringify(counted.examples)).toBe(0);
    } else {
      expect(counted.multipleTerminal, JSON.stringify(counted.examples)).toBe(0);
      expect(counted.drained).toBe(true);
    }
    expect(counted.wrongOutcome, JSON.stringify(counted.examples)).toBe(0);
    expect(outages).toHaveLength(2);
  }, 300_000);
});
