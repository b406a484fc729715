/**
 * Scheduler configuration: environment variables and periodic schedules, both
 * validated with zod; every problem is a `ConfigError` naming the field
 * (`SCHEDULES_FILE`, `schedules[2].cron`, ...).
 */
import { readFileSync } from 'node:fs';
import { Cron } from 'croner';
import { z } from 'zod';
import { ConfigError, LIMITS, PRIORITIES } from '@rfw/core';

/** What a scheduler does with fire times it missed (no leader, a stalled process). */
export const MisfirePolicy = {
  /** Fire once, for the latest missed time, if it is within the grace window. */
  Latest: 'latest',
  /** Fire every missed time within the grace window, oldest first. */
  All: 'all',
  /** Fire none of them; carry on with the next time. */
  Skip: 'skip',
} as const;
export type MisfirePolicy = (typeof MisfirePolicy)[keyof typeof MisfirePolicy];

/** Schedule names make job ids (`<name>-<fire time ms>`) and KV keys. */
export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const ScheduleShape = z
  .object({
    name: z.string().regex(SCHEDULE_NAME_PATTERN, `must match ${SCHEDULE_NAME_PATTERN.source}`),
    /** Cron expression: 5 fields, or 6 with seconds first (croner syntax). */
    cron: z.string().min(1).optional(),
    /** Plain interval, ms; fire times are multiples of it since the epoch, so every instance agrees. */
    everyMs: z.number().int().min(100).optional(),
    /** IANA time zone of a cron expression. @default the process's (UTC in containers) */
    timezone: z.string().min(1).optional(),
    type: z.string().regex(LIMITS.typePattern, `must match ${LIMITS.typePattern.source}`),
    payload: z.unknown().optional(),
    priority: z.enum(PRIORITIES as [string, ...string[]]).optional(),
    maxRetries: z.number().int().min(0).max(1000).optional(),
    /** Per-attempt timeout, ms. */
    timeout: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600_000)
      .optional(),
    misfire: z.enum(['latest', 'all', 'skip']).optional(),
    /** Missed fire times older than this are never fired, ms. @default 300000 */
    misfireGraceMs: z.number().int().min(0).optional(),
  })
  .strict();

export type ScheduleInput = z.input<typeof ScheduleShape>;

/** A validated schedule with its defaults applied. */
export interface Schedule {
  name: string;
  cron?: string;
  everyMs?: number;
  timezone?: string;
  type: string;
  payload: unknown;
  priority?: (typeof PRIORITIES)[number];
  maxRetries?: number;
  timeout?: number;
  misfire: MisfirePolicy;
  misfireGraceMs: number;
}

export const DEFAULT_MISFIRE_GRACE_MS = 300_000;

function fail(field: string, issue: z.core.$ZodIssue | undefined): never {
  const path = issue?.path.length ? `.${issue.path.join('.')}` : '';
  throw new ConfigError(`${field}${path}`, issue?.message ?? 'invalid');
}

/** Validate a list of schedules; `source` names where it came from in errors. */
export function parseSchedules(input: unknown, source = 'schedules'): Schedule[] {
  const list =
    input && typeof input === 'object' && !Array.isArray(input) && 'schedules' in input
      ? (input as { schedules: unknown }).schedules
      : input;
  if (!Array.isArray(list))
    throw new ConfigError(source, 'must be an array of schedules or { "schedules": [...] }');
  const names = new Set<string>();
  return list.map((raw, i) => {
    const field = `${source}[${i}]`;
    const r = ScheduleShape.safeParse(raw);
    if (!r.success) fail(field, r.error.issues[0]);
    const s = r.data;
    if ((s.cron === undefined) === (s.everyMs === undefined))
      throw new ConfigError(`${field}.cron`, 'give exactly one of cron or everyMs');
    if (s.cron !== undefined) {
      try {
        new Cron(s.cron, { timezone: s.timezone, paused: true });
      } catch (err) {
        throw new ConfigError(`${field}.cron`, (err as Error).message, { cause: err });
      }
    } else if (s.timezone !== undefined) {
      throw new ConfigError(`${field}.timezone`, 'applies to cron schedules only');
    }
    if (names.has(s.name)) throw new ConfigError(`${field}.name`, `duplicate name ${s.name}`);
    names.add(s.name);
    return {
      ...s,
      payload: s.payload ?? {},
      misfire: s.misfire ?? MisfirePolicy.Latest,
      misfireGraceMs: s.misfireGraceMs ?? DEFAULT_MISFIRE_GRACE_MS,
    } as Schedule;
  });
}

/** Schedules from `SCHEDULES_FILE` (a JSON file) and/or `SCHEDULES` (JSON), in that order. */
export function loadSchedules(env: { SCHEDULES_FILE?: string; SCHEDULES?: string }): Schedule[] {
  const out: Schedule[] = [];
  if (env.SCHEDULES_FILE) {
    let text: string;
    try {
      text = readFileSync(env.SCHEDULES_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError('SCHEDULES_FILE', (err as Error).message, { cause: err });
    }
    out.push(...parseSchedules(parseJson('SCHEDULES_FILE', text), 'SCHEDULES_FILE'));
  }
  if (env.SCHEDULES)
    out.push(...parseSchedules(parseJson('SCHEDULES', env.SCHEDULES), 'SCHEDULES'));
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.name))
      throw new ConfigError('SCHEDULES', `schedule ${s.name} is defined in both sources`);
    seen.add(s.name);
  }
  return out;
}

function parseJson(field: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(field, `not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

const int = z.coerce.number().int();
/** Environment variables of the scheduler service. */
export const SchedulerEnv = z.object({
  NATS_URL: z.string().optional(),
  RFW_PREFIX: z.string().default('rfw'),
  /** Stream and bucket replicas (3 in a NATS cluster). */
  RFW_REPLICAS: int.min(1).max(5).default(1),
  HTTP_PORT: int.min(0).max(65535).default(0),
  HTTP_HOST: z.string().default('127.0.0.1'),
  NODE_ID: z.string().optional(),
  LEADER_ELECTION_TIMEOUT_MS: int.min(200).default(10_000),
  HEARTBEAT_INTERVAL_MS: int.min(50).default(5000),
  SCHEDULES_FILE: z.string().optional(),
  SCHEDULES: z.string().optional(),
  /** Delayed jobs released at once. */
  RELEASE_CONCURRENCY: int.min(1).max(4096).default(64),
  /** Bodies of delayed jobs kept in memory, MiB; beyond it they are re-read at release. */
  DELAYED_MEMORY_MB: int.min(0).default(16),
});
export type SchedulerEnv = z.infer<typeof SchedulerEnv>;

export function parseSchedulerEnv(env: NodeJS.ProcessEnv = process.env): SchedulerEnv {
  const r = SchedulerEnv.safeParse(env);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ConfigError(String(issue?.path.join('.') || 'env'), issue?.message ?? 'invalid');
  }
  return r.data;
}
