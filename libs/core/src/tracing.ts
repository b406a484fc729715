/**
 * OpenTelemetry tracing through `@opentelemetry/api` only: the libraries make
 * spans and carry W3C trace context (`traceparent`, `tracestate`) in job
 * headers; whoever runs them decides whether spans go anywhere, by
 * registering an SDK (the services do when `OTEL_EXPORTER_OTLP_ENDPOINT` is
 * set, see `@rfw/telemetry`). With no SDK registered every call here is the
 * API's no-op: no span is recorded and no header is written.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { Match, type MsgHdrs } from '@nats-io/nats-core';

/** The tracer every span of rustfs-workers comes from. */
export const TRACER_NAME = 'rustfs-workers';

/** Span attribute names (beside the OpenTelemetry messaging conventions). */
export const TraceAttr = {
  JobId: 'rfw.job.id',
  JobType: 'rfw.job.type',
  Priority: 'rfw.job.priority',
  Attempt: 'rfw.job.attempt',
  Outcome: 'rfw.job.outcome',
  DeferReason: 'rfw.defer.reason',
  /** ms from the job message's store time to the attempt's start. */
  QueueWaitMs: 'rfw.queue.wait_ms',
  DeadReason: 'rfw.dead.reason',
  MessagingSystem: 'messaging.system',
  Destination: 'messaging.destination.name',
  Operation: 'messaging.operation.type',
  MessageId: 'messaging.message.id',
} as const;

/** The trace context a job message carried, as its two header values. */
export interface CarriedTrace {
  traceparent: string;
  tracestate?: string;
}

/**
 * A header by its W3C (lower-case) name, or capitalised as some HTTP-minded
 * clients write it; an exact lookup first, which is a map read.
 */
function traceHeader(h: MsgHdrs | undefined, key: string): string | undefined {
  if (!h) return undefined;
  return h.get(key) || h.get(key, Match.IgnoreCase) || undefined;
}

const headerGetter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (h) => (h ? h.keys() : []),
  get: (h, key) => traceHeader(h, key),
};

const carriedGetter: TextMapGetter<CarriedTrace> = {
  keys: (c) => Object.keys(c),
  get: (c, key) =>
    key === 'traceparent' ? c.traceparent : key === 'tracestate' ? c.tracestate : undefined,
};

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/** The trace headers of a job message, if it has any (matched case-insensitively). */
export function carriedTrace(h: MsgHdrs | undefined): CarriedTrace | undefined {
  if (!h) return undefined;
  const traceparent = h.get('traceparent') || (h.has('Traceparent') && h.get('Traceparent'));
  if (!traceparent) return undefined;
  const tracestate = traceHeader(h, 'tracestate');
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** The context a message's trace headers name (the root context when none). */
export function contextFromHeaders(h: MsgHdrs | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, h, headerGetter);
}

/** The context carried trace headers name (the root context when none). */
export function contextFromCarried(c: CarriedTrace | undefined): Context {
  return c ? propagation.extract(ROOT_CONTEXT, c, carriedGetter) : ROOT_CONTEXT;
}

/**
 * Write `span`'s context into `h` as `traceparent`/`tracestate`, replacing
 * what was there; does nothing for a span with no valid context (no SDK).
 */
export function injectSpan(h: MsgHdrs, span: Span, parent: Context = context.active()): void {
  if (!isSpanContextValid(span.spanContext())) return;
  propagation.inject(trace.setSpan(parent, span), h, {
    set: (carrier, key, value) => carrier.set(key, value),
  });
}

/** Start a span of this project's tracer; `parent` defaults to the active context. */
export function startSpan(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  parent: Context = context.active(),
  links?: Link[],
): Span {
  return tracer().startSpan(name, { kind, attributes, links }, parent);
}

/** End `span` as failed with `err`; nothing when it has ended already (or records nothing). */
export function failSpan(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  const message = err instanceof Error ? err.message : String(err);
  span.recordException(err instanceof Error ? err : message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.end();
}

/** A link to the trace a message's headers carry, if any (e.g. a dead letter's original). */
export function linkFromHeaders(h: MsgHdrs | undefined): Link[] | undefined {
  const sc = trace.getSpanContext(contextFromHeaders(h));
  return sc && isSpanContextValid(sc) ? [{ context: sc }] : undefined;
}

export { SpanKind, SpanStatusCode, context as otelContext, trace as otelTrace };
export type { Context as TraceContext, Span };
