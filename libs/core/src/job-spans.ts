/**
 * The producer-side spans of a job: its enqueue and its retry (from the DLQ
 * or after a cancel). Each is a PRODUCER span whose context goes into the
 * job message's `traceparent`, so the worker's attempt span is its child.
 */
import type { MsgHdrs } from '@nats-io/nats-core';
import type { Priority } from './job.js';
import { SpanKind, TraceAttr, linkFromHeaders, startSpan, type Span } from './tracing.js';

/** The span of one `schedule()` publish (or a bulk item's). */
export function enqueueSpan(
  job: { id: string; type: string; priority: Priority },
  subject: string,
  state: string,
): Span {
  const span = startSpan(`rfw.enqueue ${job.type}`, SpanKind.PRODUCER, {});
  // Attributes only for a span that records: nothing is built without an SDK.
  if (span.isRecording())
    span.setAttributes({
      [TraceAttr.MessagingSystem]: 'nats',
      [TraceAttr.Operation]: 'send',
      [TraceAttr.Destination]: subject,
      [TraceAttr.MessageId]: job.id,
      [TraceAttr.JobId]: job.id,
      [TraceAttr.JobType]: job.type,
      [TraceAttr.Priority]: job.priority,
      'rfw.job.state': state,
    });
  return span;
}

/**
 * The span of a retry's publish. A retry from the DLQ links to the trace the
 * dead letter carried (the original job's), and starts a new one.
 */
export function retrySpan(
  job: { id: string; type: string; priority: Priority },
  subject: string,
  deadHeaders: MsgHdrs | undefined,
): Span {
  return startSpan(
    `rfw.retry ${job.type}`,
    SpanKind.PRODUCER,
    {
      [TraceAttr.MessagingSystem]: 'nats',
      [TraceAttr.Operation]: 'send',
      [TraceAttr.Destination]: subject,
      [TraceAttr.JobId]: job.id,
      [TraceAttr.JobType]: job.type,
      [TraceAttr.Priority]: job.priority,
      'rfw.retry.from_dlq': deadHeaders !== undefined,
    },
    undefined,
    linkFromHeaders(deadHeaders),
  );
}
