/**
 * Scenario 9: isolated handlers (issue 19, part 3), in a real worker process
 * (`runWorkerService()`) on a real nats-server, once with the handler in a
 * worker thread and once in a child process. The type runs one job at a time
 * with the shortest ack wait (1 s):
 * - a handler that spins the CPU for 60 s (timeout 4 s) runs once, is not
 *   redelivered while it spins (the worker's in-progress acks go on), and is
 *   killed at its timeout plus the 1 s grace;
 * - a handler deaf to its signal is killed at timeout + grace, and the next
 *   job of the type starts only after the kill;
 * - a handler that calls `process.exit(3)` fails that attempt, and the same
 *   worker process runs the next job.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, type Job, type JobEvent } from '@rfw/core';
import { decodeJson } from '@rfw/core/internal';
import { NatsServer, spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
import { readStarts, type Start } from '../../libs/worker/test/fixtures/isolation/exec-log.js';
import { terminalTransitions } from './support/ledger.js';
import { removeScratch, scratchDir } from './support/paths.js';
import { writeReport } from './support/report.js';

const service = fileURLToPath(
  new URL('../../libs/worker/test/fixtures/isolation/chaos-service.ts', import.meta.url),
);

function ticks(path: string): number[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const TIMEOUT_MS = 4000;
const GRACE_MS = 1000;

describe('distributed: chaos: isolated handlers', () => {
  let server: NatsServer;
  const procs: ServiceProcess[] = [];
  const queues: JobQueue[] = [];

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await Promise.all(
      procs.map(async (p) => {
        const t = setTimeout(() => p.proc.kill('SIGKILL'), 10_000);
        await p.kill('SIGTERM');
        clearTimeout(t);
      }),
    );
    for (const q of queues) await q.close();
    await server?.stop();
    removeScratch();
  });

  for (const mode of ['thread', 'process'] as const) {
    it(`${mode}: a CPU spin, a deaf handler and process.exit end only their attempt`, async () => {
      const started = Date.now();
      const prefix = `chaos9${mode[0]}`;
      const type = 'iso';
      const dir = scratchDir(`isolation-${mode}`);
      const execLog = join(dir, 'exec.log');
      const queue = await JobQueue.connect({ servers: server.url, prefix });
      queues.push(queue);
      const running = new Map<string, number>();
      /** When each job's attempt began (its first running event): its timeout counts from there. */
      const runningAt = new Map<string, number>();
      queue.ctx.nc.subscribe(`${prefix}.events.${type}.*.running`, {
        callback: (_e, m) => {
          const e = decodeJson<JobEvent>(m.data);
          running.set(e.id, (running.get(e.id) ?? 0) + 1);
          if (!runningAt.has(e.id)) runningAt.set(e.id, e.at);
        },
      });
      await queue.ctx.nc.flush();

      const worker = spawnService(service, {
        env: {
          NATS_URL: server.url,
          RFW_PREFIX: prefix,
          WORKER_ID: `${prefix}-w`,
          ACK_WAIT_MS: '1000',
          SHUTDOWN_GRACE_MS: '2000',
          ISO_MODE: mode,
          ISO_TYPE: type,
          ISO_CONCURRENCY: '1',
          ISO_GRACE_MS: String(GRACE_MS),
          LOG_LEVEL: 'info',
        },
      });
      procs.push(worker);
      let crashed: unknown;
      void worker.exited.then((e) => (crashed ??= e));
      await worker.waitForLine((l) => l.includes('"msg":"service ready"'), 60_000);
      const workerPid = worker.proc.pid!;

      const final = (id: string, timeoutMs = 60_000): Promise<Job> =>
        waitFor(
          `${id} to end`,
          async () => {
            const j = (await queue.ctx.records.get(id))?.job;
            return j && (j.state === 'succeeded' || j.state === 'dead') ? j : undefined;
          },
          { timeoutMs, intervalMs: 100 },
        );

      // 1. 60 s of CPU, timeout 4 s.
      const spinTicks = join(dir, 'spin.ticks');
      await queue.schedule(
        type,
        { mode: 'spin', spinMs: 60_000, execLog, tickLog: spinTicks },
        { id: 'spin', timeout: TIMEOUT_MS, maxRetries: 0 },
      );
      const spin = await final('spin');

      // 2. Deaf to its signal, then a second job of the same type (one slot).
      const deafTicks = join(dir, 'deaf.ticks');
      await queue.schedule(
        type,
        { mode: 'ignore-signal', sleepMs: 60_000, execLog, tickLog: deafTicks },
        { id: 'deaf', timeout: TIMEOUT_MS, maxRetries: 0 },
      );
      await queue.schedule(type, { mode: 'ok', n: 1, execLog }, { id: 'after-deaf' });
      const deaf = await final('deaf');
      const afterDeaf = await final('after-deaf');

      // 3. process.exit(3), then the next job in the same worker process.
      await queue.schedule(
        type,
        { mode: 'exit', code: 3, always: true, execLog },
        { id: 'exit', maxRetries: 0 },
      );
      const exited = await final('exit');
      await queue.schedule(type, { mode: 'ok', n: 2, execLog }, { id: 'after-exit' });
      const afterExit = await final('after-exit');

      const runs = readStarts(execLog);
      const startsOf = (id: string): Start[] => runs.filter((r) => r.id === id);
      const consumer = await queue.ctx.jsm.consumers.info(
        queue.ctx.names.jobsStream,
        queue.ctx.names.consumerName(type, 'normal'),
      );
      const spinT = ticks(spinTicks);
      const deafT = ticks(deafTicks);
      const s = {
        spin: startsOf('spin')[0],
        deaf: startsOf('deaf')[0],
        afterDeaf: startsOf('after-deaf')[0],
      };
      const endedAt = (j: Job): number => j.history.at(-1)!.at;
      const jobs = [spin, deaf, afterDeaf, exited, afterExit];
      const rows = {
        spin: {
          state: spin.state,
          error: spin.lastError,
          starts: startsOf('spin').length,
          runningEvents: running.get('spin') ?? 0,
          // How long it spun, from its first tick to its last (the kill).
          spunMs: spinT.length ? Math.max(...spinT) - Math.min(...spinT) : 0,
          // From the attempt's start to the spin's last tick: past its timeout, up to the kill.
          aliveAfterAttemptMs: spinT.length ? Math.max(...spinT) - runningAt.get('spin')! : 0,
          lastTickBeforeEnd: spinT.length > 0 && Math.max(...spinT) <= endedAt(spin),
        },
        deaf: {
          state: deaf.state,
          error: deaf.lastError,
          starts: startsOf('deaf').length,
          runningEvents: running.get('deaf') ?? 0,
          livedAfterStartMs: deafT.length ? Math.max(...deafT) - s.deaf!.at : 0,
          aliveAfterAttemptMs: deafT.length ? Math.max(...deafT) - runningAt.get('deaf')! : 0,
          nextStartAfterLastTickMs: s.afterDeaf!.at - Math.max(...deafT),
          nextState: afterDeaf.state,
        },
        exit: {
          state: exited.state,
          error: exited.lastError,
          nextState: afterExit.state,
          nextResult: afterExit.result,
          workerAlive: worker.proc.exitCode === null && worker.proc.signalCode === null,
        },
        consumerRedelivered: consumer.num_redelivered,
      };
      writeReport({
        id: `9-isolated-handlers-${mode}`,
        title: `Isolated handlers in a ${mode}: a 60 s CPU spin (timeout 4 s, ack wait 1 s), a handler deaf to its signal, process.exit(3)`,
        finishedAt: new Date().toISOString(),
        durationMs: Date.now() - started,
        jobsScheduled: jobs.length,
        terminal: {
          succeeded: jobs.filter((j) => j.state === 'succeeded').length,
          dead: jobs.filter((j) => j.state === 'dead').length,
          cancelled: 0,
        },
        lost: 0,
        multipleTerminal: jobs.filter((j) => terminalTransitions(j) > 1).length,
        multipleTerminalRecords: jobs.filter((j) => terminalTransitions(j) > 1).length,
        multipleTerminalEvents: 0,
        wrongOutcome:
          [spin.state, deaf.state, exited.state].filter((x) => x !== 'dead').length +
          [afterDeaf.state, afterExit.state].filter((x) => x !== 'succeeded').length,
        executions: runs.length,
        extraExecutions: Math.max(0, runs.length - jobs.length),
        unplannedExecutions: Math.max(0, runs.length - jobs.length),
        faults: { cpuSpins: 1, deafHandlers: 1, processExits: 1 },
        producerErrors: {},
        crashes: crashed ? 1 : 0,
        extra: { rows },
        examples: {},
      });
      if (process.env.CHAOS_VERBOSE) console.log(JSON.stringify(rows, null, 2));

      expect(crashed).toBeUndefined();
      // 1. One start, no redelivery across 4+ ack waits; killed at timeout + grace.
      expect(rows.spin).toMatchObject({
        state: 'dead',
        error: `timed out after ${TIMEOUT_MS} ms; handler ${mode} ended ${GRACE_MS} ms after its signal`,
        starts: 1,
        runningEvents: 1,
        lastTickBeforeEnd: true,
      });
      // It spun past its timeout signal (deaf) and was stopped well before 60 s.
      // Timed from the attempt's start, not the handler's (a thread or process
      // starts slowly on a loaded machine): it outlived its timeout signal.
      expect(rows.spin.aliveAfterAttemptMs).toBeGreaterThan(TIMEOUT_MS - 200);
      expect(rows.spin.aliveAfterAttemptMs).toBeLessThan(TIMEOUT_MS + GRACE_MS + 5000);
      // 2. Killed after its grace; the next job of the type started only after that.
      expect(rows.deaf).toMatchObject({
        state: 'dead',
        error: `timed out after ${TIMEOUT_MS} ms; handler ${mode} ended ${GRACE_MS} ms after its signal`,
        starts: 1,
        runningEvents: 1,
        nextState: 'succeeded',
      });
      expect(rows.deaf.aliveAfterAttemptMs).toBeGreaterThan(TIMEOUT_MS - 200);
      expect(rows.deaf.nextStartAfterLastTickMs).toBeGreaterThan(0);
      // 3. The attempt failed with the exit code; the worker lived and ran the next job.
      expect(rows.exit).toMatchObject({
        state: 'dead',
        error: `handler ${mode} exited with code 3`,
        nextState: 'succeeded',
        workerAlive: true,
      });
      const next = afterExit.result as { pid: number };
      if (mode === 'thread') expect(next.pid).toBe(workerPid);
      else expect(next.pid).not.toBe(workerPid);
      expect(startsOf('after-exit')[0]?.pid).toBe(next.pid);
      expect(rows.consumerRedelivered).toBe(0);
      for (const j of jobs) expect(terminalTransitions(j)).toBe(1);
    }, 180_000);
  }
});
