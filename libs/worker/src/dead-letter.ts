/**
 * Moving a job to the dead letter queue: the original body and headers, plus
 * why it died, go to `<prefix>.dlq.<type>`; the record becomes `dead` and
 * points at the DLQ message; then the original is acked. Poison messages
 * (undecodable, invalid headers, payload failing the schema) take this path
 * on their first delivery, so they never loop.
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  Hdr,
  PRIORITIES,
  TERMINAL_STATES,
  addTransition,
  copyHeaders,
  newRecord,
  publishOutcomeEvent,
  readable,
  recordChildEnding,
  republishOutcome,
  SpanKind,
  TraceAttr,
  contextFromHeaders,
  failSpan,
  injectSpan,
  startSpan,
  type Job,
  type ParentRef,
  type TraceContext,
} from '@rfw/core/internal';
import type { RunnerDeps } from './job-runner.js';

export interface DeadLetterInput {
  id: string;
  type: string;
  priority: string;
  reason: string;
  lastError?: string;
  attempts?: number;
  /** The record as the runner knows it. */
  job?: Job;
  /** The decoded payload, for a record of a job that never had one. */
  payload?: unknown;
  /** The flow parent the message named, for a record of a job that never had one. */
  parent?: ParentRef;
  /** The attempt's trace context; else the one the message carries. */
  trace?: TraceContext;
}

/** Header values cannot hold line breaks or control characters (escaped); keep them short too. */
function headerSafe(s: string, max = 1000): string {
  return readable(s.replace(/[\r\n]+/g, ' ')).slice(0, max);
}

export async function deadLetter(
  deps: Pick<RunnerDeps, 'core' | 'log' | 'metrics' | 'opts'>,
  msg: JsMsg,
  input: DeadLetterInput,
): Promise<void> {
  const { core } = deps;
  const h = copyHeaders(msg.headers);
  h.set(Hdr.JobId, input.id);
  h.set(Hdr.DeadReason, headerSafe(input.reason));
  if (input.lastError) h.set(Hdr.LastError, headerSafe(input.lastError));
  h.set(Hdr.OriginalSubject, msg.subject);
  h.set(Hdr.Attempts, String(input.attempts ?? 0));
  const dlqSubject = core.names.dlqSubject(input.type);
  const span = startSpan(
    `rfw.dead_letter ${input.type}`,
    SpanKind.PRODUCER,
    {},
    input.trace ?? contextFromHeaders(msg.headers),
  );
  if (span.isRecording()) {
    span.setAttributes({
      [TraceAttr.MessagingSystem]: 'nats',
      [TraceAttr.Destination]: dlqSubject,
      [TraceAttr.JobId]: input.id,
      [TraceAttr.JobType]: input.type,
      [TraceAttr.DeadReason]: input.reason,
    });
    // The dead letter carries the move's context: a retry from the DLQ links to it.
    injectSpan(h, span);
  }
  let seq: number;
  try {
    const ack = await core.js.publish(dlqSubject, msg.data, {
      msgID: `dlq.${input.id}.${msg.seq}.${input.attempts ?? 0}`,
      headers: h,
    });
    seq = ack.seq;
    span.end();
  } catch (err) {
    failSpan(span, err);
    deps.log.warn(
      { err, jobId: input.id },
      'could not publish to the dead letter queue; will retry',
    );
    msg.nak(2000);
    return;
  }
  const at = Date.now();
  const priority = (
    (PRIORITIES as readonly string[]).includes(input.priority) ? input.priority : 'normal'
  ) as Job['priority'];
  // Only the call that makes the transition announces it: two copies of a job
  // dying (a redelivery racing a slow worker) must not publish `dead` twice.
  let transitioned = false;
  const res = await core.records.mutate(input.id, (cur) => {
    transitioned = false;
    if (cur && TERMINAL_STATES.has(cur.state)) return undefined;
    transitioned = true;
    const base =
      cur ??
      input.job ??
      newRecord(
        {
          id: input.id,
          type: input.type,
          priority,
          payload: input.payload ?? null,
          maxRetries: 0,
          timeoutMs: deps.opts.jobTimeoutMs,
          createdAt: at,
          runAt: at,
          parent: input.parent,
        },
        'pending',
        at,
      );
    return addTransition(
      {
        ...base,
        attempts: input.attempts ?? base.attempts,
        deadReason: input.reason,
        lastError: input.lastError ?? base.lastError,
        workerId: deps.opts.workerId,
        location: { stream: core.names.dlqStream, seq },
      },
      {
        state: 'dead',
        at,
        attempt: input.attempts,
        workerId: deps.opts.workerId,
        error: input.lastError ?? input.reason,
        seq: msg.seq,
      },
    );
  });
  // Record, then event, then ack: a crash in between replays the message,
  // which finds the record dead and publishes the same event id again.
  if (!transitioned || res?.job.state !== 'dead') {
    if (res) {
      await republishOutcome(core, res.job, msg.seq);
      await recordChildEnding(core, res.job);
    }
    msg.ack();
    return;
  }
  await publishOutcomeEvent(
    core,
    {
      id: input.id,
      type: input.type,
      priority,
      state: 'dead',
      at,
      attempt: input.attempts,
      workerId: deps.opts.workerId,
      error: input.lastError ?? input.reason,
    },
    msg.seq,
  );
  if (res) await recordChildEnding(core, res.job);
  msg.ack();
  deps.metrics.dead.inc({
    type: input.type,
    reason: input.reason.startsWith('poison') ? 'poison' : 'failed',
  });
  deps.log.warn(
    { jobId: input.id, type: input.type, reason: input.reason, lastError: input.lastError },
    'job dead-lettered',
  );
}
