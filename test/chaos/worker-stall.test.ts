/**
 * Scenario 1b: a worker process frozen (SIGSTOP, as in a long GC pause or a
 * paused VM) past its ack wait while it runs a job. The broker redelivers the
 * job to the other worker, which finishes it; then the frozen worker resumes
 * (SIGCONT) and finishes its own, now stale, run. At-least-once allows the
 * second execution; the job must still end exactly once: one terminal
 * transition, one terminal event, one dead letter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, type JobEvent } from '@rfw/core';
import { NatsServer, waitFor } from '@rfw/testkit';
import {
  readExecLog,
  readRecords,
  readTerminalEvents,
  terminalTransitions,
  unsettledMessages,
} from './support/ledger.js';
import { removeScratch, scratchDir } from './support/paths.js';
import { writeReport } from './support/report.js';
import { execLogIn } from './support/scenario.js';
import { WorkerPool } from './support/worker-pool.js';

describe('distributed: chaos: worker frozen past its ack wait', () => {
  let server: NatsServer;
  let queue: JobQueue | undefined;
  let pool: WorkerPool | undefined;
  const frozen = new Set<number>();

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
    await pool?.stopAll(5000);
    await queue?.close();
    await server?.stop();
    removeScratch();
  });

  it('ends a job exactly once when its first worker resumes after a redelivery', async () => {
    const started = Date.now();
    const prefix = 'chaos1b';
    const execLog = execLogIn(scratchDir('stall'));
    queue = await JobQueue.connect({ servers: server.url, prefix });
    // One job at a time per worker and the shortest ack wait the runtime allows.
    pool = new WorkerPool({
      servers: [server.url],
      prefix,
      execLog,
      concurrency: 1,
      ackWaitMs: 1000,
    });
    await pool.start(2);

    // The frozen worker resumes either after the redelivered copy has finished,
    // or while it still runs (that copy then sleeps 3 s, so the stale run ends first).
    const cases = [
      { id: 'ok-after', mode: 'ok', resume: 'after', want: 'succeeded' },
      { id: 'fatal-after', mode: 'fatal', resume: 'after', want: 'dead' },
      { id: 'ok-during', mode: 'ok', resume: 'during', want: 'succeeded' },
      { id: 'fatal-during', mode: 'fatal', resume: 'during', want: 'dead' },
    ] as const;
    const outcome: Record<string, unknown> = {};
    for (const c of cases) {
      const payload = {
        n: 1,
        mode: c.mode,
        sleepMs: 300,
        ...(c.resume === 'during' ? { laterRunSleepMs: 3000 } : {}),
      };
      await queue.schedule('chaos', payload, { id: c.id });
      // Freeze whichever worker started it, before it can finish or ack.
      const first = await waitFor(`${c.id} to start`, () => readExecLog(execLog).get(c.id)?.[0], {
        intervalMs: 10,
      });
      process.kill(first.pid, 'SIGSTOP');
      frozen.add(first.pid);
      const second = await waitFor(
        `${c.id} to be redelivered to the other worker`,
        () => readExecLog(execLog).get(c.id)?.[1],
        { timeoutMs: 15_000, intervalMs: 10 },
      );
      if (c.resume === 'after') {
        await waitFor(`${c.id} to finish`, async () => {
          const job = (await queue!.ctx.records.get(c.id))?.job;
          return job && job.state === c.want;
        });
      }
      process.kill(first.pid, 'SIGCONT');
      frozen.delete(first.pid);
      await waitFor(`${c.id} to finish`, async () => {
        const job = (await queue!.ctx.records.get(c.id))?.job;
        return job && job.state === c.want;
      });
      // Both copies settle; wait for the last ack.
      await waitFor(`${c.id} settled`, async () => (await unsettledMessages(queue!.ctx)) === 0);
      outcome[c.id] = { firstPid: first.pid, secondPid: second.pid };
      if (process.env.CHAOS_VERBOSE) console.log(pool.tail(8).join('\n'));
    }
    // Events are published right after the ack; give the last ones a moment to
    // reach the stream (a margin before counting, not a wait for an event).
    await new Promise((r) => setTimeout(r, 1000));

    const ids = cases.map((c) => c.id);
    const records = await readRecords(queue, ids);
    const events = await readTerminalEvents(queue.ctx);
    const executions = readExecLog(execLog);
    const dlq = await queue.listDeadLetters({ type: 'chaos' });
    const rows = cases.map((c) => {
      const job = records.get(c.id);
      return {
        id: c.id,
        state: job?.state,
        terminalTransitions: job ? terminalTransitions(job) : 0,
        terminalEvents: (events.get(c.id) ?? []).map((e: JobEvent) => e.state),
        executions: executions.get(c.id)?.length ?? 0,
        deadLetters: dlq.deadLetters.filter((d) => d.id === c.id).length,
      };
    });
    const report = {
      id: '1b-worker-stall',
      title:
        'SIGSTOP a worker past its ack wait; SIGCONT after, or while, the redelivered copy runs',
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      jobsScheduled: cases.length,
      terminal: {
        succeeded: rows.filter((r) => r.state === 'succeeded').length,
        dead: rows.filter((r) => r.state === 'dead').length,
        cancelled: 0,
      },
      lost: rows.filter((r) => r.state !== 'succeeded' && r.state !== 'dead').length,
      multipleTerminal: rows.filter((r) => r.terminalTransitions > 1 || r.terminalEvents.length > 1)
        .length,
      multipleTerminalRecords: rows.filter((r) => r.terminalTransitions > 1).length,
      multipleTerminalEvents: rows.filter((r) => r.terminalEvents.length > 1).length,
      wrongOutcome: cases.filter((c, i) => rows[i]?.state !== c.want).length,
      executions: rows.reduce((a, r) => a + r.executions, 0),
      extraExecutions: rows.reduce((a, r) => a + Math.max(0, r.executions - 1), 0),
      unplannedExecutions: rows.reduce((a, r) => a + Math.max(0, r.executions - 1), 0),
      faults: { workerFreezes: cases.length },
      producerErrors: {},
      crashes: pool.crashes.length,
      extra: { rows, outcome },
      examples: {},
    };
    writeReport(report);

    expect(pool.crashes).toEqual([]);
    for (const [i, c] of cases.entries()) {
      const r = rows[i];
      expect(r, JSON.stringify(r)).toMatchObject({
        state: c.want,
        terminalTransitions: 1,
        terminalEvents: [c.want],
        executions: 2,
        deadLetters: c.want === 'dead' ? 1 : 0,
      });
    }
  }, 120_000);
});
