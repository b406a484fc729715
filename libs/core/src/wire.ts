/**
 * The wire format: what travels on NATS subjects and sits in the streams and
 * KV buckets. This is a public contract for producers in any language; it is
 * documented in `docs/wire-format.md`. Units are in the header names.
 */
import { carriedTrace, type CarriedTrace } from './tracing.js';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';
import {
  CHILD_FAILURE_POLICIES,
  LIMITS,
  PRIORITIES,
  type ChildFailurePolicy,
  type Job,
  type JobBackoff,
  type ParentRef,
  type Priority,
} from './job.js';
import type { Names } from './names.js';

/**
 * Version of the headers, carried in `Rfw-Version`. Wire format v2 changed
 * subjects, not headers (see `docs/wire-format.md`): the headers are still v1.
 */
export const WIRE_VERSION = '1';

/** Header names. All optional on a bare publish. */
export const Hdr = {
  /** JetStream dedupe id; the job id on a first publish. */
  MsgId: 'Nats-Msg-Id',
  /** The job id; wins over `Nats-Msg-Id` (republished jobs carry both). */
  JobId: 'Rfw-Job-Id',
  Version: 'Rfw-Version',
  MaxRetries: 'Rfw-Max-Retries',
  TimeoutMs: 'Rfw-Timeout-Ms',
  /** ms since the epoch. */
  CreatedAt: 'Rfw-Created-At',
  /** ms since the epoch; on the delayed stream, when the job is due. */
  RunAt: 'Rfw-Run-At',
  /** Attempts already used, on a republished job. */
  Attempts: 'Rfw-Attempts',
  /** Per-job retry backoff: `<baseMs>,<factor>,<capMs>`, e.g. `500,2,60000`. */
  Backoff: 'Rfw-Backoff',
  /** On DLQ messages: why the job is dead. */
  DeadReason: 'Rfw-Dead-Reason',
  /** On DLQ messages: the subject the job was consumed from. */
  OriginalSubject: 'Rfw-Original-Subject',
  LastError: 'Rfw-Last-Error',
  /** On a flow's child: its parent's id. */
  Parent: 'Rfw-Parent',
  /** On a flow's child: `fail`, `continue` or `ignore` (see `ChildFailurePolicy`). @default fail */
  ParentPolicy: 'Rfw-Parent-Policy',
  /** On a flow's child: how many children its parent has. */
  ParentSiblings: 'Rfw-Parent-Siblings',
  /** `1`: the job has a record already (a released flow parent): workers read it. */
  Record: 'Rfw-Record',
  ContentType: 'Content-Type',
} as const;

/** Everything a worker needs from one job message, validated. */
export interface JobEnvelope {
  id: string;
  type: string;
  priority: Priority;
  payload: unknown;
  maxRetries?: number;
  timeoutMs?: number;
  createdAt?: number;
  runAt?: number;
  attempts: number;
  backoff?: JobBackoff;
  /**
   * Published to its own subject (wire format v2) with no record written
   * with it (no `Rfw-Record: 1`).
   */
  ownSubject: boolean;
  /** On a flow's child: its parent. */
  parent?: ParentRef;
  /** W3C trace context from the `traceparent`/`tracestate` headers, when present. */
  trace?: CarriedTrace;
}

export type DecodeResult =
  | { ok: true; job: JobEnvelope }
  | { ok: false; reason: string; id: string; type: string; priority: string };

function intHeader(
  h: MsgHdrs | undefined,
  name: string,
  min: number,
  max: number,
): number | string | undefined {
  const raw = h?.get(name);
  if (raw === undefined || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw))
    return `header ${name} is not an integer: ${JSON.stringify(raw.slice(0, 64))}`;
  const n = Number(raw);
  if (n < min || n > max) return `header ${name}=${n} is out of range [${min}, ${max}]`;
  return n;
}

/** Escape control characters so a reason is safe to print in a terminal or a header. */
export function readable(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The id a job message stands for: `Rfw-Job-Id`, else `Nats-Msg-Id`, else `s<stream seq>`. */
/**
 * A copy of `from` without the headers named in `skip`: a message published
 * again (released, dead-lettered, moved, retried) gets a dedupe id of its own.
 */
export function copyHeaders(
  from: MsgHdrs | undefined,
  skip: readonly string[] = [Hdr.MsgId],
): MsgHdrs {
  const h = natsHeaders();
  for (const [k, values] of from ?? []) {
    if (skip.includes(k)) continue;
    for (const v of values) h.append(k, v);
  }
  return h;
}

export function jobIdOf(h: MsgHdrs | undefined, seq: number): string {
  return h?.get(Hdr.JobId) || h?.get(Hdr.MsgId) || `s${seq}`;
}

/**
 * Decode and validate a job message. Never throws: a bad message comes back
 * with a readable reason, for the dead letter queue.
 */
export function decodeJobMessage(
  names: Names,
  subject: string,
  h: MsgHdrs | undefined,
  data: Uint8Array,
  seq: number,
): DecodeResult {
  const parsed = names.parseJobSubject(subject);
  const type = parsed?.type ?? '';
  const priority = parsed?.priority ?? '';
  // v2: the subject names the job; a header, if any, must agree with it.
  const id = parsed?.id ?? jobIdOf(h, seq);
  const bad = (reason: string): DecodeResult => ({
    ok: false,
    reason: readable(reason),
    id: LIMITS.idPattern.test(id) ? id : `s${seq}`,
    type,
    priority,
  });
  if (!parsed || (parsed.kind !== 'jobs' && parsed.kind !== 'delayed'))
    return bad(`unexpected subject ${subject}`);
  if (!LIMITS.typePattern.test(type))
    return bad(`invalid job type ${JSON.stringify(type)} in subject`);
  if (!(PRIORITIES as readonly string[]).includes(priority)) {
    return bad(
      `unknown priority ${JSON.stringify(priority)} in subject (expected ${PRIORITIES.join(', ')})`,
    );
  }
  if (!LIMITS.idPattern.test(id))
    return bad(
      `invalid job id ${JSON.stringify(id.slice(0, 80))} (expected ${LIMITS.idPattern.source})`,
    );
  const headerId = h?.get(Hdr.JobId);
  if (parsed?.id !== undefined && headerId && headerId !== parsed.id)
    return bad(
      `header ${Hdr.JobId} ${JSON.stringify(headerId.slice(0, 80))} differs from the subject's id`,
    );
  const version = h?.get(Hdr.Version);
  if (version && version !== WIRE_VERSION)
    return bad(`unsupported ${Hdr.Version} ${JSON.stringify(version.slice(0, 16))}`);
  const maxRetries = intHeader(h, Hdr.MaxRetries, 0, 1000);
  if (typeof maxRetries === 'string') return bad(maxRetries);
  const timeoutMs = intHeader(h, Hdr.TimeoutMs, 1, 7 * 24 * 3600_000);
  if (typeof timeoutMs === 'string') return bad(timeoutMs);
  const createdAt = intHeader(h, Hdr.CreatedAt, 0, Number.MAX_SAFE_INTEGER);
  if (typeof createdAt === 'string') return bad(createdAt);
  const runAt = intHeader(h, Hdr.RunAt, 0, Number.MAX_SAFE_INTEGER);
  if (typeof runAt === 'string') return bad(runAt);
  const attempts = intHeader(h, Hdr.Attempts, 0, 1_000_000);
  if (typeof attempts === 'string') return bad(attempts);
  let backoff: JobBackoff | undefined;
  const rawBackoff = h?.get(Hdr.Backoff);
  if (rawBackoff) {
    backoff = parseBackoff(rawBackoff);
    if (!backoff)
      return bad(
        `header ${Hdr.Backoff} must be "<baseMs>,<factor>,<capMs>": ${JSON.stringify(rawBackoff.slice(0, 64))}`,
      );
  }
  let parent: ParentRef | undefined;
  const parentId = h?.get(Hdr.Parent);
  if (parentId) {
    if (!LIMITS.idPattern.test(parentId))
      return bad(`header ${Hdr.Parent} is not a job id: ${JSON.stringify(parentId.slice(0, 80))}`);
    const policy = h?.get(Hdr.ParentPolicy) || 'fail';
    if (!(CHILD_FAILURE_POLICIES as readonly string[]).includes(policy))
      return bad(
        `header ${Hdr.ParentPolicy} must be one of ${CHILD_FAILURE_POLICIES.join(', ')}: ${JSON.stringify(policy.slice(0, 32))}`,
      );
    const siblings = intHeader(h, Hdr.ParentSiblings, 1, 10_000_000);
    if (typeof siblings !== 'number')
      return bad(siblings ?? `header ${Hdr.ParentSiblings} is required with ${Hdr.Parent}`);
    parent = { id: parentId, onFailure: policy as ChildFailurePolicy, siblings };
  }
  if (data.length === 0) return bad('empty body: the body must be the JSON payload');
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (err) {
    return bad(`body is not valid UTF-8 JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  return {
    ok: true,
    job: {
      id,
      type,
      priority: priority as Priority,
      payload,
      maxRetries,
      timeoutMs,
      createdAt,
      runAt,
      attempts: attempts ?? 0,
      backoff,
      ownSubject: parsed.id !== undefined && h?.get(Hdr.Record) !== '1',
      parent,
      trace: carriedTrace(h),
    },
  };
}

/** Parse `<baseMs>,<factor>,<capMs>`; undefined when malformed. */
export function parseBackoff(raw: string): JobBackoff | undefined {
  const parts = raw.split(',').map((x) => Number(x.trim()));
  if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n))) return undefined;
  const [baseMs, factor, capMs] = parts as [number, number, number];
  if (!(baseMs > 0 && factor >= 1 && capMs >= baseMs)) return undefined;
  return { baseMs, factor, capMs };
}

/** Headers for publishing a job. */
export function encodeJobHeaders(job: {
  id: string;
  msgId?: string;
  maxRetries: number;
  timeoutMs: number;
  createdAt: number;
  runAt?: number;
  attempts?: number;
  backoff?: JobBackoff;
  parent?: ParentRef;
}): MsgHdrs {
  const h = natsHeaders();
  h.set(Hdr.JobId, job.id);
  h.set(Hdr.Version, WIRE_VERSION);
  h.set(Hdr.MaxRetries, String(job.maxRetries));
  h.set(Hdr.TimeoutMs, String(job.timeoutMs));
  h.set(Hdr.CreatedAt, String(job.createdAt));
  if (job.runAt !== undefined) h.set(Hdr.RunAt, String(job.runAt));
  if (job.attempts) h.set(Hdr.Attempts, String(job.attempts));
  if (job.backoff)
    h.set(Hdr.Backoff, `${job.backoff.baseMs},${job.backoff.factor},${job.backoff.capMs}`);
  if (job.parent) {
    h.set(Hdr.Parent, job.parent.id);
    h.set(Hdr.ParentPolicy, job.parent.onFailure);
    h.set(Hdr.ParentSiblings, String(job.parent.siblings));
  }
  h.set(Hdr.ContentType, 'application/json');
  return h;
}

/** The stored job record (value of the jobs KV bucket), version 1. */
export interface JobRecordWire extends Job {
  v: 1;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeRecord(job: Job): Uint8Array {
  const wire: JobRecordWire = { v: 1, ...job };
  return enc.encode(JSON.stringify(wire));
}

export function decodeRecord(data: Uint8Array): Job {
  const { v: _v, ...job } = JSON.parse(dec.decode(data)) as JobRecordWire;
  return job;
}

/** A live event, published on `<prefix>.events.<type>.<priority>.<state>`. */
export interface JobEvent {
  /** The job id. */
  id: string;
  /** The job type. */
  type: string;
  /** The job's priority. */
  priority: Priority | string;
  /** A job state, or `progress` / `deferred` for events that are not transitions. */
  state: Job['state'] | 'progress' | 'deferred';
  /** ms since the epoch. */
  at: number;
  /** The attempt it belongs to, from 1; on events a worker published. */
  attempt?: number;
  /** The worker that published it. */
  workerId?: string;
  /** On `retrying` and `dead` events: the error (or the dead reason when there was none). */
  error?: string;
  /** Milliseconds the attempt ran, on terminal and retrying events. */
  durationMs?: number;
  /** Milliseconds until the next attempt, on retrying events. */
  retryInMs?: number;
  /** On progress events. */
  progress?: { done: number; total?: number; message?: string };
  /** On deferred events: why the job was put back without using an attempt. */
  reason?: string;
}

export function encodeJson(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value));
}
export function decodeJson<T>(data: Uint8Array): T {
  return JSON.parse(dec.decode(data)) as T;
}
