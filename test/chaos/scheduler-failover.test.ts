/**
 * Scenario 4: the scheduler leader SIGKILLed twice while delayed jobs come due
 * and periodic schedules fire. Three scheduler processes share the leader
 * role; one worker runs everything. A new leader must take over within the
 * election timeout (plus a margin for a loaded machine), no periodic fire may
 * be doubled, and no delayed job may be lost or end twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '@rfw/core';
import { NatsServer, spawnService, waitFor, type ServiceProcess } from '@rfw/testkit';
import {
  readExecLog,
  readRecords,
  readTerminalEvents,
  terminalTransitions,
  waitForDrain,
} from './support/ledger.js';
import { repoRoot, removeScratch, scratchDir } from './support/paths.js';
import { produce } from './support/producer.js';
import { tally, writeReport } from './support/report.js';
import { execLogIn } from './support/scenario.js';
import { WorkerPool } from './support/worker-pool.js';

const DELAYED = Number(process.env.CHAOS_JOBS ?? 1000);
/** The scheduler's lease (LEADER_ELECTION_TIMEOUT_MS), ms. */
const LEASE_MS = 2000;
/** Slack on a takeover for a 2-core machine shared with other test runs, ms. */
const TAKEOVER_SLACK_MS = 4000;

interface Scheduler {
  proc: ServiceProcess;
  nodeId: string;
  http: string;
}

describe('distributed: chaos: scheduler leader SIGKILL with jobs due', () => {
  let server: NatsServer;
  let queue: JobQueue | undefined;
  let pool: WorkerPool | undefined;
  const schedulers: Scheduler[] = [];

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.proc.kill('SIGKILL')));
    await pool?.stopAll(5000);
    await queue?.close();
    await server?.stop();
    removeScratch();
  });

  it('fails over within the election timeout, doubles no fire, loses no delayed job', async () => {
    const started = Date.now();
    const prefix = 'chaos4';
    const execLog = execLogIn(scratchDir('scheduler'));
    queue = await JobQueue.connect({ servers: server.url, prefix });
    pool = new WorkerPool({ servers: [server.url], prefix, execLog, concurrency: 32 });
    const schedules = JSON.stringify([
      { name: 'tick', cron: '* * * * * *', type: 'chaos', payload: { n: -1 } },
      { name: 'beat', everyMs: 500, type: 'chaos', payload: { n: -2 }, priority: 'high' },
    ]);
    const start = async (nodeId: string): Promise<Scheduler> => {
      const proc = spawnService(`${repoRoot}services/scheduler/src/main.ts`, {
        env: {
          NATS_URL: server.url,
          RFW_PREFIX: prefix,
          NODE_ID: nodeId,
          LEADER_ELECTION_TIMEOUT_MS: String(LEASE_MS),
          HEARTBEAT_INTERVAL_MS: '300',
          SCHEDULES: schedules,
          LOG_LEVEL: 'info',
        },
      });
      const line = await proc.waitForLine((l) => l.includes('"msg":"service ready"'), 120_000);
      const s = { proc, nodeId, http: (JSON.parse(line) as { http: string }).http };
      schedulers.push(s);
      return s;
    };
    await Promise.all([pool.start(1), start('s1'), start('s2'), start('s3')]);
    const alive = (s: Scheduler): boolean =>
      s.proc.proc.exitCode === null && s.proc.proc.signalCode === null;
    const leader = (): Promise<Scheduler> =>
      waitFor(
        'a scheduler leader',
        async () => {
          for (const s of schedulers.filter(alive)) {
            const res = await fetch(`${s.http}/healthz`).catch(() => undefined);
            const body = (await res?.json().catch(() => undefined)) as
              { info?: { isLeader?: boolean } } | undefined;
            if (body?.info?.isLeader) return s;
          }
          return undefined;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );

    // Delayed jobs due from 2 s to 12 s from now.
    const first = await leader();
    // And a schedule stored at run time (JobQueue.schedules), beside the configured two.
    await queue.schedules.add({ name: 'stored', everyMs: 500, type: 'chaos', payload: { n: -3 } });
    const t0 = Date.now();
    const produced = await produce(queue, {
      type: 'chaos',
      count: DELAYED,
      idPrefix: 'd',
      concurrency: 64,
      payload: (i) => ({ n: i, sleepMs: 2 }),
      options: (i) => ({ runAt: t0 + 2000 + Math.floor((i * 10_000) / DELAYED) }),
    });

    // Kill the leader while jobs are coming due, twice.
    const failovers: Array<{ killed: string; next: string; takeoverMs: number }> = [];
    let current = first;
    for (const at of [4000, 8000]) {
      await waitFor('the next kill time', () => Date.now() - t0 >= at, {
        timeoutMs: 60_000,
        intervalMs: 50,
      });
      const killedAt = Date.now();
      await current.proc.kill('SIGKILL');
      const next = await leader();
      failovers.push({
        killed: current.nodeId,
        next: next.nodeId,
        takeoverMs: Date.now() - killedAt,
      });
      current = next;
      // Bring back a replacement so the next failover has two candidates.
      await start(`s${schedulers.length + 1}`);
    }

    // Every delayed job released and run, then stop the schedulers and count.
    await waitFor(
      'every delayed job to finish',
      async () => {
        const recs = await readRecords(queue!, produced.accepted);
        return [...recs.values()].every((j) => j?.state === 'succeeded');
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    ).catch(() => undefined);
    const unexpectedExits = schedulers
      .filter((s) => !alive(s) && !failovers.some((f) => f.killed === s.nodeId))
      .map((s) => s.nodeId);
    await Promise.all(schedulers.filter(alive).map((s) => s.proc.kill('SIGTERM')));
    const drained = await waitForDrain(queue.ctx, 60_000);

    const executions = readExecLog(execLog);
    const events = await readTerminalEvents(queue.ctx);
    const delayed = tally({
      ids: produced.accepted,
      records: await readRecords(queue, produced.accepted),
      executions,
      events,
      expected: () => 'succeeded',
      planned: () => 1,
    });
    // Periodic fires: ids are `<schedule>-<fire time ms>`, one job per fire time.
    const fireIds = [...executions.keys(), ...events.keys()].filter((id) =>
      /^(tick|beat|stored)-\d+$/.test(id),
    );
    const fires = [...new Set(fireIds)];
    const fireRecords = await readRecords(queue, fires);
    const fireDoubles = fires.filter((id) => {
      const j = fireRecords.get(id);
      return (
        (j && terminalTransitions(j) > 1) ||
        (events.get(id)?.length ?? 0) > 1 ||
        (j?.history.filter((h) => h.state === 'pending').length ?? 0) > 1
      );
    });
    const fireExtraRuns = fires.reduce(
      (a, id) => a + Math.max(0, (executions.get(id)?.length ?? 0) - 1),
      0,
    );
    const gaps = (name: string, every: number): { fired: number; missed: number } => {
      const times = fires
        .filter((id) => id.startsWith(`${name}-`))
        .map((id) => Number(id.slice(name.length + 1)))
        .sort((a, b) => a - b);
      let missed = 0;
      for (let i = 1; i < times.length; i++)
        missed += Math.round(((times[i] as number) - (times[i - 1] as number)) / every) - 1;
      return { fired: times.length, missed };
    };

    const report = {
      id: '4-scheduler-failover',
      title: `SIGKILL the scheduler leader twice (3 schedulers) while ${DELAYED} delayed jobs come due and 3 schedules fire (one stored at run time)`,
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      ...delayed,
      multipleTerminal: delayed.multipleTerminal + fireDoubles.length,
      faults: { leaderKills: failovers.length },
      producerErrors: produced.errors,
      crashes: pool.crashes.length + unexpectedExits.length,
      extra: {
        drained,
        failovers,
        leaseMs: LEASE_MS,
        periodic: {
          tick: gaps('tick', 1000),
          beat: gaps('beat', 500),
          stored: gaps('stored', 500),
        },
        fireDoubles: fireDoubles.length,
        fireExtraRuns,
      },
    };
    writeReport(report);

    expect(pool.crashes).toEqual([]);
    expect(unexpectedExits).toEqual([]);
    expect(produced.abandoned).toEqual([]);
    for (const f of failovers) expect(f.takeoverMs).toBeLessThan(LEASE_MS + TAKEOVER_SLACK_MS);
    expect(fireDoubles, fireDoubles.join(', ')).toEqual([]);
    expect(fires.length).toBeGreaterThan(10);
    // The stored schedule fired through both failovers (it runs ~12 s at 500 ms).
    expect(report.extra.periodic.stored.fired).toBeGreaterThan(10);
    expect(delayed.jobsScheduled).toBe(DELAYED);
    expect(delayed.lost, JSON.stringify(delayed.examples)).toBe(0);
    expect(delayed.multipleTerminal, JSON.stringify(delayed.examples)).toBe(0);
    expect(delayed.wrongOutcome, JSON.stringify(delayed.examples)).toBe(0);
    expect(drained).toBe(true);
  }, 300_000);
});
