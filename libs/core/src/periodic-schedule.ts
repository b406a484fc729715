/**
 * Periodic schedules (cron or interval): their definition, its validation and
 * their fire times. Shared by the scheduler service (schedules from a file or
 * `SCHEDULES`, and stored ones) and `JobQueue.schedules` (stored ones).
 *
 * Time zones and DST follow croner: a cron expression is read in the
 * schedule's IANA `timezone`, and each local wall-clock time fires at most once
 * a day. When the clocks go back, a time that occurs twice (02:30 on a
 * Europe/Berlin October change) fires at its first occurrence only. When they
 * go forward, a time that does not exist that day (02:30 on the March change)
 * fires once, an hour later by the wall clock (03:30), unless that time fires
 * anyway. Interval schedules (`everyMs`) ignore time zones: their fire times
 * are the multiples of `everyMs` since the epoch, so every instance agrees.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { LIMITS, PRIORITIES, type Priority } from './job.js';

/** What a scheduler does with fire times it missed (no leader, a stalled process). */
export const MisfirePolicy = {
  /** Fire once, for the latest missed time, if it is within the grace window. */
  Latest: 'latest',
  /** Fire every missed time within the grace window, oldest first. */
  All: 'all',
  /** Fire none of them; carry on with the next time. */
  Skip: 'skip',
} as const;
/** One of `MisfirePolicy`'s values. */
export type MisfirePolicy = (typeof MisfirePolicy)[keyof typeof MisfirePolicy];

/** Schedule names make job ids (`<name>-<fire time ms>`) and KV keys. */
export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Missed fire times older than this are never fired, by default, ms. */
export const DEFAULT_MISFIRE_GRACE_MS = 300_000;

const ScheduleShape = z
  .object({
    name: z.string().regex(SCHEDULE_NAME_PATTERN, `must match ${SCHEDULE_NAME_PATTERN.source}`),
    cron: z.string().min(1).optional(),
    everyMs: z.number().int().min(100).optional(),
    timezone: z.string().min(1).optional(),
    type: z.string().regex(LIMITS.typePattern, `must match ${LIMITS.typePattern.source}`),
    payload: z.unknown().optional(),
    priority: z.enum(PRIORITIES as unknown as [string, ...string[]]).optional(),
    maxRetries: z.number().int().min(0).max(1000).optional(),
    timeout: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600_000)
      .optional(),
    misfire: z.enum(['latest', 'all', 'skip']).optional(),
    misfireGraceMs: z.number().int().min(0).optional(),
  })
  .strict();

/** A periodic schedule as written: exactly one of `cron` and `everyMs`. */
export interface ScheduleDefinition {
  /** Unique name, `[A-Za-z0-9_-]{1,64}`; each fire's job id is `<name>-<fire time ms>`. */
  name: string;
  /** Cron expression: 5 fields, or 6 with seconds first (croner syntax). */
  cron?: string;
  /** Plain interval, ms (at least 100); fire times are multiples of it since the epoch. */
  everyMs?: number;
  /** IANA time zone of a cron expression. @default the scheduler process's (UTC in containers) */
  timezone?: string;
  /** Job type of each fire. */
  type: string;
  /** Payload of each fire's job. @default {} */
  payload?: unknown;
  /** Priority of each fire's job. @default 'normal' */
  priority?: Priority;
  /** Retries of each fire's job. */
  maxRetries?: number;
  /** Per-attempt timeout of each fire's job, ms. */
  timeout?: number;
  /** What to do with missed fire times. @default 'latest' */
  misfire?: MisfirePolicy;
  /** Missed fire times older than this are never fired, ms. @default 300000 */
  misfireGraceMs?: number;
}

/** A validated schedule with its defaults applied. */
export interface Schedule extends ScheduleDefinition {
  /** Payload of each fire's job (`{}` when none was given). */
  payload: unknown;
  /** What to do with missed fire times (`latest` when none was given). */
  misfire: MisfirePolicy;
  /** Missed fire times older than this are never fired, ms (300000 when none was given). */
  misfireGraceMs: number;
}

/** Makes the error a bad field throws: `ConfigError` in services, `JobValidationError` in the API. */
export type FieldErrorFactory = (field: string, reason: string, cause?: unknown) => Error;

const crons = new WeakMap<Schedule, Cron>();

function cronOf(s: Schedule): Cron {
  let cron = crons.get(s);
  if (!cron) {
    cron = new Cron(s.cron as string, { timezone: s.timezone, paused: true });
    crons.set(s, cron);
  }
  return cron;
}

/**
 * Validate one schedule and apply its defaults. `field` prefixes the field in
 * errors (`SCHEDULES[2]` gives `SCHEDULES[2].cron`; `''` gives `cron`).
 */
export function parseSchedule(raw: unknown, field: string, error: FieldErrorFactory): Schedule {
  const at = (f: string): string => (field ? `${field}.${f}` : f);
  const r = ScheduleShape.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.length ? issue.path.join('.') : '';
    throw error(path ? at(path) : field || 'schedule', issue?.message ?? 'invalid');
  }
  const s = r.data;
  if ((s.cron === undefined) === (s.everyMs === undefined))
    throw error(at('cron'), 'give exactly one of cron or everyMs');
  const out = {
    ...s,
    payload: s.payload ?? {},
    misfire: s.misfire ?? MisfirePolicy.Latest,
    misfireGraceMs: s.misfireGraceMs ?? DEFAULT_MISFIRE_GRACE_MS,
  } as Schedule;
  if (s.cron !== undefined) {
    if (s.timezone !== undefined) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: s.timezone });
      } catch (err) {
        throw error(at('timezone'), `${s.timezone} is not an IANA time zone`, err);
      }
    }
    try {
      cronOf(out);
    } catch (err) {
      throw error(at('cron'), (err as Error).message, err);
    }
  } else if (s.timezone !== undefined) {
    throw error(at('timezone'), 'applies to cron schedules only');
  }
  return out;
}

/** Next fire time strictly after `after` (ms), or undefined when the schedule has no more. */
export function nextFireTime(s: Schedule, after: number): number | undefined {
  if (s.everyMs !== undefined) return (Math.floor(after / s.everyMs) + 1) * s.everyMs;
  return cronOf(s).nextRun(new Date(after))?.getTime();
}

/** The next `count` fire times strictly after `after` (ms), fewer when the schedule ends. */
export function nextFireTimes(s: Schedule, after: number, count: number): number[] {
  const out: number[] = [];
  let t = after;
  while (out.length < count) {
    const next = nextFireTime(s, t);
    if (next === undefined) break;
    out.push(next);
    t = next;
  }
  return out;
}
