/**
 * Scenario 5: backpressure. Producers far faster than the workers, against a
 * jobs stream limited with `provision: { maxQueuedJobs }`. The queue must stay
 * within its limit, memory must stay bounded, and a producer must get a typed
 * `QueueFullError` (with nothing enqueued) that it can wait out and retry;
 * nothing crashes, nothing accepted is lost.
 */
import { describe, expect, it } from 'vitest';
import { JobQueue, QueueFullError } from '@rfw/core';
import { readExecLog, readRecords, readTerminalEvents, waitForDrain } from './support/ledger.js';
import { Peaks, rssMiB } from './support/memory.js';
import { scratchDir } from './support/paths.js';
import { produce } from './support/producer.js';
import { useChaosHarness } from './support/chaos-harness.js';
import { tally, writeReport } from './support/report.js';
import { execLogIn } from './support/scenario.js';

const JOBS = Number(process.env.CHAOS_JOBS ?? 1000);
const LIMIT = 100;

describe('job_processing: chaos: backpressure on a bounded queue', () => {
  const h = useChaosHarness();

  it('keeps the queue and memory bounded and gives producers a typed error to wait on', async () => {
    const started = Date.now();
    const prefix = 'chaos5';
    const execLog = execLogIn(scratchDir('backpressure'));
    const queue = await h.queue({
      prefix,
      provision: { maxQueuedJobs: LIMIT },
    });
    const { jsm, names } = queue.ctx;
    const maxMsgs = async (): Promise<number> =>
      (await jsm.streams.info(names.jobsStream)).config.max_msgs;
    expect(await maxMsgs()).toBe(LIMIT);

    // One slow worker: 4 jobs at a time, 5 ms each.
    const pool = h.pool({ prefix, execLog, concurrency: 4 });
    await pool.start(1);
    // A worker service provisions the same streams with its own options; it
    // must not silently lift the limit the installation was given.
    const limitAfterWorkerStart = await maxMsgs();
    expect.soft(limitAfterWorkerStart, 'a worker start reset maxQueuedJobs').toBe(LIMIT);
    if (limitAfterWorkerStart !== LIMIT) {
      // Put the limit back so the rest of the scenario measures backpressure.
      await (
        await JobQueue.connect({
          servers: h.server.url,
          prefix,
          provision: { maxQueuedJobs: LIMIT },
        })
      ).close();
    }

    const peaks = new Peaks();
    let rejectedLeftRecord = 0;
    let rejectionsChecked = 0;
    let untyped = 0;
    const sampler = setInterval(() => {
      peaks.add('natsRssMiB', rssMiB(h.server.pid));
      for (const pid of pool!.pids().values()) peaks.add('workerRssMiB', rssMiB(pid));
      peaks.add('producerHeapMiB', Math.round(process.memoryUsage().heapUsed / 1048576));
      void jsm.streams.info(names.jobsStream).then(
        (i) => {
          peaks.add('queuedMessages', i.state.messages);
          peaks.add('queuedBytes', i.state.bytes);
        },
        () => undefined,
      );
    }, 200);

    const produced = await produce(queue, {
      type: 'chaos',
      count: JOBS,
      idPrefix: 'bp',
      concurrency: 32,
      payload: (i) => ({ n: i, sleepMs: 5 }),
      onError: async (err, id) => {
        if (!(err instanceof QueueFullError)) {
          untyped++;
          return;
        }
        // A refused job left nothing behind: no record, nothing to run.
        if (rejectionsChecked++ % 25 === 0) {
          if (await queue!.ctx.records.get(id)) rejectedLeftRecord++;
        }
      },
    });
    const drained = await waitForDrain(queue.ctx, 120_000);
    clearInterval(sampler);

    const ids = produced.accepted;
    const t = tally({
      ids,
      records: await readRecords(queue, ids),
      executions: readExecLog(execLog),
      events: await readTerminalEvents(queue.ctx),
      expected: () => 'succeeded',
      planned: () => 1,
    });
    const report = {
      id: '5-backpressure',
      title: `Producers far faster than one slow worker, jobs stream limited to ${LIMIT} (${JOBS} jobs)`,
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      ...t,
      faults: {},
      producerErrors: produced.errors,
      crashes: pool.crashes.length,
      extra: {
        drained,
        limit: LIMIT,
        limitAfterWorkerStart,
        peaks: peaks.peak,
        workerRssTrend: peaks.trend('workerRssMiB'),
        natsRssTrend: peaks.trend('natsRssMiB'),
        rejectedLeftRecord,
        rejectionsChecked: Math.ceil(rejectionsChecked / 25),
        produceMs: produced.durationMs,
        errorSamples: produced.samples,
      },
    };
    writeReport(report);

    expect(pool.crashes).toEqual([]);
    expect(produced.abandoned).toEqual([]);
    expect(untyped, JSON.stringify(produced.samples)).toBe(0);
    expect(produced.errors.QueueFullError ?? 0).toBeGreaterThan(0);
    expect(rejectedLeftRecord).toBe(0);
    expect(peaks.peak.queuedMessages ?? 0).toBeLessThanOrEqual(LIMIT);
    // Generous bounds: the point is "bounded", not a tight budget.
    expect(peaks.peak.natsRssMiB ?? 0).toBeLessThan(256);
    expect(peaks.peak.workerRssMiB ?? 0).toBeLessThan(512);
    expect(t.jobsScheduled).toBe(JOBS);
    expect(t.lost, JSON.stringify(t.examples)).toBe(0);
    expect(t.multipleTerminal, JSON.stringify(t.examples)).toBe(0);
    expect(t.wrongOutcome, JSON.stringify(t.examples)).toBe(0);
    expect(drained).toBe(true);
  }, 300_000);
});
