/**
 * The standard chaos load: a mix of jobs that succeed, fail once then
 * succeed, and fail for good, some of them cancelled while they wait or run,
 * produced while faults are injected, then counted.
 */
import { join } from 'node:path';
import { InvalidStateError, type JobQueue } from '@rfw/core';
import type { ChaosPayload } from '../fixtures/chaos-payload.js';
import {
  describeBacklog,
  queuedMessages,
  readLedger,
  unsettledMessages,
  waitForDrain,
} from './ledger.js';
import { produce, type ProduceResult } from './producer.js';
import { tally, type ScenarioReport, type Tally } from './report.js';

export interface MixOptions {
  count: number;
  /** Explicit ids `<idPrefix>-<i>`, retried on failure; omit for generated ids. */
  idPrefix?: string;
  type?: string;
  /** Handler time per job is 1 + (i mod sleepSpread) ms. @default 12 */
  sleepSpread?: number;
  /** Cancel every `cancelEvery`-th job right after it is accepted (0: none). @default 100 */
  cancelEvery?: number;
  concurrency?: number;
  /** Called once per accepted job. */
  onAccepted?: (id: string, i: number) => void;
}

/** The payload of job `i` of the mix: 2% fatal, 5% flaky, the rest plain. */
export function mixPayload(i: number, sleepSpread = 12): ChaosPayload {
  const mode = i % 50 === 7 ? 'fatal' : i % 20 === 3 ? 'flaky' : 'ok';
  return { n: i, sleepMs: 1 + (i % sleepSpread), mode };
}

export interface MixRun {
  produced: ProduceResult;
  /** Ids whose cancel was accepted. */
  cancelled: Set<string>;
  /** Cancels refused because the job had already finished. */
  cancelTooLate: number;
  /** Cancels that failed for another reason (by error name). */
  cancelErrors: Record<string, number>;
}

/** Produce the mix (resolves when every job is accepted and every cancel answered). */
export async function runMix(queue: JobQueue, o: MixOptions): Promise<MixRun> {
  const cancelled = new Set<string>();
  const cancelErrors: Record<string, number> = {};
  let cancelTooLate = 0;
  const cancels: Promise<void>[] = [];
  const every = o.cancelEvery ?? 100;
  const produced = await produce(queue, {
    type: o.type ?? 'chaos',
    count: o.count,
    idPrefix: o.idPrefix,
    concurrency: o.concurrency,
    payload: (i) => mixPayload(i, o.sleepSpread),
    options: () => ({ maxRetries: 10 }),
    onAccepted: (id, i) => {
      o.onAccepted?.(id, i);
      if (every === 0 || i % every !== 42 % every) return;
      cancels.push(
        (async () => {
          for (let tries = 0; ; tries++) {
            try {
              await queue.cancel(id);
              cancelled.add(id);
              return;
            } catch (err) {
              if (err instanceof InvalidStateError) {
                cancelTooLate++;
                return;
              }
              const name = (err as Error).name;
              cancelErrors[name] = (cancelErrors[name] ?? 0) + 1;
              if (tries > 50) return;
              await new Promise((r) => setTimeout(r, 200));
            }
          }
        })(),
      );
    },
  });
  await Promise.all(cancels);
  return { produced, cancelled, cancelTooLate, cancelErrors };
}

/** Wait for the queue to drain, then count every job of the mix. */
export type MixCount = Tally & {
  drained: boolean;
  /** Messages left in the jobs stream once every job has settled (expected 0). */
  staleMessages: number;
  backlog?: Awaited<ReturnType<typeof describeBacklog>>;
};

export async function countMix(
  queue: JobQueue,
  run: MixRun,
  execLog: string,
  drainTimeoutMs: number,
): Promise<MixCount> {
  const drained = await waitForDrain(queue.ctx, drainTimeoutMs);
  const staleMessages = await queuedMessages(queue.ctx);
  const backlog = drained && staleMessages === 0 ? undefined : await describeBacklog(queue);
  const ids = run.produced.accepted;
  const mode = (id: string): ChaosPayload['mode'] =>
    mixPayload(run.produced.index.get(id) ?? -1).mode;
  const t = tally({
    ...(await readLedger(queue, ids, execLog)),
    cancelled: run.cancelled,
    expected: (id) => (mode(id) === 'fatal' ? 'dead' : 'succeeded'),
    planned: (id) => (mode(id) === 'flaky' ? 2 : 1),
  });
  return { ...t, drained, staleMessages, backlog };
}

/**
 * The report of a mix scenario: its counts, the faults it injected, and what
 * the producer and the cancels saw (`extra` adds scenario-specific numbers).
 */
export function mixReport(o: {
  id: string;
  title: string;
  started: number;
  counted: MixCount;
  run: MixRun;
  faults: Record<string, number>;
  crashes: number;
  extra?: Record<string, unknown>;
}): ScenarioReport {
  const { counted, run } = o;
  return {
    id: o.id,
    title: o.title,
    finishedAt: new Date().toISOString(),
    durationMs: Date.now() - o.started,
    ...counted,
    faults: o.faults,
    producerErrors: run.produced.errors,
    crashes: o.crashes,
    extra: {
      drained: counted.drained,
      ...o.extra,
      producerErrorSamples: run.produced.samples,
      cancelAccepted: run.cancelled.size,
      cancelTooLate: run.cancelTooLate,
      cancelErrors: run.cancelErrors,
      abandoned: run.produced.abandoned.length,
    },
  };
}

export const execLogIn = (dir: string): string => join(dir, 'executions.log');

/** With `CHAOS_VERBOSE=1`, print the queue depth every 5 s; returns a stop function. */
export function progress(
  label: string,
  queue: JobQueue,
  extra: () => string = () => '',
): () => void {
  const started = Date.now();
  const timer = setInterval(() => {
    if (!process.env.CHAOS_VERBOSE) return;
    void unsettledMessages(queue.ctx).then(
      (n) => console.log(`[${label}] t=${Date.now() - started} unsettled=${n} ${extra()}`),
      (err: Error) => console.log(`[${label}] t=${Date.now() - started} ${err.message}`),
    );
  }, 5000);
  return () => clearInterval(timer);
}
