/**
 * The state one delivery of a job carries from its start to its outcome: the
 * record as last read or written (and its revision), the attempt number, the
 * job's child logger and its event helpers. Outcome handlers
 * (`attempt-outcomes.ts`) take one of these.
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  SpanKind,
  SpanStatusCode,
  TERMINAL_STATES,
  TraceAttr,
  contextFromCarried,
  otelTrace,
  publishEvent,
  publishOutcomeEvent,
  startSpan,
  type CarriedTrace,
  type Span,
  type TraceContext,
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
  /** This delivery's span: a child of the trace its message carried (a no-op without an SDK). */
  readonly #span: Span;
  /** The context the handler runs in: the span's. */
  readonly traceContext: TraceContext;

  constructor(
    readonly deps: RunnerDeps,
    readonly spec: TypeSpec,
    readonly msg: JsMsg,
    /** The record as this delivery last read or wrote it. */
    public job: Job,
    /** Its revision; `undefined` while no record exists. */
    public rev: number | undefined,
    /** The trace context the job message carried. */
    carried?: CarriedTrace,
  ) {
    this.type = spec.worker.workerType;
    // Fixed here, before any write changes `job.attempts`.
    this.attemptNo = job.attempts + 1;
    const parent = contextFromCarried(carried);
    this.#span = startSpan(`rfw.process ${this.type}`, SpanKind.CONSUMER, {}, parent);
    // Attributes only for a span that records: nothing is built without an SDK.
    if (this.#span.isRecording()) {
      this.#span.setAttributes({
        [TraceAttr.MessagingSystem]: 'nats',
        [TraceAttr.Operation]: 'process',
        [TraceAttr.Destination]: msg.subject,
        [TraceAttr.MessageId]: job.id,
        [TraceAttr.JobId]: job.id,
        [TraceAttr.JobType]: this.type,
        [TraceAttr.Priority]: job.priority,
        [TraceAttr.Attempt]: this.attemptNo,
        [TraceAttr.QueueWaitMs]: Math.max(0, Date.now() - msg.info.timestampNanos / 1e6),
        'rfw.worker.id': deps.opts.workerId,
        'rfw.delivery': msg.info.deliveryCount,
      });
      this.traceContext = otelTrace.setSpan(parent, this.#span);
    } else this.traceContext = parent;
  }

  /**
   * End this delivery's span with its outcome (`succeeded`, `retrying`,
   * `dead`, `cancelled`, `deferred`, `shutdown`, ...); the first call wins.
   */
  endSpan(outcome: string, detail: { error?: string; deferReason?: string } = {}): void {
    const span = this.#span;
    if (!span.isRecording()) return;
    span.setAttribute(TraceAttr.Outcome, outcome);
    if (detail.deferReason) span.setAttribute(TraceAttr.DeferReason, detail.deferReason);
    if (detail.error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: detail.error });
      span.addEvent('exception', { 'exception.message': detail.error });
    }
    span.end();
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
