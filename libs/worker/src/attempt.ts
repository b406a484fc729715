/**
 * The state one delivery of a job carries from its start to its outcome: the
 * record as last read or written (and its revision), the attempt number, the
 * job's child logger and its event helpers. Outcome handlers
 * (`attempt-outcomes.ts`) take one of these.
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  TERMINAL_STATES,
  publishEvent,
  publishOutcomeEvent,
  type Job,
  type JobEvent,
  type JobState,
  type Logger,
} from '@rfw/core/internal';
import type { RunnerDeps, TypeSpec } from './job-runner.js';

/** What a compare-and-set write of the record found. */
export type WriteResult = 'ok' | 'cancelled' | 'finished';

type EventFields = Omit<JobEvent, 'id' | 'type' | 'priority' | 'at'>;

export class Attempt {
  /** This delivery's attempt number (1 for the first run). */
  readonly attemptNo: number;
  readonly type: string;
  /** Set once the `running` record was written by this delivery. */
  runningWritten = false;
  #childLog: Logger | undefined;

  constructor(
    readonly deps: RunnerDeps,
    readonly spec: TypeSpec,
    readonly msg: JsMsg,
    /** The record as this delivery last read or wrote it. */
    public job: Job,
    /** Its revision; `undefined` while no record exists. */
    public rev: number | undefined,
  ) {
    this.type = spec.worker.workerType;
    // Fixed here, before any write changes `job.attempts`.
    this.attemptNo = job.attempts + 1;
  }

  /** The job's child logger, made on first use (thousands running would cost memory). */
  log(): Logger {
    return (this.#childLog ??= this.deps.log.child({
      jobId: this.job.id,
      type: this.type,
      attempt: this.attemptNo,
    }));
  }

  /** A live, fire-and-forget event (not a terminal one). */
  event(e: EventFields): void {
    publishEvent(this.deps.core, this.#event(e));
  }

  /**
   * The terminal event of this delivery, stored and deduplicated by the job
   * message's sequence: resolves once the events stream has it.
   */
  outcomeEvent(e: EventFields & { state: JobState }): Promise<void> {
    return publishOutcomeEvent(this.deps.core, { ...this.#event(e), state: e.state }, this.msg.seq);
  }

  #event(e: EventFields): JobEvent {
    return {
      id: this.job.id,
      type: this.type,
      priority: this.job.priority,
      at: Date.now(),
      workerId: this.deps.opts.workerId,
      ...e,
    };
  }

  /**
   * Write `next` with compare-and-set on the revision this delivery knows; on a
   * conflict, re-read: a cancelled or finished record wins, anything else is
   * overwritten. Throws on broker trouble or when the record keeps changing.
   */
  async write(next: Job): Promise<WriteResult> {
    const { records } = this.deps.core;
    for (let i = 0; i < 5; i++) {
      const r =
        this.rev === undefined ? await records.create(next) : await records.update(next, this.rev);
      if (r !== undefined) {
        this.rev = r;
        this.job = next;
        return 'ok';
      }
      const cur = await records.get(next.id);
      if (cur?.job.state === 'cancelled') return 'cancelled';
      if (cur && TERMINAL_STATES.has(cur.job.state)) {
        this.job = cur.job;
        return 'finished';
      }
      this.rev = cur?.revision;
    }
    throw new Error(`job ${next.id}: record kept changing`);
  }
}
