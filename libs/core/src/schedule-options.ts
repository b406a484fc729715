/**
 * `schedule()` options: what a caller passes, and the compiled, validated form.
 * Every check names the offending field in a `JobValidationError`.
 */
import { createHash } from 'node:crypto';
import { JobValidationError } from './errors.js';
import {
  DEFAULTS,
  LIMITS,
  PRIORITIES,
  type JobBackoff,
  type ParentRef,
  type Priority,
} from './job.js';

/** Options of `JobQueue.schedule()`; every field is optional. */
export interface ScheduleOptions {
  /** @default 'normal' */
  priority?: Priority;
  /** Run no sooner than this many ms from now. Exclusive with `runAt`. */
  delay?: number;
  /** Run no sooner than this time. Exclusive with `delay`. */
  runAt?: Date | number;
  /** Retries after the first attempt. @default 3 */
  maxRetries?: number;
  /** Per-attempt timeout, ms. @default 300000 (the worker's `jobTimeout` when unset on both) */
  timeout?: number;
  /** Retry backoff for this job (ms), overriding its type's; unset fields keep the type's. */
  backoff?: Partial<JobBackoff>;
  /**
   * The job id and idempotency key: scheduling the same id again while the
   * job exists enqueues nothing. Letters, digits, `-`, `_`; at most 128.
   * @default a generated, time-ordered id
   */
  id?: string;
  /**
   * Unique by a key instead of an id: while a job of this type with the same
   * key is pending, delayed or running (and, with `periodMs`, for that long
   * after it finished), scheduling another enqueues nothing and
   * `JobQueue.enqueue()` answers `duplicate: true` with the existing id.
   * Exclusive with `id` (the id is derived from the type and key).
   */
  unique?: UniqueOptions;
}

/** How a job's uniqueness key is made, and for how long it holds. */
export interface UniqueOptions {
  /** The key, as given. @default made from `fields` of the payload, or the whole payload */
  key?: string;
  /** Payload fields (top-level names) that make the key, e.g. `['bucket', 'key']`. */
  fields?: string[];
  /** Also unique for this long after the job finished, ms. @default 0: while unfinished only */
  periodMs?: number;
}

export interface CompiledJob {
  id: string;
  type: string;
  priority: Priority;
  payload: unknown;
  body: Uint8Array;
  maxRetries: number;
  timeoutMs: number;
  createdAt: number;
  runAt: number;
  explicitId: boolean;
  backoff?: JobBackoff;
  /** With `unique.periodMs`: a job finished less than this long ago is still a duplicate. */
  uniquePeriodMs?: number;
  /** On a flow's child: its parent. */
  parent?: ParentRef;
}

const enc = new TextEncoder();
let lastTs = 0;
let seqInMs = 0;
/** Random bytes drawn in bulk: one `getRandomValues` call per 400 ids, not per id. */
const pool = new Uint8Array(4000);
let poolAt = pool.length;
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A time-ordered, unique id: 9 base36 chars of ms time, 3 of sequence, 10 random. */
export function generateJobId(now = Date.now()): string {
  if (now === lastTs) seqInMs++;
  else {
    lastTs = now;
    seqInMs = 0;
  }
  if (poolAt + 10 > pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  let rand = '';
  for (let i = 0; i < 10; i++) rand += ALPHABET[(pool[poolAt++] as number) % 36];
  return `${now.toString(36).padStart(9, '0')}${seqInMs.toString(36).padStart(3, '0')}${rand}`;
}

export function validateType(type: unknown): string {
  if (typeof type !== 'string' || type.length === 0) {
    throw new JobValidationError('type', 'must be a non-empty string');
  }
  if (!LIMITS.typePattern.test(type)) {
    throw new JobValidationError(
      'type',
      `${JSON.stringify(type.slice(0, 80))} must match ${LIMITS.typePattern.source}`,
    );
  }
  return type;
}

export function validatePriority(p: unknown): Priority {
  if (p === undefined) return DEFAULTS.priority;
  if (typeof p !== 'string' || !(PRIORITIES as readonly string[]).includes(p)) {
    throw new JobValidationError(
      'priority',
      `${JSON.stringify(p)} is not one of ${PRIORITIES.join(', ')}`,
    );
  }
  return p as Priority;
}

export function validateId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || !LIMITS.idPattern.test(id)) {
    throw new JobValidationError(
      field,
      `${JSON.stringify(String(id).slice(0, 80))} must match ${LIMITS.idPattern.source}`,
    );
  }
  return id;
}

function intInRange(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new JobValidationError(field, `${String(v)} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

/** Encode the payload, refusing what JSON cannot carry faithfully. */
export function encodePayload(payload: unknown): Uint8Array {
  if (payload === undefined || typeof payload === 'function' || typeof payload === 'symbol') {
    throw new JobValidationError('payload', `${typeof payload} is not JSON`);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(payload, (_k, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v))
        throw new Error(`${v} is not a JSON number`);
      return v;
    });
  } catch (err) {
    throw new JobValidationError('payload', `not JSON-serialisable: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (text === undefined) throw new JobValidationError('payload', 'not JSON-serialisable');
  return enc.encode(text);
}

export function compileSchedule(
  type: unknown,
  payload: unknown,
  opts: ScheduleOptions = {},
  now = Date.now(),
): CompiledJob {
  if (opts === null || typeof opts !== 'object')
    throw new JobValidationError('options', 'must be an object');
  const t = validateType(type);
  const priority = validatePriority(opts.priority);
  const body = encodePayload(payload);
  if (opts.delay !== undefined && opts.runAt !== undefined) {
    throw new JobValidationError('delay', 'give either delay or runAt, not both');
  }
  let runAt = now;
  if (opts.delay !== undefined) {
    if (typeof opts.delay !== 'number' || !Number.isFinite(opts.delay) || opts.delay < 0) {
      throw new JobValidationError(
        'delay',
        `${String(opts.delay)} must be a finite number of ms >= 0`,
      );
    }
    runAt = now + Math.round(opts.delay);
  } else if (opts.runAt !== undefined) {
    const ms = opts.runAt instanceof Date ? opts.runAt.getTime() : opts.runAt;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new JobValidationError('runAt', `${String(opts.runAt)} is not a valid time`);
    }
    runAt = Math.max(now, Math.round(ms));
  }
  const maxRetries =
    opts.maxRetries === undefined
      ? DEFAULTS.maxRetries
      : intInRange('maxRetries', opts.maxRetries, 0, 1000);
  const timeoutMs =
    opts.timeout === undefined
      ? DEFAULTS.timeoutMs
      : intInRange('timeout', opts.timeout, 1, 7 * 24 * 3600_000);
  let backoff: JobBackoff | undefined;
  if (opts.backoff !== undefined) {
    const b = { baseMs: 1000, factor: 2, capMs: 300_000, ...opts.backoff };
    if (!(Number.isFinite(b.baseMs) && b.baseMs > 0))
      throw new JobValidationError('backoff.baseMs', 'must be > 0');
    if (!(Number.isFinite(b.factor) && b.factor >= 1))
      throw new JobValidationError('backoff.factor', 'must be >= 1');
    if (!(Number.isFinite(b.capMs) && b.capMs >= b.baseMs))
      throw new JobValidationError('backoff.capMs', 'must be >= baseMs');
    backoff = b;
  }
  let uniquePeriodMs: number | undefined;
  let id: string;
  if (opts.unique !== undefined) {
    if (opts.id !== undefined) throw new JobValidationError('unique', 'give either id or unique');
    const u = compileUnique(t, payload, opts.unique);
    id = u.id;
    uniquePeriodMs = u.periodMs;
  } else id = opts.id !== undefined ? validateId(opts.id) : generateJobId(now);
  const explicitId = opts.id !== undefined || opts.unique !== undefined;
  return {
    id,
    type: t,
    priority,
    payload,
    body,
    maxRetries,
    timeoutMs,
    createdAt: now,
    runAt,
    explicitId,
    backoff,
    ...(uniquePeriodMs ? { uniquePeriodMs } : {}),
  };
}

/** JSON with object keys sorted: equal payloads make equal keys. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The id a unique job gets: `u_` and 40 hex digits of SHA-256 over its type and key. */
function compileUnique(
  type: string,
  payload: unknown,
  u: UniqueOptions,
): { id: string; periodMs?: number } {
  if (u === null || typeof u !== 'object' || Array.isArray(u))
    throw new JobValidationError('unique', 'must be an object { key?, fields?, periodMs? }');
  if (u.key !== undefined && u.fields !== undefined)
    throw new JobValidationError('unique.key', 'give either key or fields');
  let key: string;
  if (u.key !== undefined) {
    if (typeof u.key !== 'string' || u.key.length === 0 || u.key.length > 1024)
      throw new JobValidationError('unique.key', 'must be a string of 1 to 1024 characters');
    key = `k:${u.key}`;
  } else if (u.fields !== undefined) {
    if (
      !Array.isArray(u.fields) ||
      u.fields.length === 0 ||
      !u.fields.every((f) => typeof f === 'string' && f.length > 0)
    )
      throw new JobValidationError('unique.fields', 'must be a non-empty array of field names');
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
      throw new JobValidationError('unique.fields', 'needs an object payload');
    const p = payload as Record<string, unknown>;
    const missing = u.fields.find((f) => !(f in p));
    if (missing !== undefined)
      throw new JobValidationError('unique.fields', `the payload has no field ${missing}`);
    key = `f:${canonical(u.fields.map((f) => [f, p[f]]))}`;
  } else key = `p:${canonical(payload)}`;
  const periodMs =
    u.periodMs === undefined
      ? undefined
      : intInRange('unique.periodMs', u.periodMs, 0, 365 * 24 * 3600_000);
  const id = `u_${createHash('sha256').update(`${type}\0${key}`).digest('hex').slice(0, 40)}`;
  return { id, ...(periodMs ? { periodMs } : {}) };
}
