/**
 * The counts every chaos scenario reports, written as JSON under
 * `.data/reliability/<id>.json` (git-ignored) and printed, so that
 * `docs/reliability.md` can be filled from a real run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Job, JobEvent } from '@rfw/core';
import { terminalTransitions, type Execution } from './ledger.js';
import { reportDir } from './paths.js';

export interface ScenarioReport {
  /** File name and table key, e.g. `1-worker-sigkill`. */
  id: string;
  title: string;
  finishedAt: string;
  durationMs: number;
  jobsScheduled: number;
  /** Final state of every scheduled job, from its record. */
  terminal: { succeeded: number; dead: number; cancelled: number };
  /** Scheduled jobs with no terminal record at the end (expected 0). */
  lost: number;
  /**
   * Of those, jobs a worker ran at least once: their outcome write was made
   * but the record does not show it (on nats-server 2.9.10 a replicated KV can
   * lose writes it acknowledged across a leader change, F2).
   */
  lostAfterRun?: number;
  /** Jobs whose history or events show more than one terminal state (expected 0). */
  multipleTerminal: number;
  /** Of those, jobs whose record history has more than one terminal transition. */
  multipleTerminalRecords: number;
  /** Of those, jobs with more than one terminal event in the events stream. */
  multipleTerminalEvents: number;
  /** Jobs that ended in another state than their payload asked for (expected 0). */
  wrongOutcome: number;
  /**
   * Of those, jobs whose cancel was accepted but which ended `succeeded` or
   * `dead`: the record write of the cancel was acknowledged and then lost or
   * overwritten (F2, nats-server < 2.9.20 in a cluster).
   */
  wrongOutcomeCancelLost?: number;
  /** Handler executions logged by the fixture workers. */
  executions: number;
  /** Executions beyond the first, all causes (planned retries included). */
  extraExecutions: number;
  /** Executions beyond what the job asked for (crash redeliveries, at-least-once). */
  unplannedExecutions: number;
  /** Faults injected, by kind (`workerKills`, `natsKills`...). */
  faults: Record<string, number>;
  /** Failed `schedule()` calls by error class (each retried with the same id). */
  producerErrors: Record<string, number>;
  /** Worker processes that exited without being killed by the test (expected 0). */
  crashes: number;
  /** Scenario-specific numbers. */
  extra: Record<string, unknown>;
  /** First few ids behind a non-zero invariant count, for debugging. */
  examples: Record<string, string[]>;
}

export interface TallyInput {
  ids: readonly string[];
  records: Map<string, Job | undefined>;
  executions: Map<string, Execution[]>;
  events: Map<string, JobEvent[]>;
  /** The terminal state each job should reach (before any cancel). */
  expected: (id: string) => 'succeeded' | 'dead';
  /** Executions each job asks for (2 for a job that fails its first attempt). */
  planned: (id: string) => number;
  /** Ids a cancel was accepted for: `cancelled` is then their right ending. */
  cancelled?: ReadonlySet<string>;
}

export type Tally = Pick<
  ScenarioReport,
  | 'jobsScheduled'
  | 'terminal'
  | 'lost'
  | 'multipleTerminal'
  | 'multipleTerminalRecords'
  | 'multipleTerminalEvents'
  | 'wrongOutcome'
  | 'wrongOutcomeCancelLost'
  | 'lostAfterRun'
  | 'executions'
  | 'extraExecutions'
  | 'unplannedExecutions'
  | 'examples'
>;

export function tally(t: TallyInput): Tally {
  const terminal = { succeeded: 0, dead: 0, cancelled: 0 };
  const examples: Record<string, string[]> = { lost: [], multipleTerminal: [], wrongOutcome: [] };
  const note = (k: string, id: string): void => {
    const list = (examples[k] ??= []);
    if (list.length < 10) list.push(id);
  };
  let lost = 0;
  let multiple = 0;
  let multipleRecords = 0;
  let multipleEvents = 0;
  let wrong = 0;
  let cancelLost = 0;
  let lostRan = 0;
  let executions = 0;
  let extra = 0;
  let unplanned = 0;
  for (const id of t.ids) {
    const job = t.records.get(id);
    const runs = t.executions.get(id)?.length ?? 0;
    executions += runs;
    extra += Math.max(0, runs - 1);
    unplanned += Math.max(0, runs - t.planned(id));
    if (!job || !(job.state in terminal)) {
      lost++;
      if (runs > 0) lostRan++;
      const evs = (t.events.get(id) ?? []).map((e) => e.state).join(' ');
      const ran = (t.executions.get(id) ?? []).map((e) => `a${e.attempt}`).join(' ');
      note(
        'lost',
        `${id}:${job?.state ?? 'no record'} history=[${(job?.history ?? []).map((h) => h.state).join(' ')}] events=[${evs}] runs=[${ran}]`,
      );
      continue;
    }
    terminal[job.state as keyof typeof terminal]++;
    const byRecord = terminalTransitions(job) > 1;
    const byEvents = (t.events.get(id)?.length ?? 0) > 1;
    if (byRecord) multipleRecords++;
    if (byEvents) multipleEvents++;
    if (byRecord || byEvents) {
      multiple++;
      const evs = (t.events.get(id) ?? []).map(
        (e) => `${e.state}@${e.at}/${e.workerId ?? '-'}/a${e.attempt ?? '-'}`,
      );
      const hist = job.history.map((h) => `${h.state}/a${h.attempt ?? '-'}`);
      const runs = (t.executions.get(id) ?? []).map((e) => `a${e.attempt}/pid${e.pid}`);
      note(
        'multipleTerminal',
        `${id} events=[${evs.join(' ')}] history=[${hist.join(' ')}] runs=[${runs.join(' ')}]`,
      );
    }
    const want = t.cancelled?.has(id) ? 'cancelled' : t.expected(id);
    if (job.state !== want) {
      wrong++;
      if (want === 'cancelled') cancelLost++;
      note('wrongOutcome', `${id}:${job.state}!=${want}:${job.deadReason ?? ''}`);
    }
  }
  for (const k of Object.keys(examples)) if (examples[k]?.length === 0) delete examples[k];
  return {
    jobsScheduled: t.ids.length,
    terminal,
    lost,
    multipleTerminal: multiple,
    multipleTerminalRecords: multipleRecords,
    multipleTerminalEvents: multipleEvents,
    wrongOutcome: wrong,
    wrongOutcomeCancelLost: cancelLost,
    lostAfterRun: lostRan,
    executions,
    extraExecutions: extra,
    unplannedExecutions: unplanned,
    examples,
  };
}

/** Write the report to `.data/reliability/<id>.json` and print it. */
export function writeReport(report: ScenarioReport): string {
  mkdirSync(reportDir, { recursive: true });
  const file = join(reportDir, `${report.id}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  const { examples: _e, ...shown } = report;
  console.log(`[reliability] ${report.id}: ${JSON.stringify(shown)}`);
  return file;
}
