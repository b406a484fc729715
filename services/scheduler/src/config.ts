/**
 * Scheduler configuration: environment variables and periodic schedules, both
 * validated with zod; every problem is a `ConfigError` naming the field
 * (`SCHEDULES_FILE`, `schedules[2].cron`, ...).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, type Schedule, type ScheduleDefinition } from '@rfw/core';
import { parseSchedule } from '@rfw/core/internal';

// The definition, its validation and its fire times live in @rfw/core (the
// API stores schedules too); re-exported for this package's users.
export {
  MisfirePolicy,
  SCHEDULE_NAME_PATTERN,
  DEFAULT_MISFIRE_GRACE_MS,
  nextFireTime,
  type Schedule,
} from '@rfw/core';
/** A schedule as written in `SCHEDULES_FILE` or `SCHEDULES`. */
export type ScheduleInput = ScheduleDefinition;

const configError = (field: string, reason: string, cause?: unknown): Error =>
  new ConfigError(field, reason, cause === undefined ? undefined : { cause });

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
    const s = parseSchedule(raw, field, configError);
    if (names.has(s.name)) throw new ConfigError(`${field}.name`, `duplicate name ${s.name}`);
    names.add(s.name);
    return s;
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
